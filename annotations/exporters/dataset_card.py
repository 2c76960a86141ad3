"""The dataset card (README.md) of an export archive, rendered from plain data.

The caller passes the project's metadata as :class:`CardData` (schema with descriptions,
annotators, the latest agreement result, guidelines, version); the counts come from the export
itself (:class:`annotations.exporters.archive.ExportStats`). With ``pseudonymise`` on, every
annotator name on the card, agreement pairs included, is replaced by its pseudonym.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from annotations.exporters.base import (
    GOLD_NOT_STARTED,
    SPLIT_NAMES,
    Exporter,
    ExportOptions,
    LabelInfo,
    safe_name,
)
from annotations.interchange import (
    CATALOGUES_FILE,
    GOLD_FINAL,
    GOLD_IN_PROGRESS,
    CatalogueRecord,
)

if TYPE_CHECKING:
    from annotations.exporters.archive import ExportStats, Pseudonyms

OFFSETS_NOTE = (
    "Offsets are Unicode code points into the document text, half-open `[start, end)`: "
    "exactly Python's `text[start:end]`. Text is exported exactly as it was uploaded."
)
FORMAT_NOTES = {
    "conll": (
        "Tokens: a maximal run of letters, digits, underscores, combining marks and "
        "zero-width (non-)joiners, or else one grapheme cluster that is not whitespace (an "
        "emoji or a flag is one token). An apostrophe inside a word starts a token, as in "
        "spaCy: `Afghanistan’s` is `Afghanistan` + `’s`. START and END columns give each "
        "token's code-point offsets. The `alignment` option decides what happens to a span "
        "edge inside a token (`split`: the token is cut there; `strict`: the span is left "
        "out; `expand` / `contract`: it moves to token edges); each case is listed in "
        "`report.jsonl`. Relations and attributes are not in BIO files. Document labels are "
        "`# label = value` comment lines after a document's `# doc_id` line."
    ),
    "spacy": (
        "Each layer is a span group (`doc.spans['gold']`, `doc.spans['annotators/<name>']`), "
        "since spans overlap and `doc.ents` cannot. Attributes, relations, id and meta are in "
        "`doc.user_data`. Tokens as for CoNLL (same tokeniser and `alignment` option); spans "
        "are placed with `Doc.char_span` and anything moved or left out is in `report.jsonl`. "
        "The gold layer's document labels are `doc.cats` (`label=value`: 1.0 or 0.0); every "
        "layer's are in `doc.user_data['document_labels']`."
    ),
    "brat": (
        "brat counts offsets in code points, as here. A span across a line break is written "
        "as fragments without the break. brat reads text with universal newlines: documents "
        "containing `\\r` are listed in `report.jsonl`. brat has no document-level annotation: "
        "document labels are in `document_labels.tsv` beside each layer's files."
    ),
    "xmi": (
        "UIMA counts offsets in UTF-16 code units (Java strings); the export converts the "
        "code points on writing, so the XMI `begin`/`end` of a span after an emoji differ "
        "from the code-point offsets. Load with `cassis.load_cas_from_xmi(f, "
        "typesystem=cassis.load_typesystem(open('xmi/TypeSystem.xml', 'rb')))`. Document "
        "labels are `webanno.custom.WorkbenchDocumentLabel` annotations over the whole text."
    ),
    "parquet": (
        "Span `attrs` and document `meta` are JSON strings; document labels are lists of "
        "`{label, values}` (`gold_document_labels`, and `document_labels` per annotator). "
        "`datasets.load_dataset('parquet', data_files={...})` or `pandas.read_parquet`."
    ),
    "jsonl": "The workbench's interchange format; importing it gives the same project content.",
}
GOLD_NOTE = (
    "Gold is exported only for documents with a gold layer: a document without gold was "
    "never adjudicated, while empty gold was adjudicated with nothing to mark. JSONL, spaCy "
    "and Parquet give each document's `gold_state` (`in_progress` or `final`)."
)


@dataclass(frozen=True)
class CardData:
    """The project's side of the card, as plain data."""

    project_name: str
    project_slug: str
    exported_at: datetime
    workbench_version: str
    description: str = ""
    guidelines: str = ""
    labels: Sequence[LabelInfo] = ()
    annotators: Sequence[str] = ()
    agreement: Mapping[str, Any] | None = None
    agreement_finished_at: datetime | None = None
    # Documents whose gold a reviewer marked final with candidates still open (a reason
    # is kept for each).
    final_with_open_candidates: int = 0
    # Every catalogue entry, written to catalogues.jsonl beside the documents.
    catalogue: Sequence[CatalogueRecord] = ()


def _cell(value: object) -> str:
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text or " "


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def _number(value: object) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metric_text(
    value: object, interval: object = None, reason: object = None, level: str = "95% CI"
) -> str:
    """A metric as ``0.712 (95% CI 0.650–0.770)``, or ``undefined (reason)``.

    ``interval`` is ``[low, high]`` (the agreement result's ``intervals`` hold them so).
    """
    text = _number(value)
    if value is None and reason:
        text += f" ({reason})"
    if isinstance(interval, Sequence) and len(interval) == 2 and None not in interval:
        text += f" ({level} {_number(interval[0])}–{_number(interval[1])})"
    return text


def _metrics(container: Mapping[str, Any]) -> list[str]:
    """The metric names of a result container: numbers or None, not reasons or tables."""
    return [
        key
        for key, value in container.items()
        if not key.endswith("_reason") and (value is None or isinstance(value, int | float))
    ]


def _agreement_section(card: CardData, rename: Pseudonyms | None) -> list[str]:
    """The latest agreement result (``annotations.agreement`` JSON) as tables."""
    lines = ["## Agreement", ""]
    result = card.agreement
    if not result:
        return [*lines, "No agreement run has finished for this project yet.", ""]

    def name(username: object) -> str:
        return rename.get(str(username)) if rename else str(username)

    when = card.agreement_finished_at.isoformat() if card.agreement_finished_at else "unknown"
    annotators = ", ".join(name(a) for a in result.get("annotators", []))
    intervals = result.get("intervals") or {}
    level = f"{float(intervals.get('confidence', 0.95)):.0%} CI"
    lines.append(
        f"From the latest agreement run (finished {when}) over {result.get('documents', '?')} "
        f"documents; annotators: {annotators or 'none'}. Measures as defined in the "
        "workbench's docs/agreement.md."
    )
    if intervals:
        lines.append(
            f"Intervals: {intervals.get('method', 'bootstrap')}, "
            f"{intervals.get('resamples', '?')} resamples, seed {intervals.get('seed', '?')}."
        )
    else:
        lines.append(f"No intervals: {result.get('intervals_reason', 'none were computed')}.")
    lines.append("")

    def show(container: Mapping[str, Any], key: str, bounds: Mapping[str, Any]) -> str:
        reason = container.get(f"{key}_reason")
        return metric_text(container.get(key), bounds.get(key), reason, level)

    overall = result.get("overall") or {}
    if overall:
        bounds = intervals.get("overall") or {}
        rows = [[metric, show(overall, metric, bounds)] for metric in _metrics(overall)]
        lines += ["Overall:", "", *_table(["measure", "value"], rows), ""]
    labels = result.get("labels") or {}
    if labels:
        columns = sorted({m for values in labels.values() for m in _metrics(values)})
        label_bounds = intervals.get("labels") or {}
        rows = [
            [label, *(show(values, m, label_bounds.get(label) or {}) for m in columns)]
            for label, values in labels.items()
        ]
        lines += ["Per label:", "", *_table(["label", *columns], rows), ""]
    pairs = result.get("pairs") or []
    if pairs:
        pair_bounds = {(p.get("a"), p.get("b")): p for p in intervals.get("pairs") or []}
        columns = [
            m
            for m in ("span_f1_exact", "span_f1_overlap", "relation_f1")
            if any(m in pair for pair in pairs)
        ]
        rows = [
            [
                name(pair.get("a")),
                name(pair.get("b")),
                *(
                    show(pair, m, pair_bounds.get((pair.get("a"), pair.get("b")), {}))
                    for m in columns
                ),
            ]
            for pair in pairs
        ]
        lines += ["Pairs:", "", *_table(["annotator a", "annotator b", *columns], rows), ""]
    document_rows = _document_label_rows(result, lambda found, key: show(found, key, {}))
    if document_rows:
        header = ["document label", "alpha", "cohen_kappa_mean", "documents"]
        lines += ["Document labels (nominal, one unit per document):", ""]
        lines += [*_table(header, document_rows), ""]
    lines += _link_section(result, name, lambda found, key: show(found, key, {}))
    return lines


LINK_CLUSTERING = ("muc", "b_cubed", "ceaf_e")


def _link_section(
    result: Mapping[str, Any],
    name: Callable[[object], str],
    show: Callable[[Mapping[str, Any], str], str],
) -> list[str]:
    """Agreement on catalogue links, per linked label and per pair of annotators."""
    links = result.get("links") or {}
    if not links:
        return []
    summary = []
    pairs = []
    for label, found in sorted(links.items()):
        clustering = found.get("clustering") or {}
        entry = found.get("entry") or {}
        stance = found.get("stance")
        summary.append(
            [
                label,
                found.get("catalogue", ""),
                f"{found.get('linked', 0)} of {found.get('spans', 0)}",
                show(entry, "alpha"),
                show(entry, "cohen_kappa_mean"),
                show(stance, "alpha") if stance is not None else "no stances",
                show(stance, "cohen_kappa_mean") if stance is not None else "no stances",
                *(show(clustering, f"{metric}_f1_mean") for metric in LINK_CLUSTERING),
                show(clustering, "conll_f1_mean"),
            ]
        )
        for pair in found.get("pairs") or []:
            pairs.append(
                [
                    label,
                    name(pair.get("a")),
                    name(pair.get("b")),
                    show(pair, "entry_cohen_kappa"),
                    show(pair, "stance_cohen_kappa") if stance is not None else "no stances",
                    *(show(pair.get(metric) or {}, "f1") for metric in LINK_CLUSTERING),
                    show(pair, "conll_f1"),
                ]
            )
    clustering_header = ["MUC F1", "B-cubed F1", "CEAF-e F1", "CoNLL F1"]
    header = ["label", "catalogue", "spans linked", "entry alpha", "entry kappa (mean)"]
    header += ["stance alpha", "stance kappa (mean)", *(f"{h} (mean)" for h in clustering_header)]
    lines = [
        "Catalogue links (the entry and stance of overlapping spans; the clustering of "
        "mentions into entries, scored as coreference):",
        "",
        *_table(header, summary),
        "",
    ]
    if pairs:
        header = ["label", "annotator a", "annotator b", "entry kappa", "stance kappa"]
        lines += [*_table([*header, *clustering_header], pairs), ""]
    return lines


def _label_rows(labels: Sequence[LabelInfo], kind: str) -> list[LabelInfo]:
    return [label for label in labels if label.kind == kind]


def _link_cell(label: LabelInfo) -> str:
    if not label.catalogue:
        return "-"
    cell = f"{label.catalogue} entries" + (", required" if label.link_required else "")
    if label.stance_values:
        cell += f" ({', '.join(label.stance_values)})"
    return cell


def catalogue_section(entries: Sequence[CatalogueRecord]) -> list[str]:
    """How many catalogue entries the export carries, per kind and status."""
    if not entries:
        return []
    counts = Counter((entry.kind, entry.status) for entry in entries)
    rows = [[kind, status, str(count)] for (kind, status), count in sorted(counts.items())]
    return [
        "## Catalogues",
        "",
        f"`{CATALOGUES_FILE}` lists every entry (key, kind, name, kind of source, "
        "description, status); spans name an entry by its key (`entry`) with their `stance`.",
        "",
        *_table(["catalogue", "status", "entries"], rows),
        "",
    ]


def schema_section(labels: Sequence[LabelInfo]) -> list[str]:
    """The label schema the export used, by kind: span labels with their attributes and
    allowed values, relation types with their ends, document labels with their choices."""
    lines = ["## Label schema", ""]
    if not labels:
        return [*lines, "The project defines no labels.", ""]
    spans = _label_rows(labels, "span")
    if spans:
        rows = [
            [
                label.name,
                label.description,
                "; ".join(
                    f"{attr}: {', '.join(map(str, values))}"
                    for attr, values in label.attributes.items()
                ),
                "yes" if label.allow_overlap else "no",
                _link_cell(label),
            ]
            for label in spans
        ]
        header = [
            "span label",
            "description",
            "attributes (allowed values)",
            "may overlap",
            "links to (stances)",
        ]
        lines += ["### Span labels", "", *_table(header, rows), ""]
    relations = _label_rows(labels, "relation")
    if relations:
        rows = [
            [label.name, label.description, label.head or "any", label.tail or "any"]
            for label in relations
        ]
        header = ["relation type", "description", "head (span label)", "tail (span label)"]
        lines += ["### Relation types", "", *_table(header, rows), ""]
    documents = _label_rows(labels, "document")
    if documents:
        rows = [
            [
                label.name,
                label.description,
                ", ".join(label.choices),
                "multiple" if label.multiple else "single",
            ]
            for label in documents
        ]
        header = ["document label", "description", "choices", "choice"]
        lines += ["### Document labels", "", *_table(header, rows), ""]
    return lines


def _document_label_rows(
    result: Mapping[str, Any], show: Callable[[Mapping[str, Any], str], str]
) -> list[list[str]]:
    """One row per document label, and per value of a multiple-choice one, by name (a
    stored result is jsonb, which keeps no key order)."""
    rows = []
    for label, found in sorted((result.get("document_labels") or {}).items()):
        rows.append([label, show(found, "alpha"), show(found, "cohen_kappa_mean")])
        rows[-1].append(str(found.get("n_documents", 0)))
        for value, per_value in sorted((found.get("values") or {}).items()):
            rows.append(
                [
                    f"{label}={value}",
                    show(per_value, "alpha"),
                    show(per_value, "cohen_kappa_mean"),
                    str(per_value.get("n_documents", 0)),
                ]
            )
    return rows


def _hub_header(exporter: Exporter, options: ExportOptions, stats: ExportStats) -> list[str]:
    """YAML front matter that tells the Hugging Face Hub which file holds which split."""
    if exporter.name != "parquet":
        return []
    splits = (
        [s for s in SPLIT_NAMES if stats.documents_per_split[s]] if options.split else ["corpus"]
    )
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: data/{split}.parquet"]
    return [*lines, "---", ""]


def render_card(
    card: CardData,
    exporter: Exporter,
    options: ExportOptions,
    stats: ExportStats,
    rename: Pseudonyms | None,
) -> str:
    """The README.md of an export archive."""

    def name(username: str) -> str:
        return rename.get(username) if rename else username

    lines = _hub_header(exporter, options, stats)
    lines += [f"# {card.project_name}", ""]
    if card.description:
        lines += [card.description.strip(), ""]
    lines += [
        f"Exported from the annotation workbench {card.workbench_version} on "
        f"{card.exported_at.isoformat()} as `{exporter.name}`: {exporter.description}",
        "",
        "## Contents",
        "",
        f"- Project: `{card.project_slug}`",
        f"- Documents: {stats.documents}",
    ]
    if options.split:
        per_split = ", ".join(f"{s} {stats.documents_per_split[s]}" for s in SPLIT_NAMES)
        lines.append(
            f"- Split: {per_split} (seed {options.split.seed}, ratios "
            f"{options.split.train:g}/{options.split.dev:g}/{options.split.test:g}, decided "
            "by a hash of the seed and the document id, so ratios hold on average)"
        )
    layer_text = {
        "gold": "gold layer only",
        "annotators": "each annotator's layer",
        "all": "gold layer and each annotator's layer",
    }[options.layers]
    labels_text = ", ".join(sorted(options.labels)) if options.labels is not None else "all"
    lines += [
        f"- Layers: {layer_text}",
        f"- Labels: {labels_text}",
        f"- Document meta: {'included' if options.include_meta else 'left out'}",
        f"- Annotators: {'pseudonymised' if options.pseudonymise else 'by username'}",
    ]
    if options.layers != "annotators":
        gold_states = stats.documents_per_gold_state
        final_only = " (final gold only: gold in progress is left out)"
        lines.append(
            f"- Gold: {gold_states[GOLD_FINAL]} final, {gold_states[GOLD_IN_PROGRESS]} in "
            f"progress, {gold_states[GOLD_NOT_STARTED]} not started"
            + (final_only if options.final_gold_only else "")
        )
        if card.final_with_open_candidates:
            lines.append(
                f"- Of the project's final gold, {card.final_with_open_candidates} "
                "document(s) were marked final with candidates still open, each with the "
                "reviewer's reason (on the review page and in the audit trail)"
            )
    if exporter.name in ("conll", "spacy"):
        lines.append(f"- Token alignment: `{options.alignment}`")
    if exporter.name == "spacy":
        size = options.shard_size
        lines.append(
            f"- Shards: `spacy/<split>-<k>.spacy` holds the split's documents among the "
            f"exported documents {size} × k to {size} × (k + 1) − 1, in order; a split "
            "with none of them has no shard k"
        )
    lines += ["", "## Offsets", "", OFFSETS_NOTE, "", FORMAT_NOTES.get(exporter.name, ""), ""]
    if options.layers != "annotators":
        lines += [GOLD_NOTE, ""]

    lines += schema_section(card.labels)
    lines += catalogue_section(card.catalogue)

    layer_names = sorted(stats.documents_per_layer, key=lambda n: (n != "gold", n))
    lines += ["## Counts", ""]
    if layer_names:
        span_labels = sorted({label for _layer, label in stats.spans})
        rows: list[list[object]] = [
            ["documents", *(stats.documents_per_layer[n] for n in layer_names)]
        ]
        rows += [
            [f"`{label}` spans", *(stats.spans[n, label] for n in layer_names)]
            for label in span_labels
        ]
        relation_types = sorted({kind for _layer, kind in stats.relations})
        rows += [
            [f"`{kind}` relations", *(stats.relations[n, kind] for n in layer_names)]
            for kind in relation_types
        ]
        lines += _table(["", *layer_names], rows)
    else:
        lines.append("No layer was exported.")
    lines.append("")

    lines += ["## Annotators", ""]
    if options.layers == "gold":
        lines.append("Only the gold layer is exported.")
    names = sorted(name(a) for a in card.annotators)
    for n in names:
        count = stats.documents_per_layer[f"annotators/{safe_name(n)}"]
        lines.append(f"- {n}: {count} document{'' if count == 1 else 's'} in this export")
    if not names:
        lines.append("None.")
    lines.append("")

    lines += _agreement_section(card, rename)

    lines += ["## Problems", ""]
    if stats.problems:
        lines.append(
            "What this format could not hold exactly is listed, one JSON object a line, in "
            "`report.jsonl`:"
        )
        lines += ["", *_table(["kind", "count"], sorted(stats.problems.items())), ""]
    else:
        lines += ["None: every span was written exactly.", ""]

    lines += ["## Annotation guidelines", ""]
    guidelines = demote_headings(card.guidelines.strip())
    lines += [guidelines or "The project has no written guidelines.", ""]
    return "\n".join(lines)


def demote_headings(markdown: str) -> str:
    """Push Markdown headings two levels down so they nest under the card's own sections.

    Lines inside fenced code blocks are left alone (a shell comment is not a heading).
    """
    out = []
    fenced = False
    for line in markdown.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,4}(\s|$)", line):
            line = "##" + line
        out.append(line)
    return "\n".join(out)
