"""Agreement on catalogue links against the reference libraries, to 1e-9, in the same run.

Entry and stance alpha against ``krippendorff.alpha`` (nominal) on an annotators x units
matrix, kappa against ``sklearn.metrics.cohen_kappa_score``, MUC, B-cubed, CEAF-e and the
CoNLL score against ``scorch.scores``, all on mentions identified here, one document at a
time, with the one-document matching (``span_f1.overlap_matching``). Where scorch writes
0 for a case the definitions leave open, ours must be None and the case must be the one
docs/agreement.md names.
"""

from __future__ import annotations

import math
from itertools import combinations
from statistics import StatisticsError
from typing import Any

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scorch import scores
from sklearn.metrics import cohen_kappa_score

from annotations.agreement import ParameterError, Params, compute
from annotations.agreement.links import clustering_scores
from annotations.agreement.span_f1 import overlap_matching
from annotations.interchange import DocumentRecord, Span

TOLERANCE = 1e-9
# scorch divides numpy zeros by zero in its harmonic mean (see scorch_ceaf_e).
pytestmark = pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
LINKS = {
    "claim": {"catalogue": "proposition", "stances": ["asserts", "denies", "reports"]},
    "source": {"catalogue": "source"},
}


def measure(records: list[DocumentRecord]) -> dict[str, Any]:
    return compute(records, {"bootstrap_resamples": 0, "links": LINKS})


# --- the reference side ------------------------------------------------------------------


def matched_pairs(
    record: DocumentRecord, a: str, b: str, label: str
) -> tuple[list[tuple[Span, Span]], list[Span], list[Span]]:
    """The one-document M1' matching of two annotators' spans of one label."""

    def side(name: str) -> list[tuple[int, int, int, Span]]:
        spans = [s for s in record.annotations[name] if s.label == label]
        items = [(s.start, s.end, i, s) for i, s in enumerate(spans)]
        return sorted(items, key=lambda item: (item[0], item[1], item[2]))

    pairs, alone_a, alone_b = overlap_matching(side(a), side(b))
    return (
        [(first[3], second[3]) for first, second in pairs],
        [item[3] for item in alone_a],
        [item[3] for item in alone_b],
    )


def shared(records: list[DocumentRecord], a: str, b: str) -> list[DocumentRecord]:
    return [r for r in records if a in r.annotations and b in r.annotations]


def clusterings(
    records: list[DocumentRecord], a: str, b: str, label: str
) -> tuple[list[set[Any]], list[set[Any]]]:
    """Key (a) and response (b) as scorch takes them: lists of sets of mention ids."""
    key: dict[str, set[Any]] = {}
    response: dict[str, set[Any]] = {}
    for record in shared(records, a, b):
        pairs, alone_a, alone_b = matched_pairs(record, a, b, label)
        mentions = [(x, y) for x, y in pairs] + [(x, None) for x in alone_a]
        mentions += [(None, y) for y in alone_b]
        for number, (x, y) in enumerate(mentions):
            mention = (record.id, number)
            if x is not None and x.entry:
                key.setdefault(x.entry, set()).add(mention)
            if y is not None and y.entry:
                response.setdefault(y.entry, set()).add(mention)
    return list(key.values()), list(response.values())


def find(parent: dict[tuple[str, int], tuple[str, int]], node: tuple[str, int]) -> tuple[str, int]:
    """Union-find: the representative of ``node``'s group."""
    while parent[node] != node:
        node = parent[node]
    return node


def units_matrix(records: list[DocumentRecord], label: str, facet: str) -> list[list[Any]]:
    """Annotators x units, the units made by union-find over every pair's matching."""
    names = sorted({name for r in records for name in r.annotations})
    columns: list[list[Any]] = []
    for record in records:
        present = sorted(record.annotations)
        if len(present) < 2:
            continue
        nodes = [(name, id(s), s) for name in present for s in record.annotations[name]]
        nodes = [node for node in nodes if node[2].label == label]
        parent = {(name, key): (name, key) for name, key, _ in nodes}
        for a, b in combinations(present, 2):
            for x, y in matched_pairs(record, a, b, label)[0]:
                parent[find(parent, (a, id(x)))] = find(parent, (b, id(y)))
        units: dict[tuple[str, int], list[tuple[str, Span]]] = {}
        for name, key, span in nodes:
            units.setdefault(find(parent, (name, key)), []).append((name, span))
        for members in units.values():
            who = [name for name, _ in members]
            if len(who) != len(set(who)):
                continue  # ambiguous: left out
            values = {name: getattr(span, facet) or None for name, span in members}
            columns.append([values.get(name) for name in names])
    return columns


def reference_alpha(records: list[DocumentRecord], label: str, facet: str) -> float | None:
    columns = units_matrix(records, label, facet)
    columns = [c for c in columns if sum(v is not None for v in c) >= 2]
    values = sorted({v for c in columns for v in c if v is not None})
    if len(values) < 2:
        return None
    code = {v: i for i, v in enumerate(values)}
    matrix = np.array(
        [[np.nan if v is None else code[v] for v in c] for c in columns], dtype=float
    ).T
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))


def reference_kappa(
    records: list[DocumentRecord], a: str, b: str, label: str, facet: str
) -> float | None:
    first, second = [], []
    for record in shared(records, a, b):
        for x, y in matched_pairs(record, a, b, label)[0]:
            if getattr(x, facet) and getattr(y, facet):
                first.append(getattr(x, facet))
                second.append(getattr(y, facet))
    if not first or len(set(first) | set(second)) < 2:
        return None
    value = float(cohen_kappa_score(first, second))
    return None if math.isnan(value) else value


def close(ours: float | None, theirs: float | None, what: str) -> None:
    if theirs is None:
        assert ours is None, f"{what}: ours {ours}, reference undefined"
    else:
        assert ours is not None, f"{what}: ours undefined, reference {theirs}"
        assert abs(ours - theirs) <= TOLERANCE, f"{what}: ours {ours}, reference {theirs}"


def scorch_ceaf_e(key: list[set[Any]], response: list[set[Any]]) -> tuple[float, float, float]:
    """scorch's CEAF-e; it fails (statistics.harmonic_mean of two numpy zeros) when no
    key entity shares a mention with a response entity, where R = P = F1 = 0."""
    try:
        return scores.ceaf_e(key, response)
    except StatisticsError:
        assert not any(k & r for k in key for r in response)
        return 0.0, 0.0, 0.0


def check_clustering(found: dict[str, Any], key: list[set[Any]], response: list[set[Any]]) -> None:
    """Ours equals scorch wherever ours is defined; where not, the case is the one the
    definitions leave open (and scorch wrote its conventional 0)."""
    references = {
        "muc": scores.muc(key, response),
        "b_cubed": scores.b_cubed(key, response),
        "ceaf_e": scorch_ceaf_e(key, response),
    }
    links_key = sum(len(k) - 1 for k in key)
    links_response = sum(len(r) - 1 for r in response)
    open_cases = {
        ("muc", "recall"): links_key == 0,
        ("muc", "precision"): links_response == 0,
        ("muc", "f1"): links_key == links_response == 0,
        ("b_cubed", "recall"): not key,
        ("b_cubed", "precision"): not response,
        ("b_cubed", "f1"): not key and not response,
        ("ceaf_e", "recall"): not key,
        ("ceaf_e", "precision"): not response,
        ("ceaf_e", "f1"): not key and not response,
    }
    for metric, (recall, precision, f1) in references.items():
        for part, theirs in (("recall", recall), ("precision", precision), ("f1", f1)):
            ours = found[metric][part]
            if open_cases[metric, part]:
                assert ours is None, f"{metric} {part}: {ours}, expected None"
                assert found[metric][f"{part}_reason"]
                assert theirs == 0
            else:
                close(ours, theirs, f"{metric} {part}")
    if any(found[metric]["f1"] is None for metric in references):
        assert found["conll_f1"] is None
    else:
        try:
            conll = scores.conll2012(key, response)
        except StatisticsError:  # its CEAF-e again (scorch_ceaf_e): the same mean by hand
            conll = sum(f1 for _, _, f1 in references.values()) / 3
        close(found["conll_f1"], conll, "conll")


def check_against_references(records: list[DocumentRecord]) -> dict[str, Any]:
    result = measure(records)
    for label, spec in LINKS.items():
        report = result["links"][label]
        facets = ["entry", "stance"] if spec.get("stances") else ["entry"]
        for facet in facets:
            close(report[facet]["alpha"], reference_alpha(records, label, facet), f"alpha {facet}")
        for pair in report["pairs"]:
            a, b = pair["a"], pair["b"]
            for facet in facets:
                close(
                    pair[f"{facet}_cohen_kappa"],
                    reference_kappa(records, a, b, label, facet),
                    f"kappa {facet} {a}/{b}",
                )
            key, response = clusterings(records, a, b, label)
            if key or response:
                check_clustering(pair, key, response)
            else:
                assert pair["conll_f1"] is None
                assert pair["muc"]["f1"] is None
                assert pair["muc"]["f1_reason"]
    return result


# --- hand-made cases -----------------------------------------------------------------------


def claims(*items: tuple[int, int, str | None, str]) -> list[Span]:
    return [Span(start, end, "claim", {}, entry, stance) for start, end, entry, stance in items]


TEXT = "x" * 200


def two(alice: list[Span], bob: list[Span], number: int = 0) -> DocumentRecord:
    return DocumentRecord(id=str(number), text=TEXT, annotations={"alice": alice, "bob": bob})


def test_identical_clusterings_agree_fully() -> None:
    same = claims((0, 10, "p", "asserts"), (20, 30, "p", "asserts"), (40, 50, "q", "denies"))
    result = check_against_references([two(same, same)])
    pair = result["links"]["claim"]["pairs"][0]
    assert pair["muc"]["f1"] == pair["b_cubed"]["f1"] == pair["ceaf_e"]["f1"] == 1.0
    assert pair["conll_f1"] == 1.0
    assert result["links"]["claim"]["entry"]["alpha"] == 1.0


def test_own_entries_for_the_same_groups_still_cluster_alike() -> None:
    alice = claims((0, 10, "p", ""), (20, 30, "p", ""), (40, 50, "q", ""))
    bob = claims((0, 10, "bob-1", ""), (20, 30, "bob-1", ""), (40, 50, "bob-2", ""))
    result = check_against_references([two(alice, bob)])
    report = result["links"]["claim"]
    assert report["pairs"][0]["conll_f1"] == 1.0
    assert report["entry"]["alpha"] < 0  # the entries themselves differ everywhere


def test_one_merge() -> None:
    alice = claims((0, 10, "p", ""), (20, 30, "p", ""), (40, 50, "q", ""), (60, 70, "q", ""))
    bob = claims((0, 10, "p", ""), (20, 30, "p", ""), (40, 50, "p", ""), (60, 70, "p", ""))
    pair = check_against_references([two(alice, bob)])["links"]["claim"]["pairs"][0]
    assert pair["muc"]["recall"] == 1.0
    assert pair["muc"]["precision"] == 2 / 3


def test_one_split() -> None:
    alice = claims((0, 10, "p", ""), (20, 30, "p", ""), (40, 50, "p", ""))
    bob = claims((0, 10, "p", ""), (20, 30, "p", ""), (40, 50, "r", ""))
    pair = check_against_references([two(alice, bob)])["links"]["claim"]["pairs"][0]
    assert pair["muc"]["recall"] == 0.5
    assert pair["muc"]["precision"] == 1.0


def test_one_mention_entries_leave_muc_undefined_and_the_rest_defined() -> None:
    alice = claims((0, 10, "p", ""), (20, 30, "q", ""))
    bob = claims((0, 10, "p", ""), (20, 30, "q", ""))
    pair = check_against_references([two(alice, bob)])["links"]["claim"]["pairs"][0]
    assert pair["muc"]["f1"] is None
    assert pair["muc"]["f1_reason"]
    assert pair["b_cubed"]["f1"] == pair["ceaf_e"]["f1"] == 1.0
    assert pair["conll_f1"] is None
    assert pair["conll_f1_reason"]


def test_an_annotator_with_no_links_scores_zero_not_undefined() -> None:
    alice = claims((0, 10, "p", "asserts"), (20, 30, "p", "asserts"))
    bob = claims((0, 10, None, ""), (20, 30, None, ""))
    result = check_against_references([two(alice, bob)])
    pair = result["links"]["claim"]["pairs"][0]
    assert pair["b_cubed"]["recall"] == 0.0
    assert pair["b_cubed"]["precision"] is None
    assert pair["b_cubed"]["f1"] == pair["ceaf_e"]["f1"] == pair["muc"]["f1"] == 0.0
    assert pair["conll_f1"] == 0.0
    assert pair["entry_matched"] == 0
    assert pair["entry_cohen_kappa"] is None


def test_no_links_at_all_is_none_with_reasons() -> None:
    unlinked = claims((0, 10, None, ""), (20, 30, None, ""))
    result = check_against_references([two(unlinked, unlinked)])
    report = result["links"]["claim"]
    assert report["linked"] == 0
    assert report["spans"] == 4
    assert report["entry"]["alpha"] is None
    assert report["entry"]["alpha_reason"]
    assert report["clustering"]["conll_f1_mean"] is None
    assert report["clustering"]["conll_f1_mean_reason"]
    pair = report["pairs"][0]
    for metric in ("muc", "b_cubed", "ceaf_e"):
        assert pair[metric]["f1"] is None
        assert pair[metric]["f1_reason"]


def test_twinless_mentions_count_as_missing_on_the_other_side() -> None:
    alice = claims((0, 10, "p", ""), (20, 30, "p", ""), (100, 110, "p", ""))
    bob = claims((0, 10, "p", ""), (20, 30, "p", ""), (150, 160, "p", ""))
    check_against_references([two(alice, bob)])


def test_entries_cluster_across_documents() -> None:
    records = [
        two(claims((0, 10, "p", "asserts")), claims((0, 10, "p", "asserts")), 0),
        two(claims((0, 10, "p", "denies")), claims((0, 10, "q", "denies")), 1),
    ]
    pair = check_against_references(records)["links"]["claim"]["pairs"][0]
    # alice groups the two mentions, bob does not.
    assert pair["muc"]["recall"] == 0.0


def test_stance_is_measured_only_for_labels_with_stances() -> None:
    spans = [Span(0, 10, "source", {}, "tass", ""), *claims((20, 30, "p", "asserts"))]
    result = check_against_references([two(spans, spans)])
    assert "stance" in result["links"]["claim"]
    assert "stance" not in result["links"]["source"]
    assert result["links"]["source"]["catalogue"] == "source"


def test_three_annotators_chain_is_an_ambiguous_unit() -> None:
    # alice's second span matches bob's, bob's matches carol's, carol's matches alice's
    # first: one group holds two spans of alice, so it is no unit for alpha.
    record = DocumentRecord(
        id="0",
        text=TEXT,
        annotations={
            "alice": claims((0, 10, "p", ""), (30, 40, "p", "")),
            "bob": claims((5, 35, "p", "")),
            "carol": claims((0, 8, "q", "")),
        },
    )
    report = check_against_references([record])["links"]["claim"]
    assert report["ambiguous_units"] == 1
    assert report["entry"]["units"] == 0
    assert report["entry"]["alpha"] is None


def test_no_link_labels_no_links_key() -> None:
    same = claims((0, 10, "p", ""))
    assert "links" not in compute([two(same, same)], {"bootstrap_resamples": 0})


def test_a_pair_with_no_shared_document_says_so() -> None:
    records = [
        DocumentRecord(
            id="0", text=TEXT, annotations={"alice": claims((0, 9, "p", "")), "bob": []}
        ),
        DocumentRecord(id="1", text=TEXT, annotations={"bob": [], "carol": []}),
    ]
    pairs = measure(records)["links"]["claim"]["pairs"]
    alice_carol = next(p for p in pairs if (p["a"], p["b"]) == ("alice", "carol"))
    assert alice_carol["conll_f1"] is None
    assert "no shared document" in alice_carol["conll_f1_reason"]


def test_bad_link_parameters_are_refused() -> None:
    for bad in (
        {"claim": {"catalogue": "topics"}},
        {"claim": {"catalogue": "proposition", "stances": "asserts"}},
        ["claim"],
    ):
        with pytest.raises(ParameterError, match="links"):
            Params.from_mapping({"links": bad})


def test_clustering_scores_of_an_empty_table_are_none() -> None:
    found = clustering_scores({})
    assert found["conll_f1"] is None
    assert all(found[m]["f1"] is None for m in ("muc", "b_cubed", "ceaf_e"))


def test_assignment_picks_the_best_one_to_one_mapping() -> None:
    # Key {1,2,3} {4}, response {1,2} {3,4}: phi4 prefers the big pair, then the small.
    key = [{1, 2, 3}, {4}]
    response = [{1, 2}, {3, 4}]
    table = {("k1", "r1"): 2, ("k1", "r2"): 1, ("k2", "r2"): 1}
    found = clustering_scores(table)
    assert abs(found["ceaf_e"]["f1"] - scores.ceaf_e(key, response)[2]) <= TOLERANCE


# --- generated cases -----------------------------------------------------------------------

NAMES = ["alice", "bob", "carol"]


@st.composite
def records_strategy(draw: st.DrawFn) -> list[DocumentRecord]:
    records = []
    entries = st.sampled_from([None, "p", "q", "r", "s"])
    stances = st.sampled_from(["", "asserts", "denies", "reports"])
    for number in range(draw(st.integers(1, 4))):
        length = draw(st.integers(1, 40))
        present = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
        annotations = {}
        for name in present:
            spans = []
            for _ in range(draw(st.integers(0, 6))):
                start = draw(st.integers(0, length - 1))
                end = draw(st.integers(start + 1, min(length, start + 10)))
                label = draw(st.sampled_from(["claim", "claim", "source", "sentiment"]))
                entry = draw(entries) if label != "sentiment" else None
                stance = draw(stances) if label == "claim" else ""
                spans.append(Span(start, end, label, {}, entry, stance))
            annotations[name] = spans
        records.append(DocumentRecord(id=str(number), text="a" * length, annotations=annotations))
    return records


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_strategy())
def test_random_cases_equal_the_references(records: list[DocumentRecord]) -> None:
    check_against_references(records)


@settings(max_examples=50, deadline=None)
@given(records_strategy(), st.integers(1, 3))
def test_chunks_add_up_to_the_whole(records: list[DocumentRecord], size: int) -> None:
    from annotations.agreement import accumulate, finalize, merge
    from annotations.agreement.partial import Partial

    params = Params.from_mapping({"bootstrap_resamples": 0, "links": LINKS})
    partials = [
        Partial.from_json(accumulate(records[i : i + size], params, start=i).to_json())
        for i in range(0, len(records), size)
    ]
    assert finalize(merge(partials), params)["links"] == measure(records)["links"]
