"""Agreement on catalogue links: which entry a span refers to, with which stance.

A span label may link its spans to a project catalogue (claims to propositions, sources
to source entities, see ``Params.links``); a span's ``entry`` is the key of the entry it
refers to (None: not linked) and its ``stance`` the stance of the text toward it ("":
none). Spans of one label are identified across two annotators by M1''s overlap
matching (``span_f1.overlap_matching``: same label, at least one shared character, a
maximum matching), over the documents both annotated. On those matches:

**Entry and stance, as nominal values.**

- *Cohen's kappa*, per pair of annotators: the matched span pairs where both gave a value
  (both linked, for the entry; both gave a stance, for the stance), as
  ``sklearn.metrics.cohen_kappa_score`` on the two value lists (``kappa.py``).
- *Krippendorff's alpha*, nominal, over all annotators: a *unit* is a connected group of
  spans in one document, two spans being connected when the matching of their two
  annotators pairs them. A unit where one annotator has two spans (a chain of overlaps
  the pairwise matchings could not settle) is left out and counted in
  ``ambiguous_units``; in the others each annotator has at most one value, and values
  missing (no span there, or a span without a link or stance) are missing. With two
  annotators the units are exactly the matched pairs. Alpha is
  ``krippendorff.alpha(level_of_measurement="nominal")`` on the annotators x units matrix
  (``document_labels.nominal_alpha`` computes it from the coincidence counts).

**The clustering of mentions into entries**, per pair of annotators ``a`` (the *key*,
the earlier name) and ``b`` (the *response*), as coreference is scored: an entity is an
entry with the spans an annotator linked to it, over every document the two share, so
two annotators who made their own entries for the same proposition still agree when
they group the same spans. A *mention* is a matched pair of spans, or a span the
matching left alone; a mention belongs to ``a``'s clustering when ``a``'s span is linked,
and to ``b``'s when ``b``'s is. Mentions only one side has are "twinless", as in
Pradhan et al. (2014): the standard definitions below then give them no partner. With
``K`` the key's entities, ``R`` the response's, ``n(k, r)`` their shared mentions:

- MUC: ``c = sum_{k,r} n(k, r) - #{(k, r): n(k, r) > 0}`` (links kept),
  ``recall = c / sum_k (|k| - 1)``, ``precision = c / sum_r (|r| - 1)``,
  ``F1 = 2c / (sum_k (|k| - 1) + sum_r (|r| - 1))`` (the harmonic mean of the two);
- B-cubed: ``recall = sum_{k,r} n(k, r)^2 / |k| / sum_k |k|``, precision the same with
  ``|r|``, F1 their harmonic mean;
- CEAF-e: ``phi4(k, r) = 2 n(k, r) / (|k| + |r|)``, ``S`` the largest sum of ``phi4``
  over one-to-one assignments of key to response entities
  (``scipy.optimize.linear_sum_assignment``, per connected block of the table),
  ``recall = S / |K|``, ``precision = S / |R|``, ``F1 = 2S / (|K| + |R|)``;
- the CoNLL score: the mean of the three F1.

Edge cases, where the reference implementation (and ``scorch``) write 0, here:

- a recall (precision) whose denominator is 0 is ``None``: MUC's when the key has no two
  mentions in one entity (only one-mention entities, or no mention), B-cubed's and
  CEAF-e's when the key has no mention at all;
- an F1 is ``None`` only when both denominators are 0 (neither side has anything to
  compare: no links at all, or for MUC, only one-mention entities on both sides); when
  only one side has something, F1 is 0 (nothing of it was matched);
- the CoNLL score is ``None`` when any of the three F1 is, never an average of fewer.

Wherever a value is defined it equals ``scorch.scores`` (tests, to 1e-9). Every figure
with no value carries a reason; a label with no link anywhere has every figure ``None``.

Sums (in ``Partial.totals``, so chunks add up):

- ``("link_pair", label, facet, a, b, value_a, value_b)``: matched span pairs of ``a <
  b`` with both values (``facet`` is ``"entry"`` or ``"stance"``);
- ``("link_coincidence", label, facet, m, value_a, value_b)``: ordered pairs of values
  in units with ``m`` values;
- ``("link_cluster", label, a, b, entry_a, entry_b)``: mentions of the pair by the
  entries each side gave them (None: not in that side's clustering);
- ``("link_ambiguous", label)``, ``("link_spans", label)``, ``("link_linked", label)``:
  ambiguous units, spans, and spans linked to an entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from annotations.agreement.batch import (
    Batch,
    Ints,
    OverlapMatches,
    order_by,
    pairs_in_runs,
    starts_of_runs,
)
from annotations.agreement.document_labels import nominal_alpha
from annotations.agreement.kappa import cohen_kappa_nominal
from annotations.agreement.types import LinkLabelSpec, mean_of

Key = tuple[Any, ...]
Floats = NDArray[np.float64]
ClusterTable = Mapping[tuple[str | None, str | None], int]

_entry = attrgetter("entry")
_stance = attrgetter("stance")

ENTRY = "entry"
STANCE = "stance"
FACETS = (ENTRY, STANCE)
NO_SHARED = "no shared document: the two annotators never annotated the same document"
NO_LINKS = "no linked span in the documents both annotated"
NO_UNITS = "no unit where two annotators gave a value"
NO_MATCHES = "no matched spans where both annotators gave a value"
MUC_NO_LINKS = "neither side has two mentions in one entry (MUC counts links)"
KEY_EMPTY = "the first annotator linked nothing here"
RESPONSE_EMPTY = "the second annotator linked nothing here"
KEY_NO_LINKS = "the first annotator has no two mentions in one entry"
RESPONSE_NO_LINKS = "the second annotator has no two mentions in one entry"


# --- counting, one batch of documents at a time ------------------------------------------


def _codes(columns: Sequence[Sequence[str | None]]) -> tuple[list[Ints], list[str]]:
    """Each column's values as integers (-1 for None or ""), and the names they number."""
    names = sorted({value for column in columns for value in column if value})
    lookup: dict[str | None, int] = {name: number for number, name in enumerate(names)}
    lookup[None] = lookup[""] = -1
    found = [
        np.fromiter(map(lookup.__getitem__, column), dtype=np.int64, count=len(column))
        for column in columns
    ]
    return found, names


def _add_counts(
    totals: dict[Key, int],
    prefix: Key,
    columns: Sequence[Ints],
    decoders: Sequence[Sequence[Any] | None],
) -> None:
    """Count the distinct rows of ``columns`` into ``totals[prefix + decoded row]``:
    ``decoders[i]`` turns column ``i``'s codes back into names (-1 is None); a column
    with no decoder holds plain numbers."""
    if not len(columns[0]):
        return
    # Shifted by one (so that -1 becomes 0) and packed into one int64 per row: a 1-d
    # unique is many times faster than numpy's unique over rows.
    bounds = [int(column.max()) + 2 for column in columns]
    if math.prod(bounds) < 2**63:
        packed = np.zeros(len(columns[0]), dtype=np.int64)
        for column, bound in zip(columns, bounds, strict=True):
            packed = packed * bound + (column + 1)
        found, counts = np.unique(packed, return_counts=True)
        unpacked = []
        for bound in reversed(bounds):
            found, code = np.divmod(found, bound)
            unpacked.append(code - 1)
        rows = np.stack(unpacked[::-1], axis=1)
    else:
        rows, counts = np.unique(np.stack(columns, axis=1), axis=0, return_counts=True)
    # Decoded a column at a time; None sits last, where the code -1 points.
    decoded = [
        rows[:, number].tolist()
        if decode is None
        else np.array([*decode, None], dtype=object)[rows[:, number]].tolist()
        for number, decode in enumerate(decoders)
    ]
    get = totals.get
    for key, count in zip(zip(*decoded, strict=True), counts.tolist(), strict=True):
        key = prefix + key
        totals[key] = get(key, 0) + count


def count_links(
    batch: Batch,
    overlap: OverlapMatches,
    segment_names: Ints,
    names: list[str],
    specs: Sequence[LinkLabelSpec],
    totals: dict[Key, int],
) -> None:
    """Add one batch's link sums (module docstring) to ``totals``.

    ``segment_names[s]`` is the annotator (an index into ``names``) of segment ``s``."""
    label_ids = {name: number for number, name in enumerate(batch.label_names)}
    wanted = {label_ids[spec.name]: spec for spec in specs if spec.name in label_ids}
    if not wanted:
        return
    labels = np.array(sorted(wanted), dtype=np.int64)
    linkable = np.isin(batch.label, labels)
    # Coded in the spans' list order, then put in batch order.
    (entries, stances), values = _codes(
        [list(map(_entry, batch.spans)), list(map(_stance, batch.spans))]
    )
    facets = {ENTRY: entries[batch.source], STANCE: stances[batch.source]}
    label_names = batch.label_names
    segment = batch.first_segment[batch.doc]
    owner = segment_names[segment + batch.pos]  # per span: its annotator

    def partner_name(spans: Ints, partner: Ints) -> Ints:
        found: Ints = segment_names[segment[spans] + partner]
        return found

    chosen = np.flatnonzero(linkable)
    _add_counts(totals, ("link_spans",), [batch.label[chosen]], [label_names])
    linked = chosen[facets[ENTRY][chosen] >= 0]
    _add_counts(totals, ("link_linked",), [batch.label[linked]], [label_names])

    # Matched span pairs of linkable labels: x of the earlier annotator, y of the later.
    keep = np.flatnonzero(linkable[overlap.x])
    x, y = overlap.x[keep], overlap.y[keep]
    name_x, name_y = owner[x], owner[y]
    for facet, codes in facets.items():
        both = np.flatnonzero((codes[x] >= 0) & (codes[y] >= 0))
        _add_counts(
            totals,
            ("link_pair",),
            [
                batch.label[x[both]],
                np.full(len(both), FACETS.index(facet)),
                name_x[both],
                name_y[both],
                codes[x[both]],
                codes[y[both]],
            ],
            [label_names, FACETS, names, names, values, values],
        )

    # The clustering tables: matched mentions, then the twinless ones on each side.
    entry = facets[ENTRY]
    left = overlap.left
    alone_x = left.x[linkable[left.x] & (entry[left.x] >= 0)]
    alone_x_partner = left.x_partner[linkable[left.x] & (entry[left.x] >= 0)]
    alone_y = left.y[linkable[left.y] & (entry[left.y] >= 0)]
    alone_y_partner = left.y_partner[linkable[left.y] & (entry[left.y] >= 0)]
    some = np.flatnonzero((entry[x] >= 0) | (entry[y] >= 0))
    none_x = np.full(len(alone_y), -1, dtype=np.int64)
    none_y = np.full(len(alone_x), -1, dtype=np.int64)
    _add_counts(
        totals,
        ("link_cluster",),
        [
            np.concatenate([batch.label[x[some]], batch.label[alone_x], batch.label[alone_y]]),
            np.concatenate([name_x[some], owner[alone_x], partner_name(alone_y, alone_y_partner)]),
            np.concatenate([name_y[some], partner_name(alone_x, alone_x_partner), owner[alone_y]]),
            np.concatenate([entry[x[some]], entry[alone_x], none_x]),
            np.concatenate([entry[y[some]], none_y, entry[alone_y]]),
        ],
        [label_names, names, names, values, values],
    )

    _count_units(batch, x, y, chosen, facets, values, totals)


def _count_units(
    batch: Batch,
    x: Ints,
    y: Ints,
    chosen: Ints,
    facets: Mapping[str, Ints],
    values: list[str],
    totals: dict[Key, int],
) -> None:
    """Alpha's units: the connected groups of matched spans (module docstring)."""
    size = len(batch.start)
    graph = coo_matrix((np.ones(len(x), dtype=np.int8), (x, y)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    # Only the linkable spans, by unit then annotator.
    unit = component[chosen]
    order = chosen[order_by((unit, size), (batch.pos[chosen], batch.most_annotators))]
    unit = component[order]
    pos = batch.pos[order]
    same = (unit[1:] == unit[:-1]) & (pos[1:] == pos[:-1])
    ambiguous_units = np.unique(unit[1:][same])
    # A unit holds spans of one label (the matching pairs spans of one label only).
    firsts = np.flatnonzero(starts_of_runs(unit))
    ambiguous_firsts = firsts[np.isin(unit[firsts], ambiguous_units)]
    _add_counts(
        totals, ("link_ambiguous",), [batch.label[order[ambiguous_firsts]]], [batch.label_names]
    )
    clear = ~np.isin(unit, ambiguous_units)
    for facet, codes in facets.items():
        kept = np.flatnonzero(clear & (codes[order] >= 0))
        rows, row_unit = order[kept], unit[kept]
        starts = starts_of_runs(row_unit)
        run = np.cumsum(starts) - 1
        m = np.bincount(run)[run] if len(run) else run
        first, second = pairs_in_runs(np.arange(len(rows)), starts, batch.most_annotators)
        first, second = np.concatenate([first, second]), np.concatenate([second, first])
        _add_counts(
            totals,
            ("link_coincidence",),
            [
                batch.label[rows[first]],
                np.full(len(first), FACETS.index(facet)),
                m[first],
                codes[rows[first]],
                codes[rows[second]],
            ],
            [batch.label_names, FACETS, None, values, values],
        )


# --- the clustering scores ---------------------------------------------------------------


def _f1(numerator: float, denominator: float) -> float | None:
    return 2 * numerator / denominator if denominator else None


def _assignment_total(rows: Ints, cols: Ints, phi: Floats) -> float:
    """The largest sum of ``phi`` over one-to-one assignments of rows to columns, on a
    sparse table: each connected block of the table is solved apart."""
    if not len(phi):
        return 0.0
    row_count, col_count = int(rows.max()) + 1, int(cols.max()) + 1
    graph = coo_matrix(
        (np.ones(len(phi), dtype=np.int8), (rows, cols + row_count)),
        shape=(row_count + col_count, row_count + col_count),
    )
    _, block = connected_components(graph, directed=False)
    cell_block = block[rows]
    cells_in_block = np.bincount(cell_block)
    single = cells_in_block[cell_block] == 1
    total = float(phi[single].sum())
    shared = np.flatnonzero(~single)
    order = shared[np.argsort(cell_block[shared], kind="stable")]
    bounds = np.flatnonzero(np.diff(cell_block[order])) + 1
    for cells in np.split(order, bounds) if len(order) else ():
        block_rows, row_index = np.unique(rows[cells], return_inverse=True)
        block_cols, col_index = np.unique(cols[cells], return_inverse=True)
        matrix = np.zeros((len(block_rows), len(block_cols)))
        matrix[row_index, col_index] = phi[cells]
        chosen_rows, chosen_cols = linear_sum_assignment(matrix, maximize=True)
        total += float(matrix[chosen_rows, chosen_cols].sum())
    return total


def _with(into: dict[str, Any], key: str, value: float | None, reason: str) -> None:
    into[key] = value
    if value is None:
        into[f"{key}_reason"] = reason


def clustering_scores(table: ClusterTable) -> dict[str, Any]:
    """MUC, B-cubed and CEAF-e of a response clustering against a key, and the CoNLL score,
    from their table ``{(key entity, response entity): shared mentions}`` (None: the
    mention is not in that side's clustering). Definitions: the module docstring."""
    key_names = sorted({k for k, _ in table if k is not None})
    response_names = sorted({r for _, r in table if r is not None})
    key_index = {name: number for number, name in enumerate(key_names)}
    response_index = {name: number for number, name in enumerate(response_names)}
    key_size = np.zeros(len(key_names))
    response_size = np.zeros(len(response_names))
    rows, cols, counts = [], [], []
    for (k, r), count in table.items():
        if k is not None:
            key_size[key_index[k]] += count
        if r is not None:
            response_size[response_index[r]] += count
        if k is not None and r is not None and count:
            rows.append(key_index[k])
            cols.append(response_index[r])
            counts.append(count)
    row = np.array(rows, dtype=np.int64)
    col = np.array(cols, dtype=np.int64)
    n = np.array(counts, dtype=np.float64)
    mentions_key, mentions_response = float(key_size.sum()), float(response_size.sum())
    entities_key, entities_response = len(key_names), len(response_names)
    out: dict[str, Any] = {
        "mentions_a": int(mentions_key),
        "mentions_b": int(mentions_response),
        "entries_a": entities_key,
        "entries_b": entities_response,
    }

    muc: dict[str, Any] = {}
    kept = float(n.sum()) - len(n)
    links_key = mentions_key - entities_key
    links_response = mentions_response - entities_response
    _with(muc, "recall", kept / links_key if links_key else None, KEY_NO_LINKS)
    _with(muc, "precision", kept / links_response if links_response else None, RESPONSE_NO_LINKS)
    _with(muc, "f1", _f1(kept, links_key + links_response), MUC_NO_LINKS)

    b_cubed: dict[str, Any] = {}
    recall = float((n * n / key_size[row]).sum()) / mentions_key if mentions_key else None
    precision = (
        float((n * n / response_size[col]).sum()) / mentions_response if mentions_response else None
    )
    _with(b_cubed, "recall", recall, KEY_EMPTY)
    _with(b_cubed, "precision", precision, RESPONSE_EMPTY)
    if recall is None and precision is None:
        f1 = None
    elif recall is None or precision is None or recall + precision == 0:
        f1 = 0.0
    else:
        f1 = 2 * recall * precision / (recall + precision)
    _with(b_cubed, "f1", f1, NO_LINKS)

    ceaf: dict[str, Any] = {}
    phi = 2 * n / (key_size[row] + response_size[col])
    total = _assignment_total(row, col, phi)
    _with(ceaf, "recall", total / entities_key if entities_key else None, KEY_EMPTY)
    _with(
        ceaf, "precision", total / entities_response if entities_response else None, RESPONSE_EMPTY
    )
    _with(ceaf, "f1", _f1(total, entities_key + entities_response), NO_LINKS)

    out["muc"], out["b_cubed"], out["ceaf_e"] = muc, b_cubed, ceaf
    parts = (muc["f1"], b_cubed["f1"], ceaf["f1"])
    conll = None if any(part is None for part in parts) else sum(parts) / 3
    _with(out, "conll_f1", conll, "MUC, B-cubed or CEAF-e has no F1 here")
    return out


# --- the report ----------------------------------------------------------------------------


# Sums of one label, by kind: kind -> the keys' rest (after kind and label) -> count.
Sorted = dict[str, dict[Key, int]]


def _by_label(totals: Mapping[Key, int]) -> dict[str, Sorted]:
    """The link sums of ``totals`` in one pass, by label then kind."""
    found: dict[str, Sorted] = {}
    for key, count in totals.items():
        kind = key[0]
        if kind.startswith("link_"):
            found.setdefault(key[1], {}).setdefault(kind, {})[key[2:]] = count
    return found


def _facet_report(
    sums: Sorted, facet: str, pairs: Sequence[tuple[str, str]]
) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """Alpha and the mean kappa of one facet, and per pair its kappa and matches."""
    coincidences: dict[tuple[int, Any, Any], int] = {}
    tables: dict[tuple[str, str], dict[tuple[Any, Any], int]] = {}
    for key, count in sums.get("link_coincidence", {}).items():
        if key[0] == facet:
            coincidences[key[1], key[2], key[3]] = count
    for key, count in sums.get("link_pair", {}).items():
        if key[0] == facet:
            tables.setdefault((key[1], key[2]), {})[key[3], key[4]] = count
    report: dict[str, Any] = {}
    alpha = nominal_alpha(coincidences) if coincidences else (None, NO_UNITS)
    units = sum(count / (m * (m - 1)) for (m, _, _), count in coincidences.items())
    _with(report, "alpha", alpha[0], alpha[1] or "")
    report["units"] = round(units)
    per_pair: dict[tuple[str, str], dict[str, Any]] = {}
    kappas = []
    for pair in pairs:
        table = tables.get(pair, {})
        kappa = cohen_kappa_nominal(table) if table else (None, NO_MATCHES)
        kappas.append(kappa)
        found: dict[str, Any] = {"matched": sum(table.values())}
        _with(found, "cohen_kappa", kappa[0], kappa[1] or "")
        per_pair[pair] = found
    mean = mean_of(kappas, "pair of annotators")
    _with(report, "cohen_kappa_mean", mean[0], mean[1] or "")
    return report, per_pair


def link_report(
    totals: Mapping[Key, int],
    specs: Sequence[LinkLabelSpec],
    pairs: Sequence[tuple[str, str]],
    shared: frozenset[tuple[str, str]],
) -> dict[str, dict[str, Any]]:
    """Per linked label: agreement on entries (and stances) and on the clustering, per
    pair of annotators and their means. ``pairs``: every pair of annotators, in order;
    ``shared``: those that annotated a document together."""
    out: dict[str, dict[str, Any]] = {}
    by_label = _by_label(totals)
    for spec in specs:
        label = spec.name
        sums = by_label.get(label, {})
        clusters: dict[tuple[str, str], dict[tuple[str | None, str | None], int]] = {}
        for key, count in sums.get("link_cluster", {}).items():
            clusters.setdefault((key[0], key[1]), {})[key[2], key[3]] = count
        report: dict[str, Any] = {
            "catalogue": spec.catalogue,
            "spans": totals.get(("link_spans", label), 0),
            "linked": totals.get(("link_linked", label), 0),
            "ambiguous_units": totals.get(("link_ambiguous", label), 0),
        }
        facets = [ENTRY, STANCE] if spec.stances else [ENTRY]
        per_facet = {}
        for facet in facets:
            report[facet], per_facet[facet] = _facet_report(sums, facet, pairs)
        pair_items = []
        for pair in pairs:
            item: dict[str, Any] = {"a": pair[0], "b": pair[1]}
            for facet in facets:
                found = per_facet[facet][pair]
                item[f"{facet}_matched"] = found["matched"]
                _with(
                    item,
                    f"{facet}_cohen_kappa",
                    found["cohen_kappa"],
                    found.get("cohen_kappa_reason", ""),
                )
            if pair in clusters:
                item.update(clustering_scores(clusters[pair]))
            else:
                reason = NO_LINKS if pair in shared else NO_SHARED
                for name in ("muc", "b_cubed", "ceaf_e"):
                    item[name] = {}
                    for part in ("recall", "precision", "f1"):
                        _with(item[name], part, None, reason)
                _with(item, "conll_f1", None, reason)
            pair_items.append(item)
        clustering: dict[str, Any] = {}
        for name in ("muc", "b_cubed", "ceaf_e"):
            mean = mean_of(
                ((item[name]["f1"], item[name].get("f1_reason")) for item in pair_items),
                "pair of annotators",
            )
            _with(clustering, f"{name}_f1_mean", mean[0], mean[1] or "")
        mean = mean_of(
            ((item["conll_f1"], item.get("conll_f1_reason")) for item in pair_items),
            "pair of annotators",
        )
        _with(clustering, "conll_f1_mean", mean[0], mean[1] or "")
        report["clustering"] = clustering
        report["pairs"] = pair_items
        out[label] = report
    return out
