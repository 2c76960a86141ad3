"""A small world of linked claims for the claim matrix tests: a schema whose claim label
links to propositions and whose source label links to source entities, catalogue entries,
and mentions (a claim span linked to a proposition, with its stance, attributed to a
source span linked to a source entity)."""

from __future__ import annotations

from dataclasses import dataclass

from annotations.models import (
    CatalogueEntry,
    CatalogueKind,
    Document,
    LabelType,
    Layer,
    LayerStatus,
    Project,
    Relation,
    Span,
)
from tests.factories import DocumentFactory

TEXT = "Saleh said he is still in Panjshir. TASS reported that he left."
STANCES = ["asserts", "denies", "reports", "questions"]


@dataclass
class Schema:
    claim: LabelType
    source: LabelType
    attributed_to: LabelType


def link_schema(project: Project) -> Schema:
    """The news claims preset with claims linked to propositions, sources to entities."""
    claim = LabelType.objects.get(project=project, name="claim")
    claim.catalogue = CatalogueKind.PROPOSITION
    claim.stance_values = list(STANCES)
    claim.save()
    source = LabelType.objects.get(project=project, name="source")
    source.catalogue = CatalogueKind.SOURCE
    source.save()
    return Schema(claim, source, LabelType.objects.get(project=project, name="attributed_to"))


def proposition(project: Project, key: str, name: str, **kwargs) -> CatalogueEntry:
    return CatalogueEntry.objects.create(
        project=project, kind=CatalogueKind.PROPOSITION, key=key, name=name, **kwargs
    )


def source_entity(project: Project, key: str, name: str, **kwargs) -> CatalogueEntry:
    kwargs.setdefault("source_kind", "person")
    return CatalogueEntry.objects.create(
        project=project, kind=CatalogueKind.SOURCE, key=key, name=name, **kwargs
    )


def document(project: Project, external_id: str, day: str | None) -> Document:
    meta = {"published": day} if day else {}
    return DocumentFactory(project=project, external_id=external_id, text=TEXT, meta=meta)


def layer(doc: Document, annotator=None, *, submitted: bool = True) -> Layer:
    """An annotator's layer (or gold, with no annotator) of ``doc``."""
    status = LayerStatus.SUBMITTED if submitted else LayerStatus.OPEN
    made, _ = Layer.objects.update_or_create(
        document=doc,
        annotator=annotator,
        is_gold=annotator is None,
        defaults={"status": status},
    )
    return made


def mention(
    schema: Schema,
    on: Layer,
    entry: CatalogueEntry,
    stance: str,
    *sources: CatalogueEntry,
    reverse: bool = False,
) -> Span:
    """A claim span on ``on`` linked to ``entry`` with ``stance``, attributed to a source
    span for each of ``sources`` (``reverse``: the relation drawn from source to claim)."""
    claim = Span.objects.create(
        layer=on, label=schema.claim, start=0, end=34, quote=TEXT[0:34], entry=entry, stance=stance
    )
    for source in sources:
        said = Span.objects.create(
            layer=on, label=schema.source, start=0, end=5, quote=TEXT[0:5], entry=source
        )
        head, tail = (said, claim) if reverse else (claim, said)
        Relation.objects.create(layer=on, label=schema.attributed_to, head=head, tail=tail)
    return claim
