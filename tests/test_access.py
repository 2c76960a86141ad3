"""resolve_access: the one place an Access is made, and what it refuses."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from annotations.access import STAFF_ROLES, Access, resolve_access
from annotations.models import Layer, LayerStatus, Role
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def layers(cast):
    document = DocumentFactory(project=cast.project)
    return (
        Layer.objects.create(document=document, annotator=cast.alice),
        Layer.objects.create(document=document, is_gold=True),
    )


@pytest.mark.parametrize(
    ("who", "role"),
    [("manager", Role.MANAGER), ("reviewer", Role.REVIEWER), ("alice", Role.ANNOTATOR)],
)
def test_a_member_gets_the_project_and_their_role(cast, who, role):
    access = resolve_access(getattr(cast, who), slug=cast.project.slug)

    assert (access.user, access.project, access.role) == (getattr(cast, who), cast.project, role)
    assert access.layer is None


@pytest.mark.parametrize("slug", ["panjshir", "no-such-project"])
def test_outsiders_and_anonymous_callers_get_404(cast, slug):
    for user in (cast.outsider, AnonymousUser()):
        with pytest.raises(Http404):
            resolve_access(user, slug=slug)


def test_a_role_the_route_is_not_for_gets_404_like_an_outsider(cast):
    with pytest.raises(Http404):
        resolve_access(cast.alice, slug=cast.project.slug, visible_to=STAFF_ROLES)


def test_a_layer_comes_with_its_project_and_the_callers_role(cast, layers):
    own, _ = layers

    access = resolve_access(cast.alice, layer_id=own.pk)

    assert (access.layer, access.project, access.role) == (own, cast.project, Role.ANNOTATOR)


def test_the_blind_rules_hide_a_layer_as_if_it_did_not_exist(cast, layers):
    own, gold = layers

    for user, layer in ((cast.bob, own), (cast.reviewer, own), (cast.alice, gold)):
        with pytest.raises(Http404):
            resolve_access(user, layer_id=layer.pk)
    Layer.objects.filter(pk=own.pk).update(status=LayerStatus.SUBMITTED)
    assert resolve_access(cast.reviewer, layer_id=own.pk).layer == own


def test_an_access_moves_only_to_a_layer_of_its_project_the_caller_may_see(cast, layers):
    own, gold = layers
    reviewer = resolve_access(cast.reviewer, slug=cast.project.slug)

    assert reviewer.to_layer(gold).layer == gold
    with pytest.raises(Http404):
        reviewer.to_layer(own)  # still open: not the reviewer's to see


def test_nothing_but_resolve_access_makes_one(cast):
    with pytest.raises(TypeError):
        Access(user=cast.manager, project=cast.project, role=Role.MANAGER)
