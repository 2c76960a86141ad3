"""The layer write service: versions claimed by conditional UPDATE, roles, atomicity."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404

from annotations.models import AuditEvent, Layer, LayerStatus, Span
from annotations.services import layers
from annotations.services.assignments import assign_documents
from tests.access import layer_access, project_access
from tests.factories import DocumentFactory

TEXT = "Saleh said he is still in Panjshir. TASS reported that he left for Tajikistan."


@pytest.fixture
def layer(cast):
    document = DocumentFactory(project=cast.project, text=TEXT)
    assign_documents(project=cast.project)
    return Layer.objects.select_related("document__project").get(
        document=document, annotator=cast.alice
    )


def run_in_threads(count, work):
    """Run ``work(i)`` in ``count`` threads at once; returns what each returned or raised."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def target(index):
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except Exception as exc:  # The outcome under test, whatever it is.
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_of_writers_holding_the_same_version_exactly_one_wins(cast, layer):
    def write(index):
        return layers.create_span(
            access=layer_access(cast.alice, layer),
            label="claim",
            start=index,
            end=index + 5,
            version=1,
        )

    outcomes = run_in_threads(8, write)

    winners = [o for o in outcomes if isinstance(o, Span)]
    conflicts = [o for o in outcomes if isinstance(o, layers.LayerConflict)]
    assert (len(winners), len(conflicts)) == (1, 7), outcomes
    assert {c.current_version for c in conflicts} == {2}
    assert Span.objects.filter(layer=layer).count() == 1
    assert Layer.objects.get(pk=layer.pk).version == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_unconditional_writes_are_all_kept_with_one_version_each(cast, layer):
    def write(index):
        versions = []
        for step in range(5):
            access = layer_access(cast.alice, layer)
            layers.create_span(access=access, label="claim", start=step, end=step + 1 + index)
            assert access.layer is not None
            versions.append(access.layer.version)
        return versions

    outcomes = run_in_threads(6, write)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    versions = sorted(v for vs in outcomes for v in vs)
    assert versions == list(range(2, 32))  # every write got its own version
    assert Span.objects.filter(layer=layer).count() == 30
    assert Layer.objects.get(pk=layer.pk).version == 31


@pytest.mark.django_db
def test_a_layer_submitted_after_it_was_loaded_refuses_the_write(cast, layer):
    access = layer_access(cast.alice, layer)
    Layer.objects.filter(pk=layer.pk).update(status=LayerStatus.SUBMITTED)  # another request

    with pytest.raises(layers.LayerReadOnly):
        layers.create_span(access=access, label="claim", start=0, end=5)

    assert not Span.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["reviewer", "bob", "outsider"])
def test_nobody_but_the_owner_and_managers_reaches_an_open_annotator_layer(cast, layer, who):
    with pytest.raises(Http404):
        layer_access(getattr(cast, who), layer)


@pytest.mark.django_db
def test_a_reviewer_may_see_a_submitted_annotator_layer_but_not_write_it(cast, layer):
    layers.submit_layer(access=layer_access(cast.alice, layer))

    with pytest.raises(layers.LayerReadOnly):
        layers.create_span(access=layer_access(cast.reviewer, layer), label="claim", start=0, end=5)


@pytest.mark.django_db
def test_manager_may_write_an_open_annotator_layer(cast, layer):
    span = layers.create_span(
        access=layer_access(cast.manager, layer), label="claim", start=0, end=5
    )

    assert span.layer_id == layer.pk


# who        own open   other open  other submitted  gold
VISIBILITY = [
    ("alice",    True, False, False, False),
    ("reviewer", True, False, True,  True),
    ("manager",  True, True,  True,  True),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "own", "other_open", "other_submitted", "gold"), VISIBILITY)
def test_who_sees_which_layer(cast, who, own, other_open, other_submitted, gold):
    user = getattr(cast, who)
    other = cast.bob
    mine = Layer(annotator_id=user.pk, status=LayerStatus.OPEN)
    theirs = Layer(annotator_id=other.pk, status=LayerStatus.OPEN)
    submitted = Layer(annotator_id=other.pk, status=LayerStatus.SUBMITTED)
    gold_layer = Layer(is_gold=True, status=LayerStatus.OPEN)
    access = project_access(user, cast.project)

    seen = [access.can_see(candidate) for candidate in (mine, theirs, submitted, gold_layer)]

    assert seen == [own, other_open, other_submitted, gold]


@pytest.mark.django_db
def test_a_failed_bulk_replace_changes_nothing_not_even_the_version(cast, layer):
    layers.create_span(access=layer_access(cast.alice, layer), label="claim", start=0, end=5)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as error:
        layers.replace_layer(
            access=layer_access(cast.alice, layer),
            spans=[
                layers.SpanInput(label="claim", start=0, end=10),
                layers.SpanInput(label="claim", start=10, end=5),
            ],
            relations=[layers.RelationInput(type="attributed_to", head=0, tail=0)],
        )

    assert set(error.value.message_dict) == {"spans[1].end", "relations[0]", "relations[0].tail"}
    assert list(Span.objects.values_list("start", "end")) == [(0, 5)]
    assert Layer.objects.get(pk=layer.pk).version == 2
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_gold_layer_is_made_once_and_only_by_reviewers_and_managers(cast, layer):
    with pytest.raises(PermissionDenied):
        layers.ensure_gold_layer(
            access=project_access(cast.alice, layer.document.project), document=layer.document
        )

    first = layers.ensure_gold_layer(
        access=project_access(cast.reviewer, layer.document.project), document=layer.document
    )
    second = layers.ensure_gold_layer(
        access=project_access(cast.manager, layer.document.project), document=layer.document
    )

    assert first == second
    assert (first.is_gold, first.annotator_id) == (True, None)
