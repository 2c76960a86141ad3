"""Time the claim matrix on a synthetic corpus in PostgreSQL.

    python bench/claims.py                  # 10,000 documents
    python bench/claims.py --documents 2000

The project: documents dated over September 2021, 3 annotators each with a submitted layer
of 3 claims linked to one of 40 propositions (stance drawn from the four), each claim
attributed to a source span linked to one of 60 source entities, and a gold layer on every
third document. It is written once with ``bulk_create`` (kept between runs in the bench
database, project ``claims-<size>``; ``--reseed`` writes it again).

Timed: ``claims.claim_matrix`` for a reviewer (gold where it exists, else annotators; then
annotators only; then a ten-day window) and ``claims.cell_mentions`` for the busiest cell.
The reference, in the same process: the same cells counted in Python from the records the
export streams (``selectors.iter_project_records``), which reads every span of the corpus;
the script prints both, their ratio, and whether their counts agree.

The database is ``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/
workbench_bench_claims``), created and migrated when missing; never one holding real data.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _scratch_db import ensure_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/workbench_bench_claims"
STANCES = ["asserts", "denies", "reports", "questions"]
TEXT = "Saleh said he is still in Panjshir. TASS reported that he left for Tajikistan. " * 4


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def build(slug: str, documents: int, seed: int) -> object:
    from django.contrib.auth.models import User
    from django.db import transaction

    from annotations.models import (
        CatalogueEntry,
        Document,
        LabelType,
        Layer,
        LayerStatus,
        Relation,
        Role,
        Span,
    )
    from annotations.services.projects import add_member, create_project

    rng = random.Random(seed)
    with transaction.atomic():
        reviewer, _ = User.objects.get_or_create(username="bench-reviewer")
        project = create_project(name=slug, slug=slug, created_by=reviewer)
        project.memberships.filter(user=reviewer).update(role=Role.REVIEWER)
        annotators = []
        for name in ("bench-a", "bench-b", "bench-c"):
            user, _ = User.objects.get_or_create(username=name)
            add_member(project=project, user=user, role=Role.ANNOTATOR)
            annotators.append(user)
        claim = LabelType.objects.get(project=project, name="claim")
        claim.catalogue, claim.stance_values = "proposition", STANCES
        claim.save()
        source = LabelType.objects.get(project=project, name="source")
        source.catalogue = "source"
        source.save()
        attributed = LabelType.objects.get(project=project, name="attributed_to")
        propositions = CatalogueEntry.objects.bulk_create(
            CatalogueEntry(project=project, kind="proposition", key=f"p{n}", name=f"Claim {n}")
            for n in range(40)
        )
        sources = CatalogueEntry.objects.bulk_create(
            CatalogueEntry(project=project, kind="source", key=f"s{n}", name=f"Source {n}")
            for n in range(60)
        )
        start = date(2021, 9, 1)
        docs = Document.objects.bulk_create(
            Document(
                project=project,
                external_id=f"{n:06d}",
                text=TEXT,
                meta={"published": (start + timedelta(days=n % 30)).isoformat()},
            )
            for n in range(documents)
        )
        layers = []
        for index, doc in enumerate(docs):
            for user in annotators:
                layers.append(Layer(document=doc, annotator=user, status=LayerStatus.SUBMITTED))
            if index % 3 == 0:
                layers.append(Layer(document=doc, is_gold=True, status=LayerStatus.SUBMITTED))
        layers = Layer.objects.bulk_create(layers, batch_size=5000)
        spans = []
        for layer in layers:
            for _ in range(3):
                spans.append(
                    Span(
                        layer=layer,
                        label=claim,
                        start=0,
                        end=34,
                        quote=TEXT[0:34],
                        entry=rng.choice(propositions),
                        stance=rng.choice(STANCES),
                    )
                )
                spans.append(
                    Span(
                        layer=layer,
                        label=source,
                        start=36,
                        end=40,
                        quote=TEXT[36:40],
                        entry=rng.choice(sources),
                    )
                )
        spans = Span.objects.bulk_create(spans, batch_size=5000)
        Relation.objects.bulk_create(
            (
                Relation(layer_id=head.layer_id, label=attributed, head=head, tail=tail)
                for head, tail in zip(spans[::2], spans[1::2], strict=True)
            ),
            batch_size=5000,
        )
    return project


def reference_cells(project: object) -> Counter[tuple[str, str, str]]:
    """The cells counted from the export's records: gold where it exists, else every
    submitted annotator layer; (proposition key, source key, stance) -> mentions."""
    from annotations.models import CatalogueEntry
    from annotations.selectors import iter_project_records

    approved = dict(
        CatalogueEntry.objects.filter(project=project, status="approved").values_list("key", "kind")
    )
    cells: Counter[tuple[str, str, str]] = Counter()
    for record in iter_project_records(project):  # type: ignore[arg-type]
        layers = [(record.gold, record.gold_relations)] if record.gold_state else []
        if not layers:
            layers = [
                (spans, record.relations.get(name, []))
                for name, spans in record.annotations.items()
            ]
        for spans, relations in layers:
            for relation in relations:
                for claim, other in (
                    (relation.head, relation.tail),
                    (relation.tail, relation.head),
                ):
                    c, s = spans[claim], spans[other]
                    if approved.get(c.entry or "") == "proposition" and (
                        approved.get(s.entry or "") == "source"
                    ):
                        cells[c.entry, s.entry, c.stance] += 1
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotations.access import resolve_access
    from annotations.models import Project
    from annotations.services import claims

    slug = f"claims-{args.documents}"
    project = Project.objects.filter(slug=slug).first()
    if project is not None and args.reseed:
        project.delete()
        project = None
    if project is None:
        began = time.perf_counter()
        project = build(slug, args.documents, args.seed)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # the planner's figures for the rows just written
        print(f"built {slug} in {time.perf_counter() - began:.1f} s")
    from django.contrib.auth.models import User

    access = resolve_access(User.objects.get(username="bench-reviewer"), slug=slug)
    print(f"claim matrix bench: {args.documents:,} documents, {os.cpu_count()} cores")

    def timed(label: str, filters: claims.MatrixFilters) -> claims.ClaimMatrix:
        began = time.perf_counter()
        matrix = claims.claim_matrix(access, filters)
        print(f"{label}: {time.perf_counter() - began:.2f} s ({matrix.mentions:,} mentions)")
        return matrix

    timed("matrix, warm-up", claims.MatrixFilters())
    began = time.perf_counter()
    matrix = claims.claim_matrix(access, claims.MatrixFilters())
    ours = time.perf_counter() - began
    print(f"matrix, gold where it exists else annotators: {ours:.2f} s ({matrix.mentions:,})")
    timed("matrix, annotators only", claims.MatrixFilters(layer="annotators"))
    timed(
        "matrix, ten days",
        claims.MatrixFilters(date_from=date(2021, 9, 5), date_to=date(2021, 9, 14)),
    )
    busiest = max(
        ((row, cell) for row in matrix.rows for cell in row.cells), key=lambda pair: pair[1].total
    )
    began = time.perf_counter()
    shown, total = claims.cell_mentions(
        access, claims.MatrixFilters(), busiest[0].entry.pk, str(busiest[1].source_id)
    )
    print(
        f"busiest cell's mentions ({len(shown)} of {total:,}): {time.perf_counter() - began:.2f} s"
    )

    began = time.perf_counter()
    reference = reference_cells(project)
    theirs = time.perf_counter() - began
    keys = {column.entry.pk: column.entry.key for column in matrix.columns if column.entry}
    found: Counter[tuple[str, str, str]] = Counter()
    for row in matrix.rows:
        for cell in row.cells:
            if cell.source_id is not None:
                for stance, count in cell.counts.items():
                    found[row.entry.key, keys[cell.source_id], stance] += count
    print(f"reference, cells from the streamed export records: {theirs:.2f} s")
    print(f"ratio reference / matrix: {theirs / ours:.1f}x; counts agree: {found == reference}")


if __name__ == "__main__":
    main()
