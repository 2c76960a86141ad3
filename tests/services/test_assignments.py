from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from annotations.models import Assignment, AssignmentStatus, AuditEvent, Layer, Membership, Role
from annotations.services import assignments as service
from annotations.services import layers as layer_service
from annotations.services.assignments import assign_documents
from annotations.services.projects import add_member, change_member_role, remove_member
from tests.access import layer_access, project_access
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_annotators(cast):
    for name in ("carol", "dave", "erin"):
        add_member(project=cast.project, user=UserFactory(username=name), role=Role.ANNOTATOR)
    DocumentFactory.create_batch(10, project=cast.project)
    return cast.project


def per_document():
    return Counter(Assignment.objects.values_list("document_id", flat=True))


def per_annotator():
    return Counter(Assignment.objects.values_list("annotator__username", flat=True))


def pairs():
    return set(Assignment.objects.values_list("document__external_id", "annotator__username"))


def manager(cast):
    return project_access(cast.manager, cast.project)


def start(user, document):
    """``user`` writes a span on their layer of ``document``: the work has started."""
    layer = Layer.objects.get(document=document, annotator=user)
    layer_service.create_span(access=layer_access(user, layer), label="claim", start=0, end=5)
    return layer


def test_each_document_gets_exactly_k_annotators_and_loads_are_balanced(five_annotators):
    assign_documents(project=five_annotators, overlap=3)

    assert set(per_document().values()) == {3}
    assert sorted(per_annotator().values()) == [6, 6, 6, 6, 6]


def test_assignment_is_deterministic(five_annotators):
    assign_documents(project=five_annotators, overlap=2)
    first = pairs()
    Assignment.objects.all().delete()
    Layer.objects.all().delete()

    assign_documents(project=five_annotators, overlap=2)

    assert pairs() == first


def test_running_again_adds_nothing_and_new_documents_are_topped_up(five_annotators):
    assign_documents(project=five_annotators, overlap=2)
    assert assign_documents(project=five_annotators, overlap=2) == []

    DocumentFactory(project=five_annotators)
    added = assign_documents(project=five_annotators, overlap=2)

    assert len(added) == 2
    assert max(per_document().values()) == 2


def test_each_assignment_comes_with_an_empty_open_layer(five_annotators):
    assign_documents(project=five_annotators, overlap=2)

    pairs = set(Assignment.objects.values_list("document_id", "annotator_id"))
    layers = set(Layer.objects.values_list("document_id", "annotator_id"))
    assert pairs == layers
    assert not Layer.objects.filter(spans__isnull=False).exists()


def test_with_fewer_annotators_than_k_each_document_gets_everyone_and_is_reported(cast):
    DocumentFactory.create_batch(2, project=cast.project)

    plan = service.apply_plan(manager(cast), overlap=3)

    assert set(per_document().values()) == {2}
    assert plan.unfillable == 2
    assert len(plan.unfillable_examples) == 2


def test_balance_counts_open_work_only(five_annotators, cast):
    # alice has finished ten documents elsewhere in the project; bob has five open ones.
    done = DocumentFactory.create_batch(10, project=five_annotators)
    busy = DocumentFactory.create_batch(5, project=five_annotators)
    Assignment.objects.bulk_create(
        [Assignment(document=d, annotator=cast.alice, status="submitted") for d in done]
        + [Assignment(document=d, annotator=cast.bob) for d in busy]
    )
    Layer.objects.bulk_create([Layer(document=d, annotator=cast.bob) for d in busy])

    plan = service.preview_plan(manager(cast), overlap=1)

    rows = {row.username: row for row in plan.annotators}
    assert rows["bob"].open_before == 5
    assert rows["alice"].open_before == 0
    # 10 unassigned documents, plus bob's 5 open: each ends with 3 open documents.
    assert {name: row.open_after for name, row in rows.items()} == {
        "alice": 3,
        "bob": 5,
        "carol": 3,
        "dave": 2,
        "erin": 2,
    }


def test_never_the_same_person_twice_on_a_document(five_annotators):
    assign_documents(project=five_annotators, overlap=5)
    assign_documents(project=five_annotators, overlap=5)

    assert Assignment.objects.count() == 50
    assert len(set(Assignment.objects.values_list("document_id", "annotator_id"))) == 50


def test_preview_writes_nothing_and_apply_does_what_it_showed(five_annotators, cast):
    before = (Assignment.objects.count(), Layer.objects.count(), AuditEvent.objects.count())

    preview = service.preview_plan(manager(cast), overlap=3)

    assert (Assignment.objects.count(), Layer.objects.count(), AuditEvent.objects.count()) == (
        before
    )
    five_annotators.refresh_from_db()
    assert five_annotators.overlap == 2
    assert preview.added == 30
    assert preview.unassigned == preview.under_filled == 10
    applied = service.apply_plan(manager(cast), overlap=3)
    assert applied == preview
    assert {row.username: row.added for row in preview.annotators} == dict(per_annotator())


def test_raising_k_adds_the_missing_annotators(five_annotators, cast):
    service.apply_plan(manager(cast))
    first = pairs()

    service.apply_plan(manager(cast), overlap=3)

    assert set(per_document().values()) == {3}
    assert first <= pairs()
    five_annotators.refresh_from_db()
    assert five_annotators.overlap == 3
    change = AuditEvent.objects.get(action="update", object_type="project")
    assert (change.before, change.after) == ({"overlap": 2}, {"overlap": 3})


def test_lowering_k_removes_only_unstarted_work(five_annotators, cast):
    service.apply_plan(manager(cast), overlap=3)
    documents = list(five_annotators.documents.order_by("id"))
    started = {}
    for document in documents[:4]:
        # Everyone on the first four documents starts them.
        for assignment in Assignment.objects.filter(document=document):
            started[(document.pk, assignment.annotator_id)] = start(assignment.annotator, document)

    plan = service.apply_plan(manager(cast), overlap=1)

    counts = per_document()
    assert [counts[d.pk] for d in documents] == [3, 3, 3, 3] + [1] * 6
    assert plan.removed == 12
    for (document_id, annotator_id), layer in started.items():
        assert Layer.objects.get(pk=layer.pk).spans.count() == 1
        assert Assignment.objects.filter(document_id=document_id, annotator_id=annotator_id)
    # The removed assignments left with their empty layers.
    assert set(Assignment.objects.values_list("document_id", "annotator_id")) == set(
        Layer.objects.filter(annotator__isnull=False).values_list("document_id", "annotator_id")
    )


def test_a_saved_empty_layer_counts_as_started(five_annotators, cast):
    document = DocumentFactory(project=five_annotators)
    service.apply_plan(manager(cast))
    layer = Layer.objects.filter(document=document).first()
    # Saved with nothing in it: the version moves on, the assignment stays "assigned".
    Layer.objects.filter(pk=layer.pk).update(version=2)

    service.apply_plan(manager(cast), overlap=1)

    assert Assignment.objects.filter(document=document, annotator=layer.annotator).exists()


def test_removing_an_annotator_keeps_started_work_and_frees_the_rest(five_annotators, cast):
    service.apply_plan(manager(cast))
    alice_docs = list(
        five_annotators.documents.filter(assignments__annotator=cast.alice).order_by("id")
    )
    begun = start(cast.alice, alice_docs[0])
    submitted = start(cast.alice, alice_docs[1])
    layer_service.submit_layer(access=layer_access(cast.alice, submitted))
    membership = Membership.objects.get(project=five_annotators, user=cast.alice)

    remove_member(access=manager(cast), membership=membership)

    left = Assignment.objects.filter(annotator=cast.alice)
    assert sorted(left.values_list("document_id", flat=True)) == [d.pk for d in alice_docs[:2]]
    assert set(Layer.objects.filter(annotator=cast.alice)) == {begun, submitted}
    event = AuditEvent.objects.get(action="unassign")
    assert event.after == {"user": "alice", "released": len(alice_docs) - 2}
    # The pool: the freed documents; the next apply gives them to the others.
    plan = service.preview_plan(manager(cast))
    assert plan.under_filled == len(alice_docs) - 1
    service.apply_plan(manager(cast))
    counts = per_document()
    # The submitted layer still counts for k; the one in progress does not.
    assert counts[alice_docs[0].pk] == 3
    assert counts[alice_docs[1].pk] == 2
    assert all(counts[d.pk] == 2 for d in alice_docs[2:])


def test_a_role_change_away_from_annotator_frees_unstarted_work(five_annotators, cast):
    service.apply_plan(manager(cast))
    begun_on = Assignment.objects.filter(annotator=cast.bob).order_by("document_id").first()
    start(cast.bob, begun_on.document)
    membership = Membership.objects.get(project=five_annotators, user=cast.bob)

    change_member_role(access=manager(cast), membership=membership, role=Role.REVIEWER)

    assert list(Assignment.objects.filter(annotator=cast.bob)) == [begun_on]
    assert Layer.objects.filter(annotator=cast.bob).count() == 1


def test_an_unstarted_assignment_of_someone_gone_is_taken_back_by_apply(five_annotators, cast):
    service.apply_plan(manager(cast))
    # Removed behind the services' back (the admin): apply cleans up all the same.
    Membership.objects.filter(project=five_annotators, user__username="erin").delete()

    plan = service.apply_plan(manager(cast))

    erin = next(row for row in plan.annotators if row.username == "erin")
    assert not erin.is_annotator
    assert (erin.removed, erin.open_after) == (4, 0)
    assert not Assignment.objects.filter(annotator__username="erin").exists()
    assert set(per_document().values()) == {2}


def test_reassign_moves_unstarted_work_with_its_layer(five_annotators, cast):
    service.apply_plan(manager(cast))
    assignment = Assignment.objects.filter(annotator=cast.alice).first()
    document = assignment.document
    to = next(
        u
        for u in ("carol", "dave", "erin")
        if not Assignment.objects.filter(document=document, annotator__username=u)
    )

    service.reassign_named(
        access=manager(cast), document=document.external_id, from_user="alice", to_user=to
    )

    assert not Assignment.objects.filter(document=document, annotator=cast.alice)
    assert not Layer.objects.filter(document=document, annotator=cast.alice)
    assert Assignment.objects.get(document=document, annotator__username=to).status == "assigned"
    assert Layer.objects.filter(document=document, annotator__username=to).exists()
    assert AuditEvent.objects.filter(action="reassign").count() == 1


def test_reassign_of_started_work_needs_the_flag_and_keeps_the_old_layer(five_annotators, cast):
    service.apply_plan(manager(cast))
    document = Assignment.objects.filter(annotator=cast.alice).first().document
    to = next(
        u
        for u in ("carol", "dave", "erin")
        if not Assignment.objects.filter(document=document, annotator__username=u)
    )
    layer = start(cast.alice, document)

    with pytest.raises(ValidationError) as refused:
        service.reassign_named(
            access=manager(cast), document=document.external_id, from_user="alice", to_user=to
        )
    assert "keep_started" in refused.value.message_dict
    service.reassign_named(
        access=manager(cast),
        document=document.external_id,
        from_user="alice",
        to_user=to,
        keep_started=True,
    )

    assert Layer.objects.get(pk=layer.pk).spans.count() == 1
    assert not Assignment.objects.filter(document=document, annotator=cast.alice)
    assert Assignment.objects.filter(document=document, annotator__username=to)


@pytest.mark.parametrize(
    ("to_user", "field", "reason"),
    [
        ("bob-or-alice", "to_user", "already on this document"),
        ("reviewer", "to_user", "not an annotator"),
        ("nobody", "to_user", "no user named"),
        ("alice", "to_user", "someone else"),
    ],
)
def test_reassign_refusals(cast, to_user, field, reason):
    document = DocumentFactory(project=cast.project)
    service.apply_plan(project_access(cast.manager, cast.project))
    if to_user == "bob-or-alice":
        to_user = "bob"

    with pytest.raises(ValidationError) as refused:
        service.reassign_named(
            access=manager(cast), document=document.external_id, from_user="alice", to_user=to_user
        )

    assert reason in " ".join(refused.value.message_dict[field])
    assert Assignment.objects.filter(document=document, annotator=cast.alice).exists()


def test_reassign_refuses_an_unknown_document_and_someone_not_on_it(cast):
    DocumentFactory(project=cast.project, external_id="a")
    add_member(project=cast.project, user=UserFactory(username="carol"), role=Role.ANNOTATOR)

    with pytest.raises(ValidationError) as refused:
        service.reassign_named(access=manager(cast), document="zzz", from_user="x", to_user="y")
    assert set(refused.value.message_dict) == {"document", "from_user", "to_user"}
    with pytest.raises(ValidationError) as refused:
        service.reassign_named(access=manager(cast), document="a", from_user="bob", to_user="carol")
    assert "not on this document" in refused.value.message_dict["from_user"][0]


@pytest.mark.parametrize("who", ["alice", "reviewer"])
def test_only_managers_plan_and_reassign(cast, who):
    access = project_access(getattr(cast, who), cast.project)

    with pytest.raises(PermissionDenied):
        service.preview_plan(access)
    with pytest.raises(PermissionDenied):
        service.apply_plan(access)
    with pytest.raises(PermissionDenied):
        service.reassign_named(access=access, document="a", from_user="alice", to_user="bob")


def test_k_out_of_range_is_refused(cast):
    for k in (0, service.MAX_OVERLAP + 1):
        with pytest.raises(ValidationError) as refused:
            service.preview_plan(manager(cast), overlap=k)
        assert "k" in refused.value.message_dict


def test_apply_is_audited_once(five_annotators, cast):
    service.apply_plan(manager(cast))
    service.apply_plan(manager(cast))

    event = AuditEvent.objects.get(action="assign")
    assert event.actor == cast.manager
    assert event.after["added"] == 20
    assert event.after["annotators"]["alice"] == {"added": 4, "removed": 0}


@pytest.mark.django_db(transaction=True)
def test_two_applies_at_once_do_not_pass_k(five_annotators, cast):
    DocumentFactory.create_batch(200, project=five_annotators)
    access = manager(cast)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            service.apply_plan(access, overlap=2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert set(per_document().values()) == {2}
    assert AuditEvent.objects.filter(action="assign").count() == 1


def test_active_time_is_capped_and_counted_for_the_own_open_assignment_only(cast):
    document = DocumentFactory(project=cast.project)
    service.apply_plan(manager(cast))
    layer = Layer.objects.get(document=document, annotator=cast.alice)
    Assignment.objects.filter(document=document).update(
        assigned_at=timezone.now() - timedelta(hours=1)
    )
    alice = layer_access(cast.alice, layer)

    assert service.record_activity(access=alice, seconds=30) == 30
    assert service.record_activity(access=alice, seconds=10_000) == 30 + service.MAX_ACTIVITY_REPORT
    with pytest.raises(PermissionDenied):
        service.record_activity(access=layer_access(cast.manager, layer), seconds=5)
    layer_service.submit_layer(access=alice)
    assert service.record_activity(access=layer_access(cast.alice, layer), seconds=30) == 150
    assert Assignment.objects.get(document=document, annotator=cast.bob).active_seconds == 0


def test_active_time_never_passes_the_time_since_assignment(cast):
    document = DocumentFactory(project=cast.project)
    service.apply_plan(manager(cast))
    layer = Layer.objects.get(document=document, annotator=cast.alice)

    total = service.record_activity(access=layer_access(cast.alice, layer), seconds=60)

    assert total < 5
    assert Assignment.objects.get(document=document, annotator=cast.alice).status == (
        AssignmentStatus.ASSIGNED
    )
