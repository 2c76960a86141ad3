"""``manage.py assign SLUG [--preview] [--k N]``: hand a project's documents out.

The same plan as the assignment page and the API (``annotations.services.assignments``):
k annotators per document, balanced by open load; ``--k`` sets k first (recorded in the
audit trail), ``--preview`` prints what would happen and writes nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.models import Project
from annotations.services import assignments
from annotations.services.assignments import Plan


def render_plan(plan: Plan, *, applied: bool) -> str:
    """The plan as the page shows it, in plain text."""
    made, taken = ("made", "taken back") if applied else ("would be made", "would be taken back")
    lines = [
        f"k = {plan.overlap}: {plan.documents} documents, {plan.unassigned} unassigned, "
        f"{plan.under_filled} with fewer than k annotators",
        f"{plan.added} assignments {made} on {plan.documents_filled} documents, "
        f"{plan.removed} unstarted {taken}",
    ]
    if plan.unfillable:
        lines.append(
            f"{plan.unfillable} documents {'stay' if applied else 'would stay'} short of k "
            f"(too few annotators), e.g. {', '.join(plan.unfillable_examples)}"
        )
    lines.append(
        f"{'annotator':<24} {'open now':>9} {'added':>7} {'removed':>8} {'open after':>11}"
    )
    for row in plan.annotators:
        name = row.username if row.is_annotator else f"{row.username} (left)"
        lines.append(
            f"{name:<24} {row.open_before:>9} {row.added:>7} {row.removed:>8} {row.open_after:>11}"
        )
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Assign a project's documents to its annotators, k per document (or preview it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The project's slug.")
        parser.add_argument(
            "--preview", action="store_true", help="Print the plan only; write nothing."
        )
        parser.add_argument("--k", type=int, help="Annotators per document: set k first.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"no project {options['slug']!r}")
        try:
            if options["preview"]:
                plan = assignments.plan_for(project, options["k"])
            else:
                plan = assignments.apply_to_project(project=project, overlap=options["k"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(render_plan(plan, applied=not options["preview"]))
