"""The agreement report page (managers, reviewers): latest figures, history, a run button.

The page shows the latest succeeded run: overall figures with their intervals, a table
per label, pair-by-pair heatmaps, the documents worst first (each linking to it), the
label confusion table and the trend of past runs. A run under way shows a progress bar
that ``static/annotations/js/agreement.js`` keeps current by polling the API.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from annotations.access import STAFF_ROLES, Access
from annotations.agreement.report import LABEL_METRICS, OVERALL_METRICS
from annotations.models import AgreementRun, Document, JobStatus
from annotations.selectors import latest_succeeded_run, succeeded_runs
from annotations.services.workers import NO_WORKER_WARNING, a_worker_answers
from annotations.views.access import project_page
from annotations.views.charts import heatmap, trend

DOCUMENTS_SHOWN = 100
HISTORY = 30
OVERALL_NAMES = {
    "alpha_char_macro": "Krippendorff's alpha, characters (macro over labels)",
    "span_f1_exact_mean": "Span F1, exact (mean over pairs)",
    "span_f1_overlap_mean": "Span F1, overlap (mean over pairs)",
    "cohen_kappa_char_macro": "Cohen's kappa, characters (macro)",
    "fleiss_kappa_char_macro": "Fleiss' kappa, characters (macro)",
    "relation_f1_mean": "Relation F1 (mean over pairs)",
}
LABEL_HEADINGS = {
    "alpha_char": "alpha",
    "cohen_kappa_char_mean": "Cohen κ",
    "fleiss_kappa_char": "Fleiss κ",
    "span_f1_exact_mean": "F1 exact",
    "span_f1_overlap_mean": "F1 overlap",
}
TREND_SERIES = ["alpha_char_macro", "span_f1_exact_mean", "span_f1_overlap_mean"]


def _figure(container: dict[str, Any], key: str, bounds: dict[str, Any] | None) -> dict[str, Any]:
    interval = (bounds or {}).get(key)
    return {
        "value": container.get(key),
        "reason": container.get(f"{key}_reason", ""),
        "low": interval[0] if interval else None,
        "high": interval[1] if interval else None,
    }


def _document_label_rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per document label, then one per value of a multiple-choice label, by name
    (the stored result is jsonb, which keeps no key order)."""
    rows = []
    for label, entry in sorted(found.items()):
        items = [(label, entry, False)]
        items += [
            (f"{label} = {value}", v, True) for value, v in sorted(entry.get("values", {}).items())
        ]
        for name, values, nested in items:
            rows.append(
                {
                    "name": name,
                    "nested": nested,
                    "documents": values.get("n_documents"),
                    "figures": [
                        _figure(values, "alpha", None),
                        _figure(values, "cohen_kappa_mean", None),
                    ],
                    "pairs": [
                        {"a": pair["a"], "b": pair["b"], **_figure(pair, "cohen_kappa", None)}
                        for pair in values.get("pairs", [])
                    ],
                }
            )
    return rows


LINK_CLUSTERING = ("muc", "b_cubed", "ceaf_e")
LINK_HEADINGS = ["entry alpha", "entry Cohen κ", "stance alpha", "stance Cohen κ"]
LINK_HEADINGS += ["MUC F1", "B³ F1", "CEAF-e F1", "CoNLL F1"]
NO_STANCES = {"value": None, "reason": "this label takes no stance", "low": None, "high": None}


def _link_sections(found: dict[str, Any]) -> list[dict[str, Any]]:
    """Per label linked to a catalogue: its figures (means over pairs), then per pair."""
    sections = []
    for label, links in sorted(found.items()):
        stance = links.get("stance")
        clustering = links.get("clustering") or {}
        pairs = []
        for pair in links.get("pairs", []):
            figures = [_figure(pair, "entry_cohen_kappa", None)]
            figures.append(
                _figure(pair, "stance_cohen_kappa", None) if stance is not None else NO_STANCES
            )
            figures += [_figure(pair.get(name) or {}, "f1", None) for name in LINK_CLUSTERING]
            figures.append(_figure(pair, "conll_f1", None))
            pairs.append(
                {
                    "a": pair["a"],
                    "b": pair["b"],
                    "matched": pair.get("entry_matched", 0),
                    "figures": figures,
                }
            )
        summary = [
            _figure(links.get("entry") or {}, "alpha", None),
            _figure(links.get("entry") or {}, "cohen_kappa_mean", None),
            _figure(stance, "alpha", None) if stance is not None else NO_STANCES,
            _figure(stance, "cohen_kappa_mean", None) if stance is not None else NO_STANCES,
            *(_figure(clustering, f"{name}_f1_mean", None) for name in LINK_CLUSTERING),
            _figure(clustering, "conll_f1_mean", None),
        ]
        sections.append(
            {
                "label": label,
                "catalogue": links.get("catalogue", ""),
                "spans": links.get("spans", 0),
                "linked": links.get("linked", 0),
                "units": (links.get("entry") or {}).get("units", 0),
                "ambiguous": links.get("ambiguous_units", 0),
                "summary": summary,
                "pairs": pairs,
            }
        )
    return sections


def _report(
    project_slug: str, result: dict[str, Any], document_ids: dict[str, int]
) -> dict[str, Any]:
    intervals = result.get("intervals") or {}
    overall = result.get("overall", {})
    labels = result.get("labels", {})
    annotators = result.get("annotators", [])
    pairs = result.get("pairs", [])
    heatmaps = []
    for key, title in (
        ("span_f1_exact", "Span F1, exact"),
        ("span_f1_overlap", "Span F1, overlap"),
    ):
        values = {(p["a"], p["b"]): p.get(key) for p in pairs}
        heatmaps.append({"title": title, "svg": heatmap(annotators, values, title)})
    for label in result.get("label_names", []):
        values = {(p["a"], p["b"]): (p.get("cohen_kappa_char") or {}).get(label) for p in pairs}
        title = f"Cohen's kappa, {label}"
        heatmaps.append({"title": title, "svg": heatmap(annotators, values, title)})
    confusion = result.get("confusion") or {"labels": [], "counts": []}
    return {
        "overall": [
            {"name": OVERALL_NAMES[key], **_figure(overall, key, intervals.get("overall"))}
            for key in OVERALL_METRICS
            if key in overall
        ],
        "label_columns": [LABEL_HEADINGS[key] for key in LABEL_METRICS],
        "labels": [
            {
                "name": label,
                "spans": values.get("spans"),
                "figures": [
                    _figure(values, key, (intervals.get("labels") or {}).get(label))
                    for key in LABEL_METRICS
                ],
            }
            for label, values in ((name, labels[name]) for name in result.get("label_names", []))
        ],
        "heatmaps": heatmaps,
        "documents": [
            {**item, "pk": document_ids.get(item["id"])}
            for item in result.get("per_document", [])[:DOCUMENTS_SHOWN]
        ],
        "documents_total": len(result.get("per_document", [])),
        "confusion": {
            "labels": [name if name is not None else "(none)" for name in confusion["labels"]],
            "rows": [
                {
                    "label": name if name is not None else "(none)",
                    "counts": counts,
                }
                for name, counts in zip(confusion["labels"], confusion["counts"], strict=True)
            ],
        },
        "attributes": result.get("attributes", {}),
        "document_labels": _document_label_rows(result.get("document_labels") or {}),
        "links": _link_sections(result.get("links") or {}),
        "link_headings": LINK_HEADINGS,
        "intervals": intervals,
        "intervals_reason": result.get("intervals_reason", ""),
    }


@project_page(visible_to=STAFF_ROLES)
def agreement_report(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    latest = latest_succeeded_run(project)
    report = None
    if latest is not None and latest.result:
        shown = [item["id"] for item in latest.result.get("per_document", [])[:DOCUMENTS_SHOWN]]
        document_ids = dict(
            Document.objects.filter(project=project, external_id__in=shown).values_list(
                "external_id", "id"
            )
        )
        report = _report(project.slug, latest.result, document_ids)

    history = list(
        succeeded_runs(project).values_list("id", "finished_at", "result__overall")[:HISTORY]
    )
    history.reverse()
    points = [(f"#{pk}", overall or {}) for pk, _, overall in history]
    active = (
        AgreementRun.objects.filter(
            project=project, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        )
        .order_by("-created_at", "-id")
        .defer("result")
        .first()
    )
    last_failed = (
        AgreementRun.objects.filter(project=project, status=JobStatus.FAILED)
        .order_by("-created_at", "-id")
        .defer("result")
        .first()
    )
    warning = ""
    if active is not None and active.status == JobStatus.QUEUED and not a_worker_answers():
        warning = NO_WORKER_WARNING
    return render(
        request,
        "annotations/agreement.html",
        {
            "project": project,
            "role": access.role,
            "current": "agreement",
            "latest": latest,
            "report": report,
            "trend": trend(points, TREND_SERIES, "Agreement over runs")
            if len(points) > 1
            else None,
            "history": list(reversed(history)),
            "active": active,
            "last_failed": last_failed
            if latest is None or (last_failed and last_failed.created_at > latest.created_at)
            else None,
            "warning": warning,
        },
    )


urlpatterns = [
    path("projects/<slug:slug>/agreement/", agreement_report, name="agreement"),
]
