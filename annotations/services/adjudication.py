"""Adjudication: settling the annotators' submitted layers into the gold layer.

A reviewer starts from a vote: every span that at least ``min_votes`` annotators marked
exactly (same start, end and label) goes into gold, with the attributes most of them
gave, and the catalogue entry and stance that enough of them gave (none when they did
not agree: gold does not link what was not decided); so does every link whose two ends
made it and that enough annotators drew, and every document-label value enough
annotators gave (for a single-choice label, the one value with the most votes, none on
a tie). What the gold layer held already is kept. The result is written through
``layers.replace_layer``, so it is checked, versioned and audited like any other write,
and it is all or nothing. The reviewer then edits gold span by span.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from annotations.access import STAFF_ROLES, Access
from annotations.interchange import DocumentRecord, Span
from annotations.models import Document, LabelKind, Layer
from annotations.review import majority
from annotations.selectors import iter_project_records
from annotations.services.layers import (
    GOLD_STAFF_ONLY_MESSAGE,
    RelationInput,
    SpanInput,
    ensure_gold_layer,
    replace_layer,
)

SpanKey = tuple[int, int, str]
Link = tuple[str | None, str]  # a span's catalogue entry key and its stance


@dataclass(frozen=True)
class Merge:
    spans: list[SpanInput]
    relations: list[RelationInput]
    annotators: int
    min_votes: int
    document_labels: dict[str, list[str]]


def _key(span: Span) -> SpanKey:
    return (span.start, span.end, span.label)


def _attrs_id(attrs: Mapping[str, Any]) -> str:
    return json.dumps(attrs, sort_keys=True, ensure_ascii=False)


def _vote_document_labels(
    record: DocumentRecord, needed: int, single: frozenset[str]
) -> dict[str, list[str]]:
    """Gold's document labels kept; for the others, the values given ``needed`` times."""
    votes: dict[str, Counter[str]] = {}
    for labels in record.document_labels.values():
        for name, values in labels.items():
            votes.setdefault(name, Counter()).update(set(values))
    chosen = {name: list(values) for name, values in record.gold_document_labels.items()}
    for name, counts in sorted(votes.items()):
        if name in chosen:
            continue
        passed = sorted(value for value, count in counts.items() if count >= needed)
        if name in single and len(passed) > 1:
            top = max(counts[value] for value in passed)
            passed = [value for value in passed if counts[value] == top]
            passed = passed if len(passed) == 1 else []
        if passed:
            chosen[name] = passed
    return chosen


def _settled(counts: Counter[Any], needed: int) -> Any | None:
    """The one value given at least ``needed`` times and more often than any other."""
    ranked = counts.most_common(2)
    if not ranked or ranked[0][1] < needed:
        return None
    if len(ranked) == 2 and ranked[1][1] == ranked[0][1]:
        return None
    return ranked[0][0]


def _vote_link(links: Counter[Link], needed: int) -> Link:
    """The entry enough annotators linked the span to, and the stance enough of those gave."""
    entries: Counter[str] = Counter()
    for (key, _), count in links.items():
        if key is not None:
            entries[key] += count
    entry = _settled(entries, needed)
    if entry is None:
        return None, ""
    stances = Counter(
        {stance: count for (key, stance), count in links.items() if key == entry and stance}
    )
    return entry, _settled(stances, needed) or ""


def vote(
    record: DocumentRecord, min_votes: int | None = None, single: frozenset[str] = frozenset()
) -> Merge:
    """The gold content a vote over ``record``'s annotator layers gives (gold kept).

    ``min_votes`` defaults to a strict majority of the annotators who annotated it;
    ``single`` names the single-choice document labels.
    """
    annotators = len(record.annotations)
    needed = min_votes if min_votes is not None else majority(annotators)
    if needed < 1:
        raise ValidationError({"min_votes": ["must be at least 1"]})

    span_votes: Counter[SpanKey] = Counter()
    attrs_votes: dict[SpanKey, Counter[str]] = {}
    link_choices: dict[SpanKey, Counter[Link]] = {}
    link_votes: Counter[tuple[str, SpanKey, SpanKey]] = Counter()
    for name, spans in record.annotations.items():
        for key in {_key(span) for span in spans}:
            span_votes[key] += 1
        for span in spans:
            attrs_votes.setdefault(_key(span), Counter())[_attrs_id(span.attrs)] += 1
            link_choices.setdefault(_key(span), Counter())[(span.entry, span.stance)] += 1
        links = {
            (rel.type, _key(spans[rel.head]), _key(spans[rel.tail]))
            for rel in record.relations.get(name, [])
        }
        link_votes.update(links)

    chosen: dict[SpanKey, tuple[dict[str, Any], Link]] = {
        _key(span): (dict(span.attrs), (span.entry, span.stance)) for span in record.gold
    }
    for key, votes in sorted(span_votes.items()):
        if votes >= needed and key not in chosen:
            # Most common attributes; a tie goes to the first in sorted order.
            counts = attrs_votes[key]
            best = min(counts, key=lambda attrs: (-counts[attrs], attrs))
            chosen[key] = (json.loads(best), _vote_link(link_choices[key], needed))

    order = sorted(chosen)
    position = {key: index for index, key in enumerate(order)}
    links = {
        (rel.type, _key(record.gold[rel.head]), _key(record.gold[rel.tail]))
        for rel in record.gold_relations
    }
    links.update(
        link
        for link, votes in link_votes.items()
        if votes >= needed and link[1] in position and link[2] in position
    )
    return Merge(
        spans=[
            SpanInput(label=label, start=start, end=end, attrs=attrs, entry=entry, stance=stance)
            for (start, end, label), (attrs, (entry, stance)) in (
                (key, chosen[key]) for key in order
            )
        ],
        relations=[
            RelationInput(type=kind, head=position[head], tail=position[tail])
            for kind, head, tail in sorted(links)
        ],
        annotators=annotators,
        min_votes=needed,
        document_labels=_vote_document_labels(record, needed, single),
    )


def merge_into_gold(
    *,
    access: Access,
    document: Document,
    min_votes: int | None = None,
    version: int | None = None,
) -> tuple[Layer, Merge]:
    """Write the vote over the submitted layers into the document's gold layer."""
    access.require(STAFF_ROLES, GOLD_STAFF_ONLY_MESSAGE)
    if document.project_id != access.project.pk:
        raise Document.DoesNotExist("No such document.")
    record = next(
        iter_project_records(access.project, documents=Document.objects.filter(pk=document.pk))
    )
    submitted = len(record.annotations)
    if submitted == 0:
        raise ValidationError({"document": ["no annotator has submitted this document yet"]})
    if min_votes is not None and min_votes > submitted:
        raise ValidationError(
            {
                "min_votes": [
                    f"must be at most {submitted}, the number of annotators "
                    "who submitted this document"
                ]
            }
        )
    gold = ensure_gold_layer(access=access, document=document)
    single = frozenset(
        label.name
        for label in access.labels()
        if label.kind == LabelKind.DOCUMENT and not label.multiple
    )
    merge = vote(record, min_votes, single)
    layer = replace_layer(
        access=access.to_layer(gold),
        spans=merge.spans,
        relations=merge.relations,
        document_labels=merge.document_labels,
        version=version,
    )
    return layer, merge
