"""The reviewers' catalogue page: each catalogue's entries with their mention counts, and
the forms that approve, rename, merge and split them (``services.catalogues``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from annotations.access import STAFF_ROLES, Access
from annotations.api.catalogues import mentions_of
from annotations.models import CatalogueEntry, CatalogueKind, Role
from annotations.services import catalogues
from annotations.views.access import project_page

KIND_TITLES = {CatalogueKind.PROPOSITION: "Propositions", CatalogueKind.SOURCE: "Source entities"}


def _act(access: Access, data: Any) -> str:
    """Run the form's action; what the page says it did."""
    entry = catalogues.entry_for(access, data.get("key", ""))
    action = data.get("action")
    if action == "approve":
        catalogues.approve_entry(access=access, entry=entry)
        return f"Approved {entry.name!r}."
    if action == "rename":
        catalogues.update_entry(access=access, entry=entry, name=data.get("name", ""))
        return f"Renamed {entry.key!r}."
    if action == "merge":
        keep = catalogues.entry_for(access, data.get("into", ""))
        catalogues.merge_entries(access=access, keep=keep, merge=entry)
        return f"Merged {entry.name!r} into {keep.name!r}."
    if action == "split":
        try:
            span_ids = [int(value) for value in data.getlist("spans")]
        except ValueError:
            raise ValidationError({"spans": ["choose mentions from the list"]}) from None
        new = catalogues.split_entry(
            access=access, entry=entry, name=data.get("name", ""), span_ids=span_ids
        )
        return f"Split {len(span_ids)} mentions of {entry.name!r} into {new.name!r}."
    if action == "delete":
        catalogues.delete_entry(access=access, entry=entry)
        return f"Deleted {entry.name!r}."
    raise ValidationError({"action": ["unknown action"]})


def _said(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{name}: {' '.join(why)}" for name, why in error.message_dict.items())
    return " ".join(error.messages)


@project_page(visible_to=STAFF_ROLES)
def catalogue_page(request: HttpRequest, access: Access) -> HttpResponse:
    if request.method == "POST":
        try:
            messages.success(request, _act(access, request.POST))
        except CatalogueEntry.DoesNotExist:
            messages.error(request, "No such entry (merged or deleted meanwhile?).")
        except (ValidationError, PermissionDenied) as error:
            said = _said(error) if isinstance(error, ValidationError) else str(error)
            messages.error(request, f"Not done: {said}")
        return redirect("catalogue-page", access.project.slug)
    entries = list(catalogues.visible_entries(access).select_related("proposed_by"))
    counts = catalogues.mention_counts(entries)
    sections = []
    for kind, title in KIND_TITLES.items():
        rows = [
            {
                "entry": entry,
                "mentions": counts.get(entry.pk, (0, 0))[0],
                "documents": counts.get(entry.pk, (0, 0))[1],
                "spans": mentions_of(entry, submitted_only=access.role != Role.MANAGER)
                if counts.get(entry.pk)
                else [],
                "others": [e for e in entries if e.kind == kind and e.pk != entry.pk],
            }
            for entry in entries
            if entry.kind == kind
        ]
        sections.append({"kind": kind, "title": title, "rows": rows})
    return render(
        request,
        "annotations/catalogue.html",
        {"project": access.project, "role": access.role, "sections": sections},
    )


urlpatterns = [
    path("projects/<slug:slug>/catalogue/", catalogue_page, name="catalogue-page"),
]
