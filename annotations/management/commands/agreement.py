"""``manage.py agreement SLUG [--json]``: measure a project's agreement here and now.

The run goes through the same service as the Celery task (a row in the history, the same
chunks, the same stored result), but in this process, so it needs no worker.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.agreement.report import LABEL_METRICS, OVERALL_METRICS
from annotations.models import AgreementRun, Project
from annotations.services import agreement_runs, jobs


def _number(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _with_interval(container: dict[str, Any], key: str, bounds: dict[str, Any] | None) -> str:
    value = container.get(key)
    text = _number(value)
    interval = (bounds or {}).get(key)
    if interval:
        text += f" [{interval[0]:.3f}, {interval[1]:.3f}]"
    if value is None and container.get(f"{key}_reason"):
        text += f" ({container[f'{key}_reason']})"
    return text


def render_text(result: dict[str, Any], worst: int = 10) -> str:
    """The report as plain text: overall, per label, per pair, worst documents, confusion."""
    intervals = result.get("intervals") or {}
    lines = [
        f"{result['documents']} documents with two or more submitted layers "
        f"({result['documents_skipped']} left out); annotators: "
        f"{', '.join(result['annotators']) or 'none'}",
        (
            f"intervals: {intervals['confidence']:.0%} {intervals['method']}, "
            f"{intervals['resamples']} resamples, seed {intervals['seed']}"
            if intervals
            else f"intervals: none ({result.get('intervals_reason', '')})"
        ),
        "",
        "Overall",
    ]
    for key in OVERALL_METRICS:
        shown = _with_interval(result["overall"], key, intervals.get("overall"))
        lines.append(f"  {key:<26} {shown}")
    lines += ["", "Per label"]
    for label in result["label_names"]:
        values = result["labels"][label]
        bounds = (intervals.get("labels") or {}).get(label)
        lines.append(f"  {label} ({values.get('spans', 0)} spans)")
        for key in LABEL_METRICS:
            lines.append(f"    {key:<24} {_with_interval(values, key, bounds)}")
    lines += ["", "Pairs (span F1 exact / overlap, relation F1, documents)"]
    for pair in result["pairs"]:
        lines.append(
            f"  {pair['a']} / {pair['b']}: {_number(pair.get('span_f1_exact'))} / "
            f"{_number(pair.get('span_f1_overlap'))}, {_number(pair.get('relation_f1'))}, "
            f"{pair.get('documents', 0)}"
        )
    lines += ["", f"Worst {worst} documents (span F1 exact mean, overlap mean, alpha)"]
    for item in result["per_document"][:worst]:
        lines.append(
            f"  {item['id']}: {_number(item['span_f1_exact_mean'])}, "
            f"{_number(item['span_f1_overlap_mean'])}, {_number(item['alpha_char_macro'])}"
        )
    for label, links in sorted((result.get("links") or {}).items()):
        lines += ["", f"Links: {label} -> {links['catalogue']} ({links['linked']} of "]
        lines[-1] += f"{links['spans']} spans linked)"
        for facet in ("entry", "stance"):
            if facet in links:
                alpha = _with_interval(links[facet], "alpha", None)
                kappa = _with_interval(links[facet], "cohen_kappa_mean", None)
                lines.append(f"  {facet:<8} alpha {alpha}; Cohen's kappa (mean) {kappa}")
        clustering = links["clustering"]
        lines.append(
            "  clustering (means over pairs): "
            + ", ".join(
                f"{name} {_with_interval(clustering, f'{name}_f1_mean', None)}"
                for name in ("muc", "b_cubed", "ceaf_e", "conll")
            )
        )
    confusion = result["confusion"]
    names = [name if name is not None else "(none)" for name in confusion["labels"]]
    width = max([10, *(len(name) + 1 for name in names)])
    lines += ["", "Label confusion (row: one annotator, column: the other)"]
    lines.append(" " * width + "".join(f"{name:>{width}}" for name in names))
    for name, counts in zip(names, confusion["counts"], strict=True):
        lines.append(f"{name:<{width}}" + "".join(f"{count:>{width}}" for count in counts))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Measure inter-annotator agreement of a project now and print the report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The project's slug.")
        parser.add_argument("--json", action="store_true", help="Print the result JSON.")
        parser.add_argument(
            "--resamples", type=int, default=None, help="Bootstrap resamples (default 1000)."
        )
        parser.add_argument("--seed", type=int, default=None, help="Bootstrap seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"no project {options['slug']!r}")
        parameters: dict[str, Any] = {}
        if options["resamples"] is not None:
            parameters["bootstrap_resamples"] = options["resamples"]
        if options["seed"] is not None:
            parameters["bootstrap_seed"] = options["seed"]
        try:
            params = agreement_runs.parse_parameters(project, parameters)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        run = AgreementRun.objects.create(project=project, parameters=params.to_json())
        claim = jobs.claim(AgreementRun, run.pk)
        assert claim is not None  # just created, nobody else knows it
        run.refresh_from_db()
        try:
            # A worker's sweep would otherwise take a long run over from this process.
            with jobs.heartbeat(claim):
                agreement_runs.run_inline(run, claim)
        except Exception as exc:
            claim.fail(f"agreement failed: {exc}")
            raise CommandError(f"agreement failed: {exc}") from exc
        run.refresh_from_db()
        assert run.result is not None  # run_inline stored it
        if options["json"]:
            self.stdout.write(json.dumps(run.result, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"Agreement run #{run.pk} of {project.slug!r}")
            self.stdout.write(render_text(run.result))
