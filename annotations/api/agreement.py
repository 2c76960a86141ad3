"""Agreement runs over the API: managers and reviewers start them, poll them, read them.

Agreement figures are hidden from annotators by blind annotation, so for them, as for
outsiders, these addresses do not exist (404). A run is a row: POST queues it and answers
at once (with a ``warning`` when no worker answers), GET reads its status, progress and,
once it has succeeded, its result.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from annotations.access import STAFF_ROLES
from annotations.agreement.types import MAX_RESAMPLES
from annotations.api.access import ProjectAccessMixin
from annotations.api.schema import BAD_REQUEST, NOT_FOUND
from annotations.models import AgreementRun, JobStatus, Project
from annotations.services import agreement_runs
from annotations.services.workers import NO_WORKER_WARNING, a_worker_answers

LIST_LIMIT = 50


class AgreementStartSerializer(serializers.Serializer):
    parameters = serializers.JSONField(
        required=False,
        default=dict,
        help_text='e.g. {"labels": ["claim", "source"], "annotators": ["alice", "bob"], '
        '"bootstrap_resamples": 1000, "bootstrap_seed": 0, "confidence": 0.95, '
        '"relation_types": ["attributed_to"], "per_document_limit": 500}. '
        f"bootstrap_resamples: 0 (no intervals) to {MAX_RESAMPLES}.",
    )


class AgreementRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    documents = serializers.SerializerMethodField()
    overall = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = AgreementRun
        fields = [
            "id",
            "status",
            "progress",
            "error",
            "attempts",
            "parameters",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "documents",
            "overall",
            "url",
        ]

    def get_documents(self, run: AgreementRun) -> int | None:
        return run.result.get("documents") if run.result else None

    def get_overall(self, run: AgreementRun) -> dict[str, Any] | None:
        return run.result.get("overall") if run.result else None

    def get_url(self, run: AgreementRun) -> str:
        return reverse(
            "agreement-run-detail",
            kwargs={"slug": run.project.slug, "pk": run.pk},
            request=self.context.get("request"),
        )


class AgreementRunDetailSerializer(AgreementRunSerializer):
    class Meta(AgreementRunSerializer.Meta):
        fields = [*AgreementRunSerializer.Meta.fields, "result"]


class AgreementRunStartedSerializer(AgreementRunSerializer):
    warning = serializers.CharField(required=False)

    class Meta(AgreementRunSerializer.Meta):
        fields = [*AgreementRunSerializer.Meta.fields, "warning"]


class StaffOnly(ProjectAccessMixin):
    """Agreement routes exist for the project's managers and reviewers only."""

    visible_to = STAFF_ROLES
    # Measuring agreement only reads the annotations: allowed in an archived project.
    writes_when_archived = True


def runs_of(project: Project) -> QuerySet[AgreementRun]:
    return AgreementRun.objects.filter(project=project).select_related("project", "requested_by")


class AgreementRunListApi(StaffOnly):
    @extend_schema(
        summary="Agreement runs of a project, newest first (managers, reviewers)",
        description=f"The {LIST_LIMIT} newest, without their full result (see one run for it).",
        parameters=[
            OpenApiParameter(
                "status", str, enum=JobStatus.values, description="only runs in this status"
            )
        ],
        responses={200: AgreementRunSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        runs = runs_of(self.access.project).order_by("-created_at", "-id")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in JobStatus.values:
                raise ValidationError(
                    {"status": [f"must be one of: {', '.join(JobStatus.values)}"]}
                )
            runs = runs.filter(status=wanted)
        # Only the summary is read: the result of a large project is megabytes.
        runs = runs.defer("result")
        data = AgreementRunSerializer(
            _with_summaries(list(runs[:LIST_LIMIT])), many=True, context={"request": request}
        ).data
        return Response(data)

    @extend_schema(
        summary="Start an agreement run (managers, reviewers)",
        description="Queues a Celery job and returns it at once; poll the run for progress. "
        "`warning` says so when no worker answers.",
        request=AgreementStartSerializer,
        responses={201: AgreementRunStartedSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = AgreementStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = agreement_runs.start_run(
            project=self.access.project,
            actor=self.access.user,
            parameters=data.validated_data["parameters"],
        )
        body = dict(AgreementRunSerializer(run, context={"request": request}).data)
        if not a_worker_answers():
            body["warning"] = NO_WORKER_WARNING
        return Response(body, status=status.HTTP_201_CREATED)


def _with_summaries(runs: list[AgreementRun]) -> list[AgreementRun]:
    """Give runs whose result was deferred the small part of it that lists show."""
    summaries = {
        pk: {"overall": overall, "documents": documents}
        for pk, overall, documents in AgreementRun.objects.filter(
            pk__in=[run.pk for run in runs], result__isnull=False
        ).values_list("pk", "result__overall", "result__documents")
    }
    for run in runs:
        run.result = summaries.get(run.pk)
    return runs


class AgreementRunDetailApi(StaffOnly):
    @extend_schema(
        summary="One agreement run with its result (managers, reviewers)",
        responses={200: AgreementRunDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str, pk: int) -> Response:
        run = runs_of(self.access.project).filter(pk=pk).first()
        if run is None:
            raise Http404("No such agreement run.")
        return Response(AgreementRunDetailSerializer(run, context={"request": request}).data)


urlpatterns = [
    path(
        "projects/<slug:slug>/agreement-runs/",
        AgreementRunListApi.as_view(),
        name="agreement-run-list",
    ),
    path(
        "projects/<slug:slug>/agreement-runs/<int:pk>/",
        AgreementRunDetailApi.as_view(),
        name="agreement-run-detail",
    ),
]
