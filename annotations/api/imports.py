"""Import jobs over the API: managers upload a file, then poll the job that imports it.

The upload is stored and queued; the answer is 202 with the job's address. The job says
how the import went: its counts once it succeeded, or every bad line (file, line, reason)
once it failed, in which case nothing was written. Scoped like the export jobs: outsiders
get 404, the project's other members 403.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from annotations.api.access import ManagersOnlyMixin
from annotations.api.serializers import VALIDATION_ERROR_SCHEMA
from annotations.models import ImportJob, Project
from annotations.services import import_jobs
from annotations.services.imports import FORMATS
from annotations.services.workers import NO_WORKER_WARNING, a_worker_answers

DETAIL = inline_serializer("ImportDetail", {"detail": serializers.CharField()})


class ImportStartSerializer(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text=".txt (one document), .jsonl (interchange), .csv or a .zip of them; "
        "repeat the field to send several files, imported together as one job.",
    )
    file_format = serializers.ChoiceField(
        choices=FORMATS,
        required=False,
        help_text="Overrides the file name's extension (a single file only).",
    )
    assign_now = serializers.BooleanField(
        default=False,
        help_text="Once imported, hand the project's unassigned documents to its annotators "
        "(k per document); the job's result says how many assignments were made, or why none.",
    )


class ImportAssignmentSerializer(serializers.Serializer):
    assigned = serializers.IntegerField(help_text="Assignments made after the import.")
    reason = serializers.CharField(required=False, help_text="Why none could be made.")


class ImportResultSerializer(serializers.Serializer):
    documents = serializers.IntegerField()
    spans = serializers.IntegerField()
    relations = serializers.IntegerField()
    annotators = serializers.ListField(child=serializers.CharField())
    created_users = serializers.ListField(child=serializers.CharField())
    assignment = ImportAssignmentSerializer(required=False, help_text="With assign_now.")


class ImportLineErrorSerializer(serializers.Serializer):
    file = serializers.CharField()
    line = serializers.IntegerField(allow_null=True, help_text="Null: the whole file.")
    reason = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    result = ImportResultSerializer(allow_null=True, help_text="The counts, once it succeeded.")
    line_errors = ImportLineErrorSerializer(
        many=True, help_text="The first 100 bad lines; line_error_count counts them all."
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "filename",
            "format",
            "options",
            "status",
            "progress",
            "error",
            "line_errors",
            "line_error_count",
            "result",
            "attempts",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]

    def get_url(self, job: ImportJob) -> str:
        return reverse(
            "import-detail",
            kwargs={"slug": job.project.slug, "pk": job.pk},
            request=self.context.get("request"),
        )


class ImportStartedSerializer(ImportJobSerializer):
    warning = serializers.CharField(required=False)

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "warning"]


def job_of(project: Project, pk: int) -> ImportJob:
    job = (
        ImportJob.objects.filter(project=project, pk=pk)
        .select_related("project", "requested_by")
        .first()
    )
    if job is None:
        raise Http404("No such import.")
    return job


class ManagersOnly(ManagersOnlyMixin):
    managers_only = "Only the project's managers import documents."


class ImportStartApi(ManagersOnly):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Import files of documents (managers)",
        description="Stores the files and queues their import as one job; poll the job at "
        "`url`. The import is one transaction: a bad line in any file fails the job with "
        "each line's file and reason, and nothing is written. `warning` says so when no "
        "worker answers.",
        request={"multipart/form-data": ImportStartSerializer},
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                description="The job's address (as `url`).",
                response=[202],
            )
        ],
        responses={
            202: ImportStartedSerializer,
            400: OpenApiResponse(
                VALIDATION_ERROR_SCHEMA, description="No file, or not a type the importer reads."
            ),
            403: DETAIL,
            404: DETAIL,
            415: OpenApiResponse(DETAIL, description="Not a multipart upload."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        data = ImportStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = import_jobs.start_import(
            project=self.access.project,
            actor=self.access.user,
            upload=data.validated_data["file"],
            file_format=data.validated_data.get("file_format"),
            assign_now=data.validated_data["assign_now"],
        )
        body = dict(ImportJobSerializer(job, context={"request": request}).data)
        if not job.is_finished and not a_worker_answers():
            body["warning"] = NO_WORKER_WARNING
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ImportDetailApi(ManagersOnly):
    @extend_schema(
        summary="One import job: status, progress, counts, bad lines (managers)",
        responses={200: ImportJobSerializer, 403: DETAIL, 404: DETAIL},
    )
    def get(self, request: Request, slug: str, pk: int) -> Response:
        job = job_of(self.access.project, pk)
        return Response(ImportJobSerializer(job, context={"request": request}).data)


urlpatterns = [
    path("projects/<slug:slug>/imports/", ImportStartApi.as_view(), name="import"),
    path("projects/<slug:slug>/imports/<int:pk>/", ImportDetailApi.as_view(), name="import-detail"),
]
