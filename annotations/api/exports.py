"""Export jobs over the API: managers start them, poll them and download the archive.

A download is streamed from the local disk, or redirected to a short-lived signed link
when archives live in a bucket (``annotations.storage``); either only after the role check.

Outsiders get 404 for everything here, as everywhere (nothing tells them the project
exists). Reviewers and annotators are members: they know the project exists, so they get
403 with the reason, and the role is checked before any job is looked up, so a 403 says
nothing about which job ids exist. Exports hold every annotator's layer and the gold one,
which blind annotation hides from annotators; only managers may have them.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from annotations import storage
from annotations.api import serializers as s
from annotations.api.access import ManagersOnlyMixin
from annotations.api.schema import BAD_REQUEST, FORBIDDEN, NOT_FOUND
from annotations.exporters import EXPORTERS
from annotations.models import ExportJob, JobStatus, Project
from annotations.services import export_jobs
from annotations.services.workers import NO_WORKER_WARNING, a_worker_answers

MANAGERS_ONLY = "Only the project's managers export its corpus."


class ExportStartSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(EXPORTERS))
    options = serializers.JSONField(
        required=False,
        default=dict,
        help_text='e.g. {"layers": "gold", "labels": ["claim"], "include_meta": true, '
        '"split": {"seed": 1, "train": 0.8, "dev": 0.1, "test": 0.1}, '
        '"pseudonymise": false, "alignment": "split", "final_gold_only": false}',
    )


class ExportJobSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "format",
            "options",
            "status",
            "progress",
            "error",
            "attempts",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "checksum",
            "size",
            "download_url",
        ]

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != JobStatus.SUCCEEDED or not job.file:
            return None
        return reverse(
            "export-download",
            kwargs={"slug": job.project.slug, "pk": job.pk},
            request=self.context.get("request"),
        )


class ExportStartedSerializer(ExportJobSerializer):
    warning = serializers.CharField(required=False, allow_blank=True)

    class Meta(ExportJobSerializer.Meta):
        fields = [*ExportJobSerializer.Meta.fields, "warning"]


class ManagersOnly(ManagersOnlyMixin):
    managers_only = MANAGERS_ONLY
    # An archived project is still exported: an export only reads it.
    writes_when_archived = True


def jobs_of(project: Project) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(project=project).select_related("project", "requested_by")


def job_of(project: Project, pk: int) -> ExportJob:
    job = jobs_of(project).filter(pk=pk).first()
    if job is None:
        raise Http404("No such export.")
    return job


class ExportListApi(ManagersOnly):
    @extend_schema(
        summary="Export jobs of a project, newest first (managers)",
        responses={200: ExportJobSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        jobs = jobs_of(self.access.project).order_by("-created_at", "-id")
        return Response(ExportJobSerializer(jobs, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Start an export (managers)",
        description="Queues a Celery job and returns it at once; poll the job for progress. "
        "`warning` says so when no worker answers.",
        request=ExportStartSerializer,
        responses={201: ExportStartedSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = ExportStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = export_jobs.start_export(
            project=self.access.project,
            actor=self.access.user,
            format=data.validated_data["format"],
            options=data.validated_data["options"],
        )
        body = ExportJobSerializer(job, context={"request": request}).data
        if not a_worker_answers():
            body["warning"] = NO_WORKER_WARNING
        return Response(body, status=status.HTTP_201_CREATED)


class ExportDetailApi(ManagersOnly):
    @extend_schema(
        summary="One export job (managers)",
        responses={200: ExportJobSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str, pk: int) -> Response:
        job = job_of(self.access.project, pk)
        return Response(ExportJobSerializer(job, context={"request": request}).data)


class ExportDownloadApi(ManagersOnly):
    @extend_schema(
        summary="Download an export's zip archive (managers)",
        description="Streams the archive from the local disk, or, where archives are kept "
        "in a bucket (`STORAGE_BACKEND=s3`), redirects to a signed link to it that expires "
        "after `S3_URL_EXPIRE_SECONDS`. `X-Checksum-SHA256` and the `ETag` carry its "
        "SHA-256. 409 while the job has not succeeded.",
        responses={
            (200, "application/zip"): bytes,
            302: OpenApiResponse(description="To a signed link to the archive in the bucket."),
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: OpenApiResponse(s.DetailSerializer, description="The export has not succeeded."),
        },
    )
    def get(
        self, request: Request, slug: str, pk: int
    ) -> Response | FileResponse | HttpResponseRedirect:
        job = job_of(self.access.project, pk)
        if job.status != JobStatus.SUCCEEDED or not job.file:
            return Response(
                {"detail": f"The export is {job.status}: there is nothing to download yet."},
                status=status.HTTP_409_CONFLICT,
            )
        filename = f"{job.project.slug}-{job.format}-{job.pk}.zip"
        # Only now, with the role checked and the job found, is a signed link made.
        url = storage.signed_url(job.file, filename=filename, content_type="application/zip")
        response: HttpResponseRedirect | FileResponse
        if url is not None:
            response = HttpResponseRedirect(url)
            response["Cache-Control"] = "private, no-store"  # the link is this request's
        else:
            response = FileResponse(
                job.file.open("rb"),
                as_attachment=True,
                filename=filename,
                content_type="application/zip",
            )
        response["X-Checksum-SHA256"] = job.checksum
        response["ETag"] = f'"{job.checksum}"'
        return response


urlpatterns = [
    path("projects/<slug:slug>/exports/", ExportListApi.as_view(), name="export-list"),
    path("projects/<slug:slug>/exports/<int:pk>/", ExportDetailApi.as_view(), name="export-detail"),
    path(
        "projects/<slug:slug>/exports/<int:pk>/download/",
        ExportDownloadApi.as_view(),
        name="export-download",
    ),
]
