"""How an import writes: ids across batches, all or nothing, the same rows on either path.

On PostgreSQL the import writes with COPY in a thread of its own (``_CopyWriter``); the
portable path (``_OrmWriter``, the demo's SQLite) uses ``bulk_create``. Both run here on
PostgreSQL and must store the same project.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from annotations import models
from annotations.interchange import (
    GOLD_FINAL,
    GOLD_IN_PROGRESS,
    DocumentRecord,
    Relation,
    Span,
    dump_catalogue_record,
    dump_record,
)
from annotations.models import (
    Assignment,
    AssignmentStatus,
    Document,
    Layer,
    LayerStatus,
    Membership,
    Role,
)
from annotations.selectors import catalogue_records, iter_project_records
from annotations.services import imports
from annotations.services.imports import (
    ImportRejected,
    _CopyWriter,
    _OrmWriter,
    _Problems,
    _Writer,
    import_file,
)
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

SENTENCE = "Saleh said in a video message that he had not fled and Kabul sources denied it"
WORDS = SENTENCE.split()


def record(number: int, annotators: tuple[str, ...] = ("alice", "bob", "carol")) -> DocumentRecord:
    """A document whose layers list their spans out of order, linked by index."""
    text = " ".join(WORDS[(number + i) % len(WORDS)] for i in range(40)) + f" ({number})"
    edges, position = [], 0
    for word in text.split(" "):
        edges.append((position, position + len(word)))
        position += len(word) + 1

    def layer(shift: int) -> tuple[list[Span], list[Relation]]:
        spans = [
            Span(edges[30 + shift][0], edges[33 + shift][1], "claim"),
            Span(edges[shift][0], edges[shift][1], "source", {"kind": "person"}),
            Span(edges[10 + shift][0], edges[14 + shift][1], "claim"),
            Span(edges[5 + shift][0], edges[6 + shift][1], "sentiment", {"polarity": "negative"}),
            Span(edges[20 + shift][0], edges[20 + shift][1], "source", {"kind": "media"}),
        ]
        return spans, [Relation("attributed_to", 2, 1), Relation("attributed_to", 0, 4)]

    made = DocumentRecord(id=f"doc-{number:03d}", text=text, meta={"n": number, "outlet": "WION"})
    for shift, name in enumerate(annotators):
        made.annotations[name], made.relations[name] = layer(shift)
    if number % 2 == 0:
        made.gold, made.gold_relations = layer(3)
        made.gold_state = GOLD_FINAL if number % 4 == 0 else GOLD_IN_PROGRESS
    return made


def jsonl(records: list[DocumentRecord], tail: str = "") -> bytes:
    return ("".join(dump_record(r) for r in records) + tail).encode()


def exported(project) -> list[str]:
    return [dump_record(r) for r in iter_project_records(project)]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    """Batches of 3 documents, so that a file of a few documents crosses several."""
    monkeypatch.setattr(imports, "BATCH", 3)
    return 3


def test_relations_point_at_their_spans_across_batches(small_batches: int) -> None:
    project = ProjectFactory()
    records = [record(n) for n in range(3 * small_batches + 2)]

    summary = import_file(project=project, filename="corpus.jsonl", data=jsonl(records))

    assert summary.documents == len(records)
    assert models.Relation.objects.filter(layer__document__project=project).count() == (
        summary.relations
    )
    by_id = {r.id: r for r in records}
    for relation in models.Relation.objects.filter(layer__document__project=project).select_related(
        "head", "tail", "layer__document", "layer__annotator"
    ):
        layer = relation.layer
        source = by_id[layer.document.external_id]
        spans = source.gold if layer.is_gold else source.annotations[layer.annotator.username]
        links = (
            source.gold_relations if layer.is_gold else source.relations[layer.annotator.username]
        )
        assert relation.head.layer_id == relation.tail.layer_id == layer.pk
        ends = {
            (
                (spans[link.head].start, spans[link.head].end),
                (spans[link.tail].start, spans[link.tail].end),
            )
            for link in links
        }
        assert (
            (relation.head.start, relation.head.end),
            (relation.tail.start, relation.tail.end),
        ) in ends
    # Every span's quote is its text's slice, whichever batch wrote it.
    for span in models.Span.objects.filter(layer__document__project=project).select_related(
        "layer__document"
    ):
        assert span.quote == span.layer.document.text[span.start : span.end]


def test_the_round_trip_gives_the_same_bytes_across_batches(small_batches: int) -> None:
    project = ProjectFactory()
    records = [record(n) for n in range(2 * small_batches + 1)]
    data = jsonl(records)

    import_file(project=project, filename="corpus.jsonl", data=data)

    assert "".join(exported(project)).encode() == data


def test_a_bad_line_at_the_very_end_writes_nothing(small_batches: int) -> None:
    project = ProjectFactory()
    records = [record(n, annotators=("dora", "eve")) for n in range(4 * small_batches)]
    span = {"start": 0, "end": 99, "label": "claim"}
    bad = json.dumps({"id": "last", "text": "short", "annotations": {"dora": [span]}}) + "\n"

    with pytest.raises(ImportRejected) as rejected:
        import_file(project=project, filename="corpus.jsonl", data=jsonl(records, tail=bad))

    assert [(e.line, e.reason) for e in rejected.value.errors] == [
        (
            len(records) + 1,
            "annotations.dora[0].end: must be at most the text's length (5 code points)",
        )
    ]
    assert not Document.objects.filter(project=project).exists()
    assert not Layer.objects.filter(document__project=project).exists()
    assert not models.Span.objects.exists()
    assert not get_user_model().objects.filter(username__in=["dora", "eve"]).exists()


def test_a_clash_with_the_project_found_late_writes_nothing(small_batches: int) -> None:
    project = ProjectFactory()
    import_file(project=project, filename="first.jsonl", data=jsonl([record(9)]))
    records = [record(n) for n in range(3 * small_batches)] + [record(9)]

    with pytest.raises(ImportRejected) as rejected:
        import_file(project=project, filename="second.jsonl", data=jsonl(records))

    assert [e.line for e in rejected.value.errors] == [len(records)]
    assert list(Document.objects.filter(project=project).values_list("external_id", flat=True)) == [
        "doc-009"
    ]


def test_gold_and_submitted_layers_and_their_assignments(small_batches: int) -> None:
    project = ProjectFactory()
    import_file(
        project=project,
        filename="corpus.jsonl",
        data=jsonl([record(0), record(1, ("alice",)), record(2, ("bob",))]),
    )

    layers = Layer.objects.filter(document__project=project).select_related("annotator", "document")
    found = {
        (layer.document.external_id, layer.annotator.username if layer.annotator else None)
        for layer in layers
    }
    assert found == {
        ("doc-000", "alice"),
        ("doc-000", "bob"),
        ("doc-000", "carol"),
        ("doc-000", None),
        ("doc-001", "alice"),
        ("doc-002", "bob"),
        ("doc-002", None),
    }
    for layer in layers:
        assert layer.version == 1
        if layer.annotator is None:  # doc-000's gold is final, doc-002's in progress
            final = layer.document.external_id == "doc-000"
            assert layer.is_gold
            assert layer.status == (LayerStatus.SUBMITTED if final else LayerStatus.OPEN)
            assert (layer.submitted_at is not None) == final
        else:
            assert not layer.is_gold
            assert layer.status == LayerStatus.SUBMITTED
            assert layer.submitted_at is not None
    assignments = Assignment.objects.filter(document__project=project)
    assert sorted((a.document.external_id, a.annotator.username) for a in assignments) == [
        ("doc-000", "alice"),
        ("doc-000", "bob"),
        ("doc-000", "carol"),
        ("doc-001", "alice"),
        ("doc-002", "bob"),
    ]
    for assignment in assignments:
        assert assignment.status == AssignmentStatus.SUBMITTED
        assert assignment.started_at is not None
        assert assignment.finished_at is not None
        assert assignment.active_seconds == 0.0
        assert assignment.skip_reason == ""
    source = models.Span.objects.get(
        layer__document__external_id="doc-000",
        layer__annotator__username="bob",
        attributes__kind="media",
    )
    assert source.label.name == "source"
    assert source.attributes == {"kind": "media"}


def test_new_annotators_are_accounts_without_a_usable_password() -> None:
    project = ProjectFactory()
    summary = import_file(
        project=project, filename="corpus.jsonl", data=jsonl([record(0, ("zoe",))])
    )

    assert summary.created_users == ["zoe"]
    zoe = get_user_model().objects.get(username="zoe")
    assert not zoe.has_usable_password()
    assert Membership.objects.get(project=project, user=zoe).role == Role.ANNOTATOR


@pytest.mark.parametrize("writer_class", [_CopyWriter, _OrmWriter])
def test_both_writing_paths_store_the_same_project(writer_class: type[_Writer]) -> None:
    project = ProjectFactory()
    records = [record(n) for n in range(5)]
    writer = writer_class(project, _Problems("corpus"))
    with writer.running():
        for record_ in records:
            writer.check(record_)
        writer.write([(None, r) for r in records[:2]])
        writer.write([(None, r) for r in records[2:]])

    assert (writer.summary.documents, writer.summary.spans, writer.summary.relations) == (
        5,
        5 * 5 * 3 + 3 * 5,
        5 * 2 * 3 + 3 * 2,
    )
    assert exported(project) == [dump_record(r) for r in records]


def test_ids_scattered_by_other_writers_still_link_the_right_spans(small_batches: int) -> None:
    # Sequences that step by 3 give ids with gaps, as when other writers take numbers
    # between ours: the import must use the ids it was given, not assume a run.
    with connection.cursor() as cursor:
        for table in ("annotations_document", "annotations_layer", "annotations_span"):
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET INCREMENT BY 3")
    project = ProjectFactory()
    records = [record(n) for n in range(2 * small_batches + 1)]

    import_file(project=project, filename="corpus.jsonl", data=jsonl(records))

    assert exported(project) == [dump_record(r) for r in records]


def replication_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        return cursor.fetchone()[0]


def test_a_role_that_may_skips_the_key_checks_and_writes_after_it_are_checked_again() -> None:
    project = ProjectFactory()
    records = [record(n) for n in range(3)]

    import_file(project=project, filename="corpus.jsonl", data=jsonl(records))

    # The test database's role is a superuser: the import ran without the checks, and
    # the rest of the transaction has them back.
    assert replication_role() == "origin"
    with transaction.atomic():
        assert imports._skip_key_checks(project) is True
        assert replication_role() == "replica"
        connection.cursor().execute("SET LOCAL session_replication_role = DEFAULT")
    assert "".join(exported(project)).encode() == jsonl(records)
    with pytest.raises(IntegrityError), transaction.atomic():
        Layer.objects.create(document_id=Document.objects.order_by("-pk")[0].pk + 1000)


@pytest.fixture
def plain_role():
    """The rest of the test runs as a role that owns nothing and is no superuser."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE workbench_plain_importer NOLOGIN")
        for grant in (
            "USAGE ON SCHEMA public",
            "ALL ON ALL TABLES IN SCHEMA public",
            "ALL ON ALL SEQUENCES IN SCHEMA public",
        ):
            cursor.execute(f"GRANT {grant} TO workbench_plain_importer")
        cursor.execute("SET LOCAL ROLE workbench_plain_importer")
    # The test's transaction is rolled back: the role and its grants go with it.


def test_a_role_that_may_not_skip_them_imports_with_the_checks(plain_role) -> None:
    project = ProjectFactory()
    records = [record(n) for n in range(3)]

    summary = import_file(project=project, filename="corpus.jsonl", data=jsonl(records))

    assert summary.documents == 3
    with transaction.atomic():
        assert imports._skip_key_checks(project) is False
    assert replication_role() == "origin"
    assert "".join(exported(project)).encode() == jsonl(records)


CATALOGUE = (
    '{"key": "saleh-fled", "kind": "proposition", "name": "Saleh fled to Tajikistan", '
    '"source_kind": "", "description": "", "status": "approved"}\n'
    '{"key": "tass", "kind": "source", "name": "TASS", "source_kind": "agency", '
    '"description": "Russian news agency", "status": "proposed"}\n'
)


def linked_record(number: int) -> DocumentRecord:
    """``record(number)`` with its claims linked to a proposition and its sources to TASS."""
    made = record(number)
    for name, spans in made.annotations.items():
        made.annotations[name] = [
            span._replace(entry="saleh-fled", stance="asserts")
            if span.label == "claim"
            else span._replace(entry="tass")
            if span.label == "source"
            else span
            for span in spans
        ]
    return made


@pytest.mark.parametrize("writer_class", [_CopyWriter, _OrmWriter])
def test_both_writing_paths_store_links_and_the_catalogue(
    writer_class: type[_Writer], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = ProjectFactory()
    models.LabelType.objects.filter(project=project, name="claim").update(
        catalogue="proposition", stance_values=["asserts", "denies"]
    )
    models.LabelType.objects.filter(project=project, name="source").update(catalogue="source")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        # The entries come after the documents here: the import reads them first anyway.
        zipped.writestr("documents.jsonl", jsonl([linked_record(n) for n in range(3)]))
        zipped.writestr("catalogues.jsonl", CATALOGUE)
    # The path under test, whichever this database would choose.
    monkeypatch.setattr(imports, "_CopyWriter", writer_class)
    summary = import_file(project=project, filename="corpus.zip", data=archive.getvalue())
    assert summary.entries == 2
    assert exported(project) == [dump_record(linked_record(n)) for n in range(3)]
    assert "".join(dump_catalogue_record(r) for r in catalogue_records(project)) == CATALOGUE


def test_a_span_naming_an_unknown_entry_rejects_the_file() -> None:
    project = ProjectFactory()
    models.LabelType.objects.filter(project=project, name="claim").update(catalogue="proposition")
    bad = record(0)
    bad.annotations["alice"][0] = bad.annotations["alice"][0]._replace(entry="nobody")
    with pytest.raises(ImportRejected) as refused:
        import_file(project=project, filename="corpus.jsonl", data=jsonl([bad]))
    assert "entry: no proposition named 'nobody'" in str(refused.value)
    assert not Document.objects.filter(project=project).exists()
