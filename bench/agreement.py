"""Time the agreement package on a seeded synthetic project (no Django).

    python bench/agreement.py                      # 10,000 documents, + krippendorff, + 100,000
    python bench/agreement.py --documents 2000 --no-krippendorff --no-big

The project: documents of 2,000 characters, 3 annotators with about 20 spans each, made
from a hidden "true" layer with realistic noise (boundaries shifted by a few characters,
labels swapped, spans missed, extra spans, attribute values changed, attributed_to
links). Claims link to one of 300 propositions with a stance, sources to one of 100
source entities, with noise of their own (another entry, another stance, no link); the
links come from a generator of their own, so the spans are those of the bench without
links. Document ``n`` depends only on the seed and ``n``.

Each path runs in its own process, which builds the records first (not timed) and then
times its work, so that wall time and peak memory (ru_maxrss, records included) are its
own:

- ``ours``: ``annotations.agreement.compute`` of the full report (every measure,
  per-document scores, confusion table, the catalogue links; no bootstrap unless asked),
  then the result JSON; ``ours-no-links`` the same without the links, for their cost;
- ``jsonl``: the same, end to end from an interchange JSONL file, each line read and
  checked by ``annotations.interchange`` and streamed into the measure;
- ``krippendorff``: per-character 0/1 matrices per label, then ``krippendorff.alpha`` for
  M2 alone (the per-character way); its alphas are checked against ours to 1e-9.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annotations.agreement import compute  # noqa: E402
from annotations.interchange import (  # noqa: E402
    DocumentRecord,
    Relation,
    Span,
    dump_record,
    iter_records,
)

ANNOTATORS = ["alice", "bob", "carol"]
WORDS = " ".join(
    [
        "the of and to in a said that Saleh Panjshir Taliban source Kabul told TASS reports",
        "president valley commander forces resistance video message claims media fled",
        "Tajikistan according officials spokesman denied confirmed sources situation battle",
        "government province district sunday monday statement agency news local ministry",
    ]
).split()
KINDS = ["person", "organisation", "media", "anonymous"]
PROPOSITIONS = [f"prop-{n:03d}" for n in range(300)]
SOURCES = [f"source-{n:03d}" for n in range(100)]
STANCES = ["asserts", "denies", "reports", "questions"]
LINKS = {
    "claim": {"catalogue": "proposition", "stances": STANCES},
    "source": {"catalogue": "source", "stances": []},
}
POLARITIES = ["positive", "negative", "neutral"]


# --- the synthetic project ----------------------------------------------------------


def _true_spans(rng: random.Random, length: int) -> list[dict[str, Any]]:
    spans = []
    for _ in range(20):
        label = rng.choices(["claim", "source", "sentiment"], weights=[4, 4, 2])[0]
        size = {"claim": (30, 160), "source": (5, 30), "sentiment": (5, 40)}[label]
        start = rng.randrange(0, length - size[1])
        end = start + rng.randint(*size)
        attrs: dict[str, str] = {}
        if label == "source":
            attrs = {"kind": rng.choice(KINDS)}
        elif label == "sentiment":
            attrs = {"polarity": rng.choice(POLARITIES)}
        spans.append({"start": start, "end": end, "label": label, "attrs": attrs})
    return spans


def _noisy_copy(
    rng: random.Random, truth: list[dict[str, Any]], length: int
) -> tuple[list[dict[str, Any]], list[int | None]]:
    """One annotator's layer: each true span kept (maybe altered) or missed, plus extras.

    Returns the spans and, for each true span, its index in the copy (None if missed).
    """
    spans: list[dict[str, Any]] = []
    where: list[int | None] = []
    for span in truth:
        if rng.random() < 0.08:  # missed
            where.append(None)
            continue
        start, end, label = span["start"], span["end"], span["label"]
        attrs = dict(span["attrs"])
        if rng.random() < 0.30:  # boundaries off by a few characters
            start = max(0, start + rng.randint(-6, 6))
            end = min(length, max(start + 1, end + rng.randint(-6, 6)))
        if rng.random() < 0.05:  # another label
            label = rng.choice([name for name in ("claim", "source", "sentiment") if name != label])
            attrs = {}
        elif attrs and rng.random() < 0.15:  # another attribute value
            key = next(iter(attrs))
            attrs[key] = rng.choice(KINDS if key == "kind" else POLARITIES)
        where.append(len(spans))
        spans.append({"start": start, "end": end, "label": label, "attrs": attrs})
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):  # extra spans
        start = rng.randrange(0, length - 40)
        spans.append(
            {"start": start, "end": start + rng.randint(3, 40), "label": "claim", "attrs": {}}
        )
    return spans, where


def _true_link(rng: random.Random, label: str) -> tuple[str | None, str]:
    """A true span's entry and stance: a few popular propositions, a long tail."""
    if label == "claim":
        proposition = PROPOSITIONS[min(int(rng.paretovariate(1.2)) - 1, len(PROPOSITIONS) - 1)]
        return proposition, rng.choice(STANCES)
    if label == "source":
        return rng.choice(SOURCES), ""
    return None, ""


def _noisy_link(
    rng: random.Random, truth: tuple[str | None, str], label: str
) -> tuple[str | None, str]:
    """One annotator's link for a span: the true one, sometimes another or none."""
    if label not in ("claim", "source"):
        return None, ""
    if label == "claim" and truth[0] is None:
        truth = _true_link(rng, label)
    entry, stance = truth
    roll = rng.random()
    if roll < 0.05:
        return None, ""
    if roll < 0.15:
        entry = rng.choice(PROPOSITIONS if label == "claim" else SOURCES)
    if label == "claim" and rng.random() < 0.1:
        stance = rng.choice(STANCES)
    return entry, stance if label == "claim" else ""


def synthetic_record(seed: int, number: int) -> DocumentRecord:
    """Document ``number`` of the project ``seed``: always the same for the same pair."""
    rng = random.Random(seed * 1_000_003 + number)
    words: list[str] = []
    size = 0
    while size < 2000:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    text = " ".join(words)[:2000]
    truth = _true_spans(rng, len(text))
    # attributed_to: each claim to the nearest source.
    links = []
    sources = [i for i, span in enumerate(truth) if span["label"] == "source"]
    for i, span in enumerate(truth):
        if span["label"] == "claim" and sources:
            nearest = min(sources, key=lambda s: abs(truth[s]["start"] - span["start"]))
            links.append((i, nearest))
    record = DocumentRecord(id=f"doc-{number:06d}", text=text)
    linker = random.Random(seed * 1_000_003 + number + 500_000_000)
    truth_links = [_true_link(linker, span["label"]) for span in truth]
    for name in ANNOTATORS:
        spans, where = _noisy_copy(rng, truth, len(text))
        chosen: list[tuple[str | None, str]] = [(None, "")] * len(spans)
        for true_link, index in zip(truth_links, where, strict=True):
            if index is not None:
                chosen[index] = _noisy_link(linker, true_link, spans[index]["label"])
        for index, span in enumerate(spans):
            if index not in where:  # an extra span: linked at random
                chosen[index] = _noisy_link(
                    linker, _true_link(linker, span["label"]), span["label"]
                )
        record.annotations[name] = [
            Span(**span, entry=entry, stance=stance)
            for span, (entry, stance) in zip(spans, chosen, strict=True)
        ]
        mine = [
            Relation("attributed_to", head, tail)
            for head, tail in ((where[h], where[t]) for h, t in links)
            if head is not None and tail is not None and rng.random() < 0.9
        ]
        if mine:
            record.relations[name] = mine
    return record


def synthetic_project(documents: int, seed: int) -> Iterator[DocumentRecord]:
    for number in range(documents):
        yield synthetic_record(seed, number)


# --- the measured paths, each in a child process --------------------------------------


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "documents": result["documents"],
        "alpha": {label: v["alpha_char"] for label, v in result["labels"].items()},
        "overall": result["overall"],
    }


def run_ours(documents: int, seed: int, resamples: int, links: bool = True) -> dict[str, Any]:
    """The package on records already in memory: the measuring, nothing else."""
    records = list(synthetic_project(documents, seed))
    spans = sum(len(items) for record in records for items in record.annotations.values())
    before = _peak_mib()
    started = time.perf_counter()
    cpu = time.process_time()
    params: dict[str, Any] = {"bootstrap_resamples": resamples}
    if links:
        params["links"] = LINKS
    result = compute(records, params)
    size = len(json.dumps(result, ensure_ascii=False))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "peak_mib": _peak_mib(),
        "inputs_mib": before,
        "spans": spans,
        "result_kib": size / 1024,
        "links": {
            label: {
                "entry_alpha": found["entry"]["alpha"],
                "conll_f1_mean": found["clustering"]["conll_f1_mean"],
            }
            for label, found in result.get("links", {}).items()
        },
        **_summary(result),
    }


def run_ours_without_links(documents: int, seed: int, resamples: int) -> dict[str, Any]:
    return run_ours(documents, seed, resamples, links=False)


def jsonl_file(documents: int, seed: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"agreement-bench-{documents}-{seed}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".part")
        with partial.open("w", encoding="utf-8") as out:
            for record in synthetic_project(documents, seed):
                out.write(dump_record(record))
        partial.rename(path)
    return path


def run_jsonl(documents: int, seed: int, resamples: int) -> dict[str, Any]:
    """End to end from an interchange JSONL file: read and check each line, measure."""
    path = jsonl_file(documents, seed)
    started = time.perf_counter()
    with path.open(encoding="utf-8") as lines:
        result = compute((record for _, record in iter_records(lines)), {"bootstrap_resamples": 0})
    json.dumps(result, ensure_ascii=False)
    return {"seconds": time.perf_counter() - started, "peak_mib": _peak_mib(), **_summary(result)}


def run_krippendorff(documents: int, seed: int, resamples: int) -> dict[str, Any]:
    """M2 the per-character way: 0/1 matrices, then ``krippendorff.alpha`` per label."""
    import krippendorff
    import numpy as np

    records = list(synthetic_project(documents, seed))
    started = time.perf_counter()
    cpu = time.process_time()
    names = sorted({name for record in records for name in record.annotations})
    labels = sorted(
        {s.label for record in records for spans in record.annotations.values() for s in spans}
    )
    measured = [record for record in records if len(record.annotations) >= 2]
    total = sum(len(record.text) for record in measured)
    alphas = {}
    alpha_seconds = 0.0
    for label in labels:
        matrix = np.full((len(names), total), np.nan)
        offset = 0
        for record in measured:
            for row, name in enumerate(names):
                spans = record.annotations.get(name)
                if spans is None:
                    continue
                values = matrix[row, offset : offset + len(record.text)]
                values[:] = 0
                for span in spans:
                    if span.label == label:
                        values[span.start : span.end] = 1
            offset += len(record.text)
        alpha_started = time.perf_counter()
        alphas[label] = float(
            krippendorff.alpha(
                reliability_data=matrix, level_of_measurement="nominal", value_domain=[0, 1]
            )
        )
        alpha_seconds += time.perf_counter() - alpha_started
        del matrix
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "alpha_seconds": alpha_seconds,
        "peak_mib": _peak_mib(),
        "characters": total,
        "alpha": alphas,
    }


PARTS = {
    "ours": run_ours,
    "ours-no-links": run_ours_without_links,
    "jsonl": run_jsonl,
    "krippendorff": run_krippendorff,
}


def child(part: str, documents: int, seed: int, resamples: int = 0) -> dict[str, Any]:
    command = [sys.executable, __file__, "--part", part, "--documents", str(documents)]
    command += ["--seed", str(seed), "--resamples", str(resamples)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000, help="size of the large run")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--resamples", type=int, default=1000, help="for the bootstrap run")
    parser.add_argument("--no-krippendorff", action="store_true")
    parser.add_argument("--no-big", action="store_true")
    parser.add_argument("--no-bootstrap", action="store_true")
    parser.add_argument("--no-jsonl", action="store_true")
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.part:
        print(json.dumps(PARTS[args.part](args.documents, args.seed, args.resamples)))
        return

    n = args.documents
    python = sys.version.split()[0]
    print(f"agreement bench: {os.cpu_count()} cores, Python {python}, seed {args.seed}")
    ours = child("ours", n, args.seed)
    print(
        f"{n:,} documents, {ours['spans']:,} spans, 3 annotators: full report without "
        f"bootstrap {ours['seconds']:.2f} s wall ({ours['cpu_seconds']:.2f} s CPU), peak "
        f"{ours['peak_mib']:.0f} MiB "
        f"(of which the records in memory {ours['inputs_mib']:.0f} MiB); "
        f"result JSON {ours['result_kib']:.0f} KiB",
        flush=True,
    )
    print(f"  overall: {json.dumps(ours['overall'])}", flush=True)
    print(f"  links: {json.dumps(ours['links'])}", flush=True)
    plain = child("ours-no-links", n, args.seed)
    print(
        f"  the same without the catalogue links: {plain['seconds']:.2f} s wall "
        f"({plain['cpu_seconds']:.2f} s CPU), peak {plain['peak_mib']:.0f} MiB (the links "
        f"cost {ours['cpu_seconds'] - plain['cpu_seconds']:.2f} s CPU)",
        flush=True,
    )
    print(
        f"  target < 5 s and < 1 GiB: {verdict(ours['seconds'] < 5 and ours['peak_mib'] < 1024)}",
        flush=True,
    )
    if not args.no_jsonl:
        jsonl = child("jsonl", n, args.seed)
        print(
            f"  end to end from interchange JSONL (reading and checking every line, streamed): "
            f"{jsonl['seconds']:.2f} s wall, peak {jsonl['peak_mib']:.0f} MiB",
            flush=True,
        )
    if not args.no_bootstrap:
        boot = child("ours", n, args.seed, args.resamples)
        print(
            f"  with {args.resamples} bootstrap resamples: {boot['seconds']:.2f} s wall, "
            f"peak {boot['peak_mib']:.0f} MiB",
            flush=True,
        )
    if not args.no_krippendorff:
        theirs = child("krippendorff", n, args.seed)
        print(
            f"krippendorff package, M2 alone on the same data ({theirs['characters']:,} "
            f"characters x {len(theirs['alpha'])} labels): {theirs['seconds']:.2f} s wall "
            f"({theirs['cpu_seconds']:.2f} s CPU) "
            f"(alpha calls {theirs['alpha_seconds']:.2f} s), peak {theirs['peak_mib']:.0f} MiB",
            flush=True,
        )
        ratio = theirs["seconds"] / ours["seconds"]
        worst = max(abs(ours["alpha"][label] - value) for label, value in theirs["alpha"].items())
        cpu_ratio = theirs["cpu_seconds"] / ours["cpu_seconds"]
        print(
            f"  krippendorff / ours: {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU "
            f"({theirs['alpha_seconds'] / ours['seconds']:.1f}x counting its alpha calls only); "
            f"largest |alpha difference| {worst:.1e}; target >= 10x: {verdict(ratio >= 10)}",
            flush=True,
        )
        assert worst <= 1e-9, "M2 differs from the krippendorff package"
    if not args.no_big:
        big = child("ours", args.big, args.seed)
        print(
            f"{args.big:,} documents ({big['spans']:,} spans), full report without bootstrap: "
            f"{big['seconds']:.2f} s wall, peak {big['peak_mib']:.0f} MiB (records in memory "
            f"{big['inputs_mib']:.0f} MiB); target < 60 s: {verdict(big['seconds'] < 60)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
