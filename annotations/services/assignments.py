"""Handing documents to annotators, k per document."""

from __future__ import annotations

from collections import Counter

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.models import Assignment, Document, Layer, Project, Role
from annotations.services.audit import record_event


@transaction.atomic
def assign_documents(
    *,
    project: Project,
    overlap: int | None = None,
    actor: User | None = None,
) -> list[Assignment]:
    """Assign every document to ``overlap`` annotators (the project's k by default).

    Balanced and deterministic: documents in id order each go to the annotators with the
    fewest assignments so far, ties broken by username. A document never gets more than k
    annotators, documents that have k already are left alone, and running it again adds
    nothing. Each assignment comes with the annotator's empty layer. Returns the new ones.
    """
    k = overlap if overlap is not None else project.overlap
    annotators = list(
        get_user_model()
        .objects.filter(memberships__project=project, memberships__role=Role.ANNOTATOR)
        .order_by("username")
    )
    if k < 1:
        raise ValidationError({"overlap": ["must be at least 1"]})
    if len(annotators) < k:
        raise ValidationError(
            {"overlap": [f"the project has {len(annotators)} annotators, fewer than k={k}"]}
        )
    existing: dict[int, set[int]] = {}
    for document_id, annotator_id in Assignment.objects.filter(
        document__project=project
    ).values_list("document_id", "annotator_id"):
        existing.setdefault(document_id, set()).add(annotator_id)
    load = Counter({user.pk: 0 for user in annotators})
    for annotator_ids in existing.values():
        load.update(uid for uid in annotator_ids if uid in load)
    order = {user.pk: position for position, user in enumerate(annotators)}

    new_assignments: list[Assignment] = []
    for document_id in (
        Document.objects.filter(project=project).order_by("id").values_list("id", flat=True)
    ):
        taken = existing.get(document_id, set())
        wanted = k - len(taken)
        if wanted <= 0:
            continue
        candidates = sorted(
            (uid for uid in load if uid not in taken), key=lambda uid: (load[uid], order[uid])
        )
        for annotator_id in candidates[:wanted]:
            load[annotator_id] += 1
            new_assignments.append(Assignment(document_id=document_id, annotator_id=annotator_id))

    Assignment.objects.bulk_create(new_assignments, batch_size=1000)
    Layer.objects.bulk_create(
        [Layer(document_id=a.document_id, annotator_id=a.annotator_id) for a in new_assignments],
        batch_size=1000,
        ignore_conflicts=True,
    )
    if new_assignments:
        record_event(
            actor=actor,
            project=project,
            action="assign",
            object_type="assignment",
            after={"overlap": k, "created": len(new_assignments)},
        )
    return new_assignments
