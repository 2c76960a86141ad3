"""The dashboard's export panel (managers): what the form offers and the recent exports.

The page starts and follows export jobs through the export API, as any client would
(``static/annotations/js/export.js``); this module only reads: the formats and options the
form offers, and the project's latest jobs for the list below it.
"""

from __future__ import annotations

from typing import Any, get_args

from django.urls import reverse

from annotations.exporters import DESCRIPTIONS, EXPORTERS
from annotations.exporters.base import Alignment, ExportOptions, LayerChoice, SplitSpec
from annotations.models import ExportJob, JobStatus, LabelKind, LabelType, Project
from annotations.services.workers import NO_WORKER_WARNING, a_worker_answers

RECENT_EXPORTS = 10
LAYER_HELP = {
    "gold": "the adjudicated layer",
    "annotators": "each annotator's own layer",
    "all": "gold and every annotator's layer",
}
ALIGNMENT_HELP = {
    "split": "cut the token there",
    "strict": "leave the span out",
    "expand": "widen to whole tokens",
    "contract": "narrow to whole tokens",
}


def options_summary(options: dict[str, Any]) -> str:
    """A short line saying how a job's options differ from exporting everything."""
    parts = [f"layers: {options.get('layers', 'all')}"]
    if options.get("labels") is not None:
        parts.append(f"labels: {', '.join(options['labels']) or 'none'}")
    split = options.get("split")
    if split:
        parts.append(
            f"split {split.get('train')}/{split.get('dev')}/{split.get('test')} "
            f"(seed {split.get('seed')})"
        )
    if options.get("pseudonymise"):
        parts.append("pseudonymised")
    if options.get("final_gold_only"):
        parts.append("final gold only")
    if options.get("include_meta") is False:
        parts.append("no meta")
    return " · ".join(parts)


def recent_exports(project: Project, limit: int = RECENT_EXPORTS) -> list[ExportJob]:
    """The project's latest export jobs, newest first."""
    return list(
        ExportJob.objects.filter(project=project)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:limit]
    )


def panel_context(project: Project) -> dict[str, Any]:
    """What the export panel shows: the form's choices, the recent jobs, any job under way."""
    defaults = ExportOptions()
    jobs = recent_exports(project)
    rows = [
        {
            "job": job,
            "summary": options_summary(job.options or {}),
            "download_url": reverse("export-download", args=[project.slug, job.pk])
            if job.status == JobStatus.SUCCEEDED and job.file
            else None,
        }
        for job in jobs
    ]
    active = next((job for job in jobs if not job.is_finished), None)
    warning = ""
    if active is not None and active.status == JobStatus.QUEUED and not a_worker_answers():
        warning = NO_WORKER_WARNING
    return {
        "formats": [{"name": name, "description": DESCRIPTIONS[name]} for name in EXPORTERS],
        "layers": [
            {"name": name, "help": LAYER_HELP.get(name, ""), "checked": name == defaults.layers}
            for name in get_args(LayerChoice)
        ],
        "alignments": [
            {
                "name": name,
                "help": ALIGNMENT_HELP.get(name, ""),
                "selected": name == defaults.alignment,
            }
            for name in get_args(Alignment)
        ],
        "labels": list(
            LabelType.objects.filter(project=project, kind=LabelKind.SPAN)
            .order_by("position", "name")
            .values("name", "colour", "description")
        ),
        "defaults": defaults,
        "split": defaults.split or SplitSpec(),
        "recent": rows,
        "active": active,
        "warning": warning,
    }
