"""Reviewers' decisions: accepting or rejecting a document's candidates, kept on the server.

A decision is shared by every reviewer of the project and versioned per document
(``Document.review_version``): a write that carries an older version than the document's is
refused (409, as for layers), so two reviewers never overwrite each other unseen. Undoing
a decision deletes it. Every decision and every undo is in the audit trail.

Accepting records the reviewer's choice; the candidate's content enters gold through the
gold layer's own writes. A link stands on its two end spans: accepting it while an end is
rejected or not in gold is refused, naming that end, unless the caller says ``with_ends``,
which accepts the ends too (the page asks the reviewer first). A span is never brought
back into gold behind the reviewer's back.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from annotations.access import STAFF_ROLES, Access
from annotations.models import Decision, Document, ReviewDecision
from annotations.review import Review, candidate_key, link_key
from annotations.selectors import document_review, rejected_keys
from annotations.services.audit import record_event
from annotations.services.layers import LayerConflict

STAFF_ONLY_MESSAGE = "Only reviewers and managers decide on candidates."


def _bump_review_version(document: Document, expected: int | None) -> int:
    """Claim the document's next decisions version, or raise ``LayerConflict``."""
    rows = Document.objects.filter(pk=document.pk)
    if expected is not None:
        rows = rows.filter(review_version=expected)
    if not rows.update(review_version=F("review_version") + 1):
        current = Document.objects.values_list("review_version", flat=True).get(pk=document.pk)
        raise LayerConflict(current)
    document.refresh_from_db(fields=["review_version"])
    return document.review_version


def _review(access: Access, document: Document) -> Review:
    access.require(STAFF_ROLES, STAFF_ONLY_MESSAGE)
    found = document_review(access.project, document.pk, role=None)
    if found is None:
        raise Document.DoesNotExist("No such document.")
    return found.review


def _missing_ends(review: Review, key: str, document: Document) -> list[tuple[str, str]]:
    """The ends of link ``key`` that are rejected or not in gold, as (key, why)."""
    link = next(link for link in review.links if link_key(link) == key)
    rejected = rejected_keys(document)
    missing = []
    for end in (link.head, link.tail):
        end_key = candidate_key(end)
        if end_key in rejected:
            missing.append((end_key, f"{end.label} “{end.quote}” ({end_key}) is rejected"))
        elif not end.in_gold:
            missing.append((end_key, f"{end.label} “{end.quote}” ({end_key}) is not in gold"))
    return missing


def _store(access: Access, document: Document, key: str, decision: str, version: int) -> None:
    before = ReviewDecision.objects.filter(document=document, key=key).first()
    row, _ = ReviewDecision.objects.update_or_create(
        document=document, key=key, defaults={"decision": decision, "decided_by": access.user}
    )
    record_event(
        actor=access.user,
        project=access.project,
        action=decision,
        obj=row,
        before={"decision": before.decision} if before else None,
        after={"document": document.pk, "key": key, "decision": decision, "version": version},
    )


@transaction.atomic
def decide(
    *,
    access: Access,
    document: Document,
    key: str,
    decision: str,
    version: int | None = None,
    with_ends: bool = False,
) -> int:
    """Accept or reject candidate ``key`` of ``document``; the new decisions version."""
    review = _review(access, document)
    if decision not in Decision.values:
        raise ValidationError({"decision": ["must be accept or reject"]})
    spans = {candidate_key(candidate) for candidate in review.candidates}
    links = {link_key(link) for link in review.links}
    if key not in spans | links:
        raise ValidationError({"key": [f"no candidate {key!r} on this document"]})
    missing = []
    if decision == Decision.ACCEPT and key in links:
        missing = _missing_ends(review, key, document)
        if missing and not with_ends:
            reasons = "; ".join(why for _, why in missing)
            them = "it" if len(missing) == 1 else "them"
            raise ValidationError(
                {
                    "with_ends": [
                        f"the link needs its end span: {reasons}; "
                        f"send with_ends: true to accept {them} too"
                    ]
                }
            )
    new_version = _bump_review_version(document, version)
    for end_key, _ in missing:
        _store(access, document, end_key, Decision.ACCEPT, new_version)
    _store(access, document, key, decision, new_version)
    return new_version


@transaction.atomic
def undo_decision(
    *, access: Access, document: Document, key: str, version: int | None = None
) -> int:
    """Take back the decision on candidate ``key``: it is open again. The new version."""
    access.require(STAFF_ROLES, STAFF_ONLY_MESSAGE)
    if document.project_id != access.project.pk:
        raise Document.DoesNotExist("No such document.")
    row = ReviewDecision.objects.filter(document=document, key=key).first()
    if row is None:
        raise ValidationError({"key": [f"no decision on {key!r} to undo"]})
    new_version = _bump_review_version(document, version)
    record_event(
        actor=access.user,
        project=access.project,
        action="undo_decision",
        obj=row,
        before={"decision": row.decision},
        after={"document": document.pk, "key": key, "decision": None, "version": new_version},
    )
    row.delete()
    return new_version
