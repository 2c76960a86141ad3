"""The reviewer's pages: the review list (documents worst first) and the review page.

The review page shows one document's annotator layers as a table of candidates
(``annotations.review``) with their disagreements, and as the curation view (each counted
annotator's spans under each paragraph, ``static/annotations/js/curation.js``), with the
gold layer in the annotation editor (``static/annotations/js/annotate.js``, driven by
``review.js``): accepting a candidate writes it into gold through the layer API, "Merge by
vote" calls the merge endpoint, "Reopen" gives a layer back to its annotator. The reads,
and the blind rules they apply, are ``selectors.documents_to_review`` and
``selectors.document_review``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from annotations.access import STAFF_ROLES, Access
from annotations.models import LabelKind
from annotations.review import (
    ATTRIBUTES,
    BOUNDARY,
    LABEL,
    LINK,
    NO_LINK,
    PARTIAL,
    Candidate,
    Link,
    LinkCandidate,
    Review,
    candidate_key,
    link_key,
    majority,
)
from annotations.selectors import (
    GOLD_FINAL,
    GOLD_STATES,
    catalogue_names,
    document_review,
    documents_to_review,
    gold_state,
    latest_document_scores,
    layer_body,
)
from annotations.views.access import project_page
from annotations.views.annotate import label_schema, split_paragraphs

DOCUMENTS_PER_PAGE = 100
DEFAULT_COLOUR = "#888888"


# --- presenting -----------------------------------------------------------------------


def attrs_text(attrs: Mapping[str, Any]) -> str:
    """Attributes in a table cell: the value alone when there is one, else name=value."""
    if len(attrs) == 1:
        return str(next(iter(attrs.values())))
    return " · ".join(f"{name}={attrs[name]}" for name in sorted(attrs))


def link_text(link: Link, names: Mapping[str, str]) -> str:
    """A catalogue link in a table cell: the entry's name, then the stance."""
    entry, stance = link
    parts = [names.get(entry, entry)] if entry else []
    return " · ".join([*parts, stance] if stance else parts)


def _mark_text(attrs: Mapping[str, Any], link: Link, names: Mapping[str, str]) -> str:
    return " · ".join(part for part in (attrs_text(attrs), link_text(link, names)) if part)


def _issue_badges(candidate: Candidate) -> list[dict[str, str]]:
    text = {
        PARTIAL: f"{candidate.votes} of {candidate.voters}",
        LABEL: "also " + ", ".join(candidate.other_labels),
        BOUNDARY: "boundaries differ",
        ATTRIBUTES: "attributes differ",
        LINK: "links differ",
    }
    return [{"kind": issue, "text": text[issue]} for issue in candidate.issues]


def _candidate_row(
    index: int,
    candidate: Candidate,
    review: Review,
    colours: Mapping[str, str],
    entry_names: Mapping[str, str],
) -> dict[str, Any]:
    top = candidate.variants[0] if candidate.variants else None
    most_common = (dict(top.attrs), (top.entry, top.stance)) if top else ({}, NO_LINK)
    cells = []
    for name in review.annotators:
        attrs = candidate.marks.get(name)
        link = candidate.links.get(name, NO_LINK)
        cells.append(
            {
                "annotator": name,
                "marked": attrs is not None,
                "attrs": _mark_text(attrs, link, entry_names) if attrs is not None else "",
                # Attributes or links that differ from the most common ones stand out.
                "odd": attrs is not None and (dict(attrs), link) != most_common,
                "counted": name in review.counted,
            }
        )
    return {
        "index": index,
        "candidate": candidate,
        "colour": colours.get(candidate.label, DEFAULT_COLOUR),
        "cells": cells,
        "badges": _issue_badges(candidate),
        "gold_attrs": _mark_text(candidate.gold_attrs, candidate.gold_link, entry_names)
        if candidate.gold_attrs is not None
        else "",
        "variants": [
            {
                "index": position,
                "text": _mark_text(variant.attrs, (variant.entry, variant.stance), entry_names),
                "count": len(variant.annotators),
            }
            for position, variant in enumerate(candidate.variants)
        ],
    }


def _link_row(
    index: int, link: LinkCandidate, review: Review, colours: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "index": index,
        "link": link,
        "head_colour": colours.get(link.head.label, DEFAULT_COLOUR),
        "tail_colour": colours.get(link.tail.label, DEFAULT_COLOUR),
        "cells": [
            {
                "annotator": name,
                "marked": name in link.annotators,
                "counted": name in review.counted,
            }
            for name in review.annotators
        ],
    }


def _review_data(review: Review, entry_names: Mapping[str, str]) -> dict[str, Any]:
    """What review.js needs to write a candidate into gold: each variant's attributes
    and link, and the names of the catalogue entries they link to."""
    return {
        "candidates": [
            {
                "key": candidate_key(candidate),
                "start": candidate.start,
                "end": candidate.end,
                "label": candidate.label,
                "quote": candidate.quote,
                "variants": [
                    {"attrs": dict(variant.attrs), "entry": variant.entry, "stance": variant.stance}
                    for variant in candidate.variants
                ],
            }
            for candidate in review.candidates
        ],
        "entries": {
            entry: entry_names[entry]
            for entry in sorted(
                {
                    entry
                    for candidate in review.candidates
                    for entry, _ in candidate.links.values()
                    if entry is not None
                }
            )
            if entry in entry_names
        },
        "links": [
            {
                "key": link_key(link),
                "type": link.type,
                "head": candidate_key(link.head),
                "tail": candidate_key(link.tail),
            }
            for link in review.links
        ],
    }


def _curation_data(review: Review) -> dict[str, Any]:
    """Each counted annotator's spans and links, for the curation view (curation.js).

    Only the annotators who count (``review.counted``: the submitted layers the caller may
    see) get a row; each span and link names its candidate, so taking it into gold is the
    candidate's accept, and says how far the counted annotators agree on it.
    """
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {"spans": [], "links": []} for name in review.counted
    }
    for candidate in review.candidates:
        for name, attrs in candidate.marks.items():
            if name in rows:
                entry, stance = candidate.links.get(name, (None, ""))
                rows[name]["spans"].append(
                    {
                        "key": candidate_key(candidate),
                        "start": candidate.start,
                        "end": candidate.end,
                        "label": candidate.label,
                        "attrs": dict(attrs),
                        "entry": entry,
                        "stance": stance,
                        "votes": candidate.votes,
                        "agreement": candidate.agreement,
                    }
                )
    for link in review.links:
        for name in link.annotators:
            if name in rows:
                rows[name]["links"].append(
                    {
                        "key": link_key(link),
                        "type": link.type,
                        "head": candidate_key(link.head),
                        "tail": candidate_key(link.tail),
                        "votes": link.votes,
                        "agreement": link.agreement,
                    }
                )
    return {
        "voters": len(review.counted),
        "annotators": [{"name": name, **rows[name]} for name in review.counted],
    }


# --- pages ----------------------------------------------------------------------------


@project_page(visible_to=STAFF_ROLES)
def review_list(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    run_id, summaries = documents_to_review(project)
    # An unknown state filters nothing out, as an empty one does.
    gold_filter = request.GET.get("gold", "")
    if gold_filter not in GOLD_STATES:
        gold_filter = ""
    rows = [
        {
            "summary": summary,
            "submitted": len(summary.annotators),
            "f1": summary.span_f1_exact,
            "alpha": summary.alpha_char,
            "gold_state": GOLD_STATES[summary.gold_status],
        }
        for summary in summaries
        if not gold_filter or summary.gold_status == gold_filter
    ]
    page = Paginator(rows, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    by_state = Counter(summary.gold_status for summary in summaries)
    return render(
        request,
        "annotations/review_list.html",
        {
            "project": project,
            "role": access.role,
            "current": "review",
            "page": page,
            "rows": list(page),
            "run_id": run_id,
            "gold_filter": gold_filter,
            "gold_states": [(state, name, by_state[state]) for state, name in GOLD_STATES.items()],
            "pager_query": urlencode({"gold": gold_filter}) if gold_filter else "",
            "totals": {
                "documents": len(summaries),
                "ready": sum(1 for summary in summaries if summary.annotators),
                "disputed": sum(
                    1
                    for summary in summaries
                    if summary.disagreements and summary.gold_status != GOLD_FINAL
                ),
                "final": by_state[GOLD_FINAL],
            },
        },
    )


@project_page(visible_to=STAFF_ROLES)
def review(request: HttpRequest, access: Access, doc_id: int) -> HttpResponse:
    project, role = access.project, access.role
    found = document_review(project, doc_id, role=role)
    if found is None:
        raise Http404("No such document.")
    document, review, gold = found.document, found.review, found.gold
    state = gold_state(gold.status if gold is not None else None)
    run_id, scores = latest_document_scores(project)
    labels = label_schema(project)
    counted = len(review.counted)
    colours = {label["name"]: label["colour"] for label in labels}
    entry_names = catalogue_names(project)
    config = {
        "project": project.slug,
        "document": document.pk,
        "externalId": document.external_id,
        "api": {
            "layer": f"/api/projects/{project.slug}/documents/{document.pk}/layers/gold/",
            "layers": "/api/layers/",
            "merge": reverse("gold-merge", kwargs={"slug": project.slug, "doc_id": document.pk}),
            "decisions": reverse(
                "review-decisions", kwargs={"slug": project.slug, "doc_id": document.pk}
            ),
            "undo": reverse(
                "review-decision-undo", kwargs={"slug": project.slug, "doc_id": document.pk}
            ),
            # The span panel's catalogue picker, for linking gold spans by hand.
            "catalogue": reverse("catalogue", kwargs={"slug": project.slug}),
        },
        "next": reverse("review-list", kwargs={"slug": project.slug}),
    }
    return render(
        request,
        "annotations/review.html",
        {
            "project": project,
            "role": role,
            "document": document,
            "paragraphs": split_paragraphs(document.text),
            "span_labels": [label for label in labels if label["kind"] == LabelKind.SPAN],
            "labels": labels,
            "layers": found.layers,
            # Each layer with the document labels its annotator gave.
            "lanes": [
                (layer, found.document_labels.get(layer.annotator.get_username(), {}))
                if layer.annotator is not None
                else (layer, {})
                for layer in found.layers
            ],
            "review": review,
            "rows": [
                _candidate_row(index, candidate, review, colours, entry_names)
                for index, candidate in enumerate(review.candidates)
            ],
            "link_rows": [
                _link_row(index, link, review, colours) for index, link in enumerate(review.links)
            ],
            "gold": gold,
            "gold_state": state,
            "gold_state_name": GOLD_STATES[state],
            "gold_body": layer_body(gold.pk) if gold is not None else None,
            "review_data": _review_data(review, entry_names),
            "curation_data": _curation_data(review),
            "config": config,
            "vote_choices": list(range(1, counted + 1)),
            "majority": majority(counted),
            "run_id": run_id,
            "score": scores.get(document.external_id),
        },
    )


urlpatterns = [
    path("projects/<slug:slug>/review/", review_list, name="review-list"),
    path("projects/<slug:slug>/documents/<int:doc_id>/review/", review, name="review"),
]
