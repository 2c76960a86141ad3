"""The claim matrix page (every member, each with the layers they may see).

Approved propositions by source entities, stance counts in each cell, contradictions
marked, a timeline of each proposition's mentions; a cell is a link that reloads the page
with that cell's mentions listed. The figures come from ``services.claims``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from annotations.access import Access
from annotations.models import CatalogueEntry, CatalogueKind, EntryStatus, Role
from annotations.services import claims
from annotations.views.access import project_page
from annotations.views.charts import timeline


def _opened_cell(access: Access, params: dict[str, str]) -> tuple[CatalogueEntry, str] | None:
    """The proposition and source of the cell asked for, or ValidationError."""
    raw_proposition = params.get("proposition", "")
    raw_source = params.get("source", "")
    if not raw_proposition and not raw_source:
        return None
    if not raw_proposition.isdigit():
        raise ValidationError({"proposition": ["must be the id of an approved proposition"]})
    proposition = CatalogueEntry.objects.filter(
        project=access.project,
        pk=int(raw_proposition),
        kind=CatalogueKind.PROPOSITION,
        status=EntryStatus.APPROVED,
    ).first()
    if proposition is None:
        raise ValidationError({"proposition": ["must be the id of an approved proposition"]})
    if raw_source != claims.NO_SOURCE and not (
        raw_source.isdigit()
        and CatalogueEntry.objects.filter(
            project=access.project,
            pk=int(raw_source),
            kind=CatalogueKind.SOURCE,
            status=EntryStatus.APPROVED,
        ).exists()
    ):
        raise ValidationError(
            {"source": [f"must be the id of an approved source entity, or {claims.NO_SOURCE}"]}
        )
    return proposition, raw_source


def _mention_link(access: Access, mention: claims.Mention) -> str:
    slug = access.project.slug
    if access.role == Role.ANNOTATOR:
        return reverse("annotate", args=[slug, mention.document_id])
    return reverse("review", args=[slug, mention.document_id])


@project_page()
def claim_matrix(request: HttpRequest, access: Access) -> HttpResponse:
    params = {key: request.GET.get(key, "") for key in request.GET}
    choices = claims.filter_choices(access)
    errors: dict[str, list[str]] = {}
    matrix = None
    opened: dict[str, Any] | None = None
    mentions: list[claims.Mention] = []
    mentions_total = 0
    filters = claims.MatrixFilters()
    try:
        filters = claims.parse_filters(access, params)
        cell = _opened_cell(access, params)
    except ValidationError as refused:
        errors = refused.message_dict
    else:
        matrix = claims.claim_matrix(access, filters)
        if cell is not None:
            proposition, source = cell
            mentions, mentions_total = claims.cell_mentions(access, filters, proposition.pk, source)
            source_name = "no linked source"
            if source != claims.NO_SOURCE:
                source_name = CatalogueEntry.objects.get(pk=int(source)).name
            opened = {"proposition": proposition, "source": source, "source_name": source_name}
    kept = filters.to_params()
    here = reverse("claims", args=[access.project.slug])

    def cell_url(proposition_id: int, source: str) -> str:
        query = urlencode({**kept, "proposition": proposition_id, "source": source})
        return f"{here}?{query}#mentions"

    rows = []
    if matrix is not None:
        for row in matrix.rows:
            rows.append(
                {
                    "row": row,
                    "cells": [
                        {
                            "cell": cell,
                            "counts": [
                                (stance, cell.counts[stance])
                                for stance in matrix.stances
                                if cell.counts.get(stance)
                            ],
                            "url": cell_url(row.entry.pk, column.key),
                            "source": column.entry.name if column.entry else "no linked source",
                            "opened": opened is not None
                            and opened["proposition"].pk == row.entry.pk
                            and opened["source"] == column.key,
                        }
                        for cell, column in zip(row.cells, matrix.columns, strict=True)
                    ],
                    "totals": [
                        (stance, row.totals[stance])
                        for stance in matrix.stances
                        if row.totals.get(stance)
                    ],
                }
            )
    chart = None
    if matrix is not None and matrix.timeline:
        names = {row.entry.pk: row.entry.name for row in matrix.rows}
        chart = timeline(
            [row.entry.pk for row in matrix.rows if row.total],
            names,
            matrix.stances,
            matrix.timeline,
            "Mentions of each proposition by document date",
        )
    return render(
        request,
        "annotations/claims.html",
        {
            "project": access.project,
            "role": access.role,
            "current": "claims",
            "choices": choices,
            "filters": filters,
            "params": params,
            "errors": errors,
            "matrix": matrix,
            "rows": rows,
            "timeline": chart,
            "opened": opened,
            "mentions": [
                {"mention": mention, "url": _mention_link(access, mention)} for mention in mentions
            ],
            "mentions_total": mentions_total,
            "reset_url": here,
        },
        status=400 if errors else 200,
    )


urlpatterns = [
    path("projects/<slug:slug>/claims/", claim_matrix, name="claims"),
]
