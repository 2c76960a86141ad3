"""Adjudication candidates: what the annotators marked on one document, grouped for a reviewer.

A span candidate is one ``(start, end, label)`` that at least one annotator marked; a link
candidate is one ``(type, head, tail)`` whose ends are span candidates. Each carries who
marked it, with which attributes, and the ways the annotators disagree about it:

- ``partial``: some of the annotators marked it, not all of them;
- ``label``: someone who did not mark it gave the same offsets another label;
- ``boundary``: someone who did not mark it marked an overlapping span of the same label
  with other offsets;
- ``attributes``: those who marked it gave different attributes;
- ``link``: those who marked it linked it to different catalogue entries, or gave
  different stances toward the entry.

Only the *counted* annotators take part in votes and disagreements: a manager also sees the
layers still open (``pending``), whose marks are listed but not counted, because their
annotator has not finished. An annotator who submitted an empty layer counts: they found
nothing, so every candidate is partial.

Django-free: it works on interchange records (``annotations.interchange``), so it is tested
without a database.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotations.interchange import DocumentRecord, Relation, Span

PARTIAL = "partial"
LABEL = "label"
BOUNDARY = "boundary"
ATTRIBUTES = "attributes"
LINK = "link"
ISSUES = (PARTIAL, LABEL, BOUNDARY, ATTRIBUTES, LINK)

# How far the counted annotators agree on a candidate (the curation view colours by it).
ALL_AGREE = "all"
SOME_AGREE = "some"
ONE_ONLY = "one"
NOT_COUNTED = "none"

SpanKey = tuple[int, int, str]
# A span's catalogue link: the entry's key (None: not linked) and the stance ("": none).
Link = tuple[str | None, str]
NO_LINK: Link = (None, "")


def majority(voters: int) -> int:
    """The votes a strict majority of ``voters`` needs: more than half of them."""
    return voters // 2 + 1


def agreement_level(votes: int, voters: int) -> str:
    """``all`` when every counted annotator marked it (two or more of them), ``one`` when a
    single one did (also when only one counts: nobody backs it up), ``some`` in between,
    ``none`` when only annotators who do not count marked it."""
    if votes == 0:
        return NOT_COUNTED
    if votes == 1:
        return ONE_ONLY
    return ALL_AGREE if votes >= voters else SOME_AGREE


def span_key(span: Span) -> SpanKey:
    return (span.start, span.end, span.label)


def _attrs_id(attrs: Mapping[str, Any]) -> str:
    # Most spans carry no attributes: spare them the encoder.
    return json.dumps(attrs, sort_keys=True, ensure_ascii=False) if attrs else "{}"


@dataclass(frozen=True)
class Variant:
    """One set of attributes, with one catalogue link, given to a candidate, and who gave it."""

    attrs: Mapping[str, Any]
    annotators: tuple[str, ...]
    entry: str | None = None
    stance: str = ""


@dataclass
class Candidate:
    start: int
    end: int
    label: str
    quote: str
    # Annotator -> the attributes they gave (their first mark, should they repeat it).
    marks: dict[str, Mapping[str, Any]]
    votes: int
    voters: int
    # Distinct attributes and links among the counted marks, the most common first
    # (ties: sorted).
    variants: list[Variant]
    # Annotator -> the entry and stance they gave (their first mark, as ``marks``).
    links: dict[str, Link] = field(default_factory=dict)
    issues: tuple[str, ...] = ()
    # Labels that others gave the same offsets; offsets of same-label spans overlapping it.
    other_labels: tuple[str, ...] = ()
    rivals: tuple[tuple[int, int], ...] = ()
    gold_attrs: Mapping[str, Any] | None = None
    gold_link: Link = NO_LINK

    @property
    def key(self) -> SpanKey:
        return (self.start, self.end, self.label)

    @property
    def in_gold(self) -> bool:
        return self.gold_attrs is not None

    @property
    def agreement(self) -> str:
        return agreement_level(self.votes, self.voters)


@dataclass
class LinkCandidate:
    type: str
    head: Candidate
    tail: Candidate
    annotators: tuple[str, ...]
    votes: int
    voters: int
    issues: tuple[str, ...] = ()
    in_gold: bool = False

    @property
    def agreement(self) -> str:
        return agreement_level(self.votes, self.voters)


def candidate_key(candidate: Candidate) -> str:
    """How the review page and the stored decisions name a span candidate."""
    return f"{candidate.start}:{candidate.end}:{candidate.label}"


def link_key(link: LinkCandidate) -> str:
    """How the review page and the stored decisions name a link candidate."""
    return f"link:{link.type}|{candidate_key(link.head)}|{candidate_key(link.tail)}"


@dataclass
class Review:
    annotators: list[str]
    counted: list[str]
    candidates: list[Candidate] = field(default_factory=list)
    links: list[LinkCandidate] = field(default_factory=list)

    @property
    def disagreements(self) -> int:
        """Span and link candidates on which the counted annotators disagree."""
        spans = sum(1 for candidate in self.candidates if candidate.issues)
        return spans + sum(1 for link in self.links if link.issues)

    @property
    def agreed(self) -> int:
        return len(self.candidates) + len(self.links) - self.disagreements

    def unsettled(self, rejected: Collection[str]) -> list[str]:
        """Keys of the candidates some counted annotator marked that are neither in gold
        nor in ``rejected``: what a reviewer has still to settle."""
        spans = [
            candidate_key(candidate)
            for candidate in self.candidates
            if candidate.votes and not candidate.in_gold
        ]
        links = [link_key(link) for link in self.links if link.votes and not link.in_gold]
        return [key for key in spans + links if key not in rejected]


def _variants(
    marks: Mapping[str, Mapping[str, Any]], links: Mapping[str, Link], who: Collection[str]
) -> list[Variant]:
    groups: dict[tuple[str, str, str], tuple[Mapping[str, Any], Link, list[str]]] = {}
    for name in sorted(who):
        entry, stance = links.get(name, NO_LINK)
        group = (_attrs_id(marks[name]), entry or "", stance)
        groups.setdefault(group, (marks[name], (entry, stance), []))[2].append(name)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1][2]), item[0]))
    return [
        Variant(attrs=attrs, annotators=tuple(names), entry=entry, stance=stance)
        for _, (attrs, (entry, stance), names) in ordered
    ]


def _overlapping_pairs(candidates: Sequence[Candidate]) -> list[tuple[Candidate, Candidate]]:
    """Pairs of same-label candidates that share a character but not both offsets."""
    by_label: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_label.setdefault(candidate.label, []).append(candidate)
    pairs = []
    for group in by_label.values():
        group.sort(key=lambda c: (c.start, c.end))
        for index, first in enumerate(group):
            for second in group[index + 1 :]:
                if second.start >= first.end:
                    break
                pairs.append((first, second))
    return pairs


def review_candidates(
    annotations: Mapping[str, Sequence[Span]],
    relations: Mapping[str, Sequence[Relation]] | None = None,
    *,
    text: str = "",
    gold: Sequence[Span] = (),
    gold_relations: Sequence[Relation] = (),
    pending: Collection[str] = (),
) -> Review:
    """Group every annotator's spans and links into candidates, with their disagreements.

    ``annotations`` maps each annotator to their spans (``[]``: annotated, found nothing);
    ``relations`` point at spans by index, as in the interchange format. Annotators in
    ``pending`` are listed but do not vote. ``text`` gives the quotes ("" leaves them empty).
    Candidates come in reading order: by start, the longer first, then by label.
    """
    relations = relations or {}
    annotators = sorted(annotations)
    counted = [name for name in annotators if name not in pending]
    counted_set = set(counted)

    marks: dict[SpanKey, dict[str, Mapping[str, Any]]] = {}
    span_links: dict[SpanKey, dict[str, Link]] = {}
    for name in annotators:
        for span in annotations[name]:
            if name not in marks.setdefault(span_key(span), {}):
                marks[span_key(span)][name] = dict(span.attrs)
                span_links.setdefault(span_key(span), {})[name] = (span.entry, span.stance)
    gold_attrs = {span_key(span): dict(span.attrs) for span in gold}
    gold_span_links = {span_key(span): (span.entry, span.stance) for span in gold}

    candidates: dict[SpanKey, Candidate] = {}
    for key in sorted(marks, key=lambda k: (k[0], -k[1], k[2])):
        who = marks[key]
        voting = [name for name in who if name in counted_set]
        start, end, label = key
        candidates[key] = Candidate(
            start=start,
            end=end,
            label=label,
            quote=text[start:end],
            marks=who,
            votes=len(voting),
            voters=len(counted),
            variants=_variants(who, span_links[key], voting or who),
            links=span_links[key],
            gold_attrs=gold_attrs.get(key),
            gold_link=gold_span_links.get(key, NO_LINK),
        )

    def voters_of(candidate: Candidate) -> set[str]:
        return {name for name in candidate.marks if name in counted_set}

    issues: dict[SpanKey, set[str]] = {key: set() for key in candidates}
    other_labels: dict[SpanKey, set[str]] = {key: set() for key in candidates}
    rivals: dict[SpanKey, set[tuple[int, int]]] = {key: set() for key in candidates}
    by_offsets: dict[tuple[int, int], list[Candidate]] = {}
    for candidate in candidates.values():
        by_offsets.setdefault((candidate.start, candidate.end), []).append(candidate)
        if 0 < candidate.votes < candidate.voters:
            issues[candidate.key].add(PARTIAL)
        if candidate.votes > 1:
            if len({_attrs_id(variant.attrs) for variant in candidate.variants}) > 1:
                issues[candidate.key].add(ATTRIBUTES)
            if len({(variant.entry, variant.stance) for variant in candidate.variants}) > 1:
                issues[candidate.key].add(LINK)
    # A rival only counts as a disagreement when someone marked it instead of this one.
    for same_offsets in by_offsets.values():
        for first in same_offsets:
            for second in same_offsets:
                if first is not second:
                    other_labels[first.key].add(second.label)
                    if voters_of(second) - voters_of(first):
                        issues[first.key].add(LABEL)
    for first, second in _overlapping_pairs(list(candidates.values())):
        for this, that in ((first, second), (second, first)):
            rivals[this.key].add((that.start, that.end))
            if voters_of(that) - voters_of(this):
                issues[this.key].add(BOUNDARY)
    for key, candidate in candidates.items():
        # What only open layers marked is no disagreement among those who count.
        if candidate.votes == 0:
            issues[key].clear()
        candidate.issues = tuple(issue for issue in ISSUES if issue in issues[key])
        candidate.other_labels = tuple(sorted(other_labels[key]))
        candidate.rivals = tuple(sorted(rivals[key]))

    link_marks: dict[tuple[str, SpanKey, SpanKey], list[str]] = {}
    for name in annotators:
        spans = annotations[name]
        for relation in relations.get(name, ()):
            link = (relation.type, span_key(spans[relation.head]), span_key(spans[relation.tail]))
            drawn_by = link_marks.setdefault(link, [])
            if name not in drawn_by:
                drawn_by.append(name)
    gold_links = {
        (rel.type, span_key(gold[rel.head]), span_key(gold[rel.tail])) for rel in gold_relations
    }
    links = []
    for link in sorted(
        link_marks, key=lambda k: (candidates[k[1]].start, candidates[k[2]].start, k)
    ):
        kind, head, tail = link
        drawn = tuple(link_marks[link])
        votes = sum(1 for name in drawn if name in counted_set)
        links.append(
            LinkCandidate(
                type=kind,
                head=candidates[head],
                tail=candidates[tail],
                annotators=drawn,
                votes=votes,
                voters=len(counted),
                issues=(PARTIAL,) if 0 < votes < len(counted) else (),
                in_gold=link in gold_links,
            )
        )
    return Review(
        annotators=annotators, counted=counted, candidates=list(candidates.values()), links=links
    )


def review_record(record: DocumentRecord, *, pending: Collection[str] = ()) -> Review:
    """``review_candidates`` over an interchange record, its text and its gold layer."""
    return review_candidates(
        record.annotations,
        record.relations,
        text=record.text,
        gold=record.gold,
        gold_relations=record.gold_relations,
        pending=pending,
    )
