"""The assignment plan over the API, and the annotation page's active-time reports.

``GET projects/<slug>/assignment/`` previews the plan (``?k=N`` previews another k), and
``POST`` applies it (``{"k": N}`` sets k first); ``POST .../assignment/reassign/`` moves
one document's assignment by hand. Managers only: outsiders get 404, other members 403.
``POST layers/<id>/activity/`` adds the seconds the page measured to the caller's own
assignment of that document.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from annotations.api.access import LayerAccessMixin, ManagersOnlyMixin
from annotations.api.parsers import JSONParser
from annotations.api.schema import READ_ERRORS, WRITE_ERRORS
from annotations.services import assignments
from annotations.services.assignments import MAX_ACTIVITY_REPORT, MAX_OVERLAP, Plan

# An activity report larger than this is not a report from the page: refused (400).
MAX_REPORTED_SECONDS = 3600


class AnnotatorPlanSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_annotator = serializers.BooleanField(
        help_text="False: no longer an annotator here; their unstarted work is taken back."
    )
    open_before = serializers.IntegerField(help_text="Assigned or in progress now.")
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    open_after = serializers.IntegerField()


class PlanSerializer(serializers.Serializer):
    overlap = serializers.IntegerField(help_text="k: annotators per document.")
    documents = serializers.IntegerField()
    unassigned = serializers.IntegerField(help_text="Documents nobody holds a place on.")
    under_filled = serializers.IntegerField(help_text="Documents with fewer than k places held.")
    documents_filled = serializers.IntegerField(help_text="Documents that get new annotators.")
    added = serializers.IntegerField(help_text="Assignments made.")
    removed = serializers.IntegerField(help_text="Unstarted assignments taken back.")
    unfillable = serializers.IntegerField(
        help_text="Documents still short of k afterwards (too few annotators)."
    )
    unfillable_examples = serializers.ListField(child=serializers.CharField())
    annotators = AnnotatorPlanSerializer(many=True)


class PlanInputSerializer(serializers.Serializer):
    k = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_OVERLAP, help_text="Set k first."
    )


class ReassignSerializer(serializers.Serializer):
    document = serializers.CharField(help_text="The document's external id.")
    from_user = serializers.CharField(help_text="The annotator it moves from (username).")
    to_user = serializers.CharField(help_text="The annotator it moves to (username).")
    keep_started = serializers.BooleanField(
        default=False,
        help_text="Move started work too; the old layer stays as it is.",
    )


class ReassignedSerializer(serializers.Serializer):
    document = serializers.CharField()
    annotator = serializers.CharField()
    status = serializers.CharField()


class ActivitySerializer(serializers.Serializer):
    seconds = serializers.FloatField(
        min_value=0.001,
        max_value=MAX_REPORTED_SECONDS,
        help_text=f"Active seconds since the last report; at most {MAX_ACTIVITY_REPORT} count.",
    )


class ActiveTimeSerializer(serializers.Serializer):
    active_seconds = serializers.FloatField()


def plan_body(plan: Plan) -> dict[str, Any]:
    return dict(PlanSerializer(plan).data)


def _k(data: Any) -> int | None:
    """The k asked for, if any (400 naming ``k`` when it is not one)."""
    parsed = PlanInputSerializer(data=data)
    parsed.is_valid(raise_exception=True)
    k: int | None = parsed.validated_data.get("k")
    return k


class AssignmentManagers(ManagersOnlyMixin):
    managers_only = assignments.MANAGERS_ONLY_MESSAGE


class AssignmentPlanApi(AssignmentManagers):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Preview the assignment plan (managers); writes nothing",
        parameters=[
            OpenApiParameter(
                "k", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Preview another k."
            )
        ],
        responses={200: PlanSerializer, **WRITE_ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        plan = assignments.preview_plan(self.access, overlap=_k(request.query_params))
        return Response(plan_body(plan))

    @extend_schema(
        summary="Assign unassigned documents: fill the plan for every document (managers)",
        request=PlanInputSerializer,
        responses={200: PlanSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        plan = assignments.apply_plan(self.access, overlap=_k(request.data))
        return Response(plan_body(plan))


class ReassignApi(AssignmentManagers):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Move one document's assignment to another annotator (managers)",
        request=ReassignSerializer,
        responses={200: ReassignedSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = ReassignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moved = assignments.reassign_named(access=self.access, **data.validated_data)
        return Response(
            {
                "document": data.validated_data["document"],
                "annotator": data.validated_data["to_user"],
                "status": moved.status,
            }
        )


@extend_schema(parameters=[OpenApiParameter("layer_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class ActivityApi(LayerAccessMixin):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Report active time on the caller's own layer (the annotation page)",
        description="Seconds with the page visible and focused and edits or selections "
        "in the last minute. Counted for the caller's own open assignment only, at most "
        f"{MAX_ACTIVITY_REPORT} s a report and never more than the time since it was assigned.",
        request=ActivitySerializer,
        responses={200: ActiveTimeSerializer, **WRITE_ERRORS, **READ_ERRORS},
    )
    def post(self, request: Request, layer_id: str) -> Response:
        data = ActivitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        total = assignments.record_activity(
            access=self.access, seconds=data.validated_data["seconds"]
        )
        return Response({"active_seconds": total})


urlpatterns = [
    path(
        "projects/<slug:slug>/assignment/",
        AssignmentPlanApi.as_view(),
        name="assignment-plan",
    ),
    path(
        "projects/<slug:slug>/assignment/reassign/",
        ReassignApi.as_view(),
        name="assignment-reassign",
    ),
    path("layers/<int:layer_id>/activity/", ActivityApi.as_view(), name="layer-activity"),
]
