"""Catalogue links on imported spans, for the tests of what measures or shows them."""

from __future__ import annotations

from annotations.models import CatalogueEntry, LabelType, Project, Span


def link_claims(project: Project) -> None:
    """Link every claim span to one of two propositions and every source span to one
    entity, by where the span starts (annotators who agree on a span agree on its link)."""
    LabelType.objects.filter(project=project, name="claim").update(
        catalogue="proposition", stance_values=["asserts", "denies"]
    )
    LabelType.objects.filter(project=project, name="source").update(catalogue="source")
    fled, stays, tass = (
        CatalogueEntry.objects.create(project=project, kind=kind, key=key, name=key)
        for kind, key in (("proposition", "fled"), ("proposition", "stays"), ("source", "tass"))
    )
    for span in Span.objects.filter(layer__document__project=project, label__name="claim"):
        span.entry = fled if span.start % 3 else stays
        span.stance = "asserts" if span.start % 2 else "denies"
        span.save(update_fields=["entry", "stance"])
    Span.objects.filter(layer__document__project=project, label__name="source").update(entry=tass)
