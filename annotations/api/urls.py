"""Routes under /api/. Project-scoped resources live under projects/<slug>/, layers
under layers/<id>/ (a layer id names its project); imports, agreement runs and exports
come from their own modules."""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from annotations.api import (
    adjudication,
    agreement,
    assignment,
    catalogues,
    exports,
    imports,
    views,
)

router = SimpleRouter()
router.register("projects", views.ProjectViewSet, basename="project")
PROJECT = r"projects/(?P<slug>[-a-zA-Z0-9_]+)"
router.register(f"{PROJECT}/members", views.MemberViewSet, basename="member")
router.register(f"{PROJECT}/labels", views.LabelViewSet, basename="label")
router.register(f"{PROJECT}/documents", views.DocumentViewSet, basename="document")
router.register("layers", views.LayerViewSet, basename="layer")
LAYER = r"layers/(?P<layer_id>[0-9]+)"
router.register(f"{LAYER}/spans", views.SpanViewSet, basename="span")
router.register(f"{LAYER}/relations", views.RelationViewSet, basename="relation")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("projects/<slug:slug>/queue/next/", views.QueueNextView.as_view(), name="queue-next"),
    *router.urls,
    *agreement.urlpatterns,
    *exports.urlpatterns,
    *imports.urlpatterns,
    *adjudication.urlpatterns,
    *assignment.urlpatterns,
    *catalogues.urlpatterns,
    # Last: any other /api/ address (a line feed in it too) is a JSON 404, not the
    # site's HTML page.
    re_path(r"^[\s\S]*$", views.no_such_endpoint, name="api-not-found"),
]
