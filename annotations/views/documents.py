"""The documents page (managers): upload files as an import job, follow it, list documents.

The upload form posts here; the view starts the import with the same service as the API
(``import_jobs.start_import``) and sends the browser back to this page showing the job.
While the job runs, ``static/annotations/js/import.js`` polls the job's API address and
moves the progress bar, then reloads the page for the outcome (a refresh link does the
same without JavaScript). Below: the recent imports, then the project's documents with a
search box and filters, a keyset page at a time (``selectors.documents_page``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import urlencode

from annotations.access import Access
from annotations.models import ImportJob, JobStatus, Membership, Role
from annotations.selectors import (
    DOCUMENT_STATUSES,
    DocumentFilters,
    documents_page,
)
from annotations.services import import_jobs
from annotations.services.jobs import BrokerUnavailable
from annotations.services.workers import NO_WORKER_WARNING, a_worker_answers
from annotations.uploads import UploadTooLarge, upload_too_large
from annotations.views.access import project_page

DOCUMENTS_PER_PAGE = 50
RECENT_IMPORTS = 10
ACCEPTED = ".txt,.zip,.jsonl,.csv"
FORMAT_HELP = [
    (
        ".txt",
        "one document per file; its name (without .txt) is its id, its first line "
        "its title. Choose several at once.",
    ),
    (".zip", "a zip of .txt, .jsonl or .csv files, read one file after the other."),
    (
        ".jsonl",
        "the interchange format: one document per line, with annotations and gold "
        "if it has them (what the JSONL export writes).",
    ),
    (
        ".csv",
        "a header row and a text column; an id (or external_id) column is the id, "
        "every other column is kept as metadata.",
    ),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Every file chosen in one file input, as a list."""

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files:
            return [super().clean(None, initial)]  # "This field is required."
        return [super(MultipleFileField, self).clean(each, initial) for each in files]


class UploadForm(forms.Form):
    file = MultipleFileField(
        widget=MultipleFileInput(attrs={"accept": ACCEPTED}),
        label="Files",
    )
    assign_now = forms.BooleanField(
        required=False,
        label="Assign now",
        help_text="once imported, hand the unassigned documents to the annotators",
    )


class FilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(required=False, label="Status")
    annotator = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    after = forms.IntegerField(required=False, min_value=0)
    before = forms.IntegerField(required=False, min_value=0)

    def __init__(self, *args: Any, annotators: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        status_field = self.fields["status"]
        assert isinstance(status_field, forms.ChoiceField)
        status_field.choices = [("", "any status"), *DOCUMENT_STATUSES.items()]
        annotator_field = self.fields["annotator"]
        assert isinstance(annotator_field, forms.ChoiceField)
        annotator_field.choices = [("", "any annotator"), *annotators]


def _job_context(project_slug: str, job: ImportJob) -> dict[str, Any]:
    result = job.result or {}
    return {
        "job": job,
        "api_url": reverse("import-detail", args=[project_slug, job.pk]),
        "percent": round(100 * job.progress),
        "more_errors": max(job.line_error_count - len(job.line_errors), 0),
        "assignment": result.get("assignment"),
        "warning": NO_WORKER_WARNING
        if job.status == JobStatus.QUEUED and not a_worker_answers()
        else "",
    }


@project_page(visible_to=(Role.MANAGER,))
def documents(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    here = reverse("documents", args=[project.slug])
    upload = UploadForm()
    status = 200
    if request.method == "POST":
        upload = UploadForm(request.POST, request.FILES)
        if upload_too_large(request):
            upload.errors.clear()
            upload.add_error("file", str(UploadTooLarge().detail))
            status = 413
        elif upload.is_valid():
            try:
                job = import_jobs.start_import(
                    project=project,
                    actor=access.user,
                    upload=upload.cleaned_data["file"],
                    assign_now=upload.cleaned_data["assign_now"],
                )
            except ValidationError as refused:
                for reason in refused.messages:
                    upload.add_error("file", reason)
            except BrokerUnavailable as unavailable:
                # Saved and queued: the job's page says the queue is not answering.
                return HttpResponseRedirect(f"{here}?{urlencode({'import': unavailable.job.pk})}")
            else:
                return HttpResponseRedirect(f"{here}?{urlencode({'import': job.pk})}")
            status = 400
        else:
            status = 400

    annotators = list(
        Membership.objects.filter(project=project, role=Role.ANNOTATOR)
        .order_by("user__username")
        .values_list("user_id", "user__username")
    )
    filters = FilterForm(request.GET, annotators=annotators)
    filters.is_valid()  # a bad value is left out, and the form says why
    chosen = DocumentFilters(
        search=(filters.cleaned_data.get("q") or "").strip(),
        status=filters.cleaned_data.get("status") or "",
        annotator=filters.cleaned_data.get("annotator"),
    )
    page = documents_page(
        project,
        chosen,
        after=filters.cleaned_data.get("after"),
        before=filters.cleaned_data.get("before"),
        size=DOCUMENTS_PER_PAGE,
    )
    kept: dict[str, str] = {
        name: value for name, value in (("q", chosen.search), ("status", chosen.status)) if value
    }
    if chosen.annotator is not None:
        kept["annotator"] = str(chosen.annotator)

    def page_link(edge: str, document_id: int) -> str:
        return f"{here}?{urlencode({**kept, edge: str(document_id)})}"

    recent = list(
        ImportJob.objects.filter(project=project)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:RECENT_IMPORTS]
    )
    shown_job = None
    shown_id = request.GET.get("import", "")
    if shown_id.isdigit():
        shown_job = ImportJob.objects.filter(project=project, pk=int(shown_id)).first()
    empty_project = not page.rows and not kept and not project.documents.exists()
    return render(
        request,
        "annotations/documents.html",
        {
            "project": project,
            "role": access.role,
            "upload": upload,
            "formats": FORMAT_HELP,
            "import": _job_context(project.slug, shown_job) if shown_job else None,
            "recent": recent,
            "filters": filters,
            "filtered": bool(kept),
            "page": page,
            "count": page.count,
            "more": page.more,
            "previous_url": page_link("before", page.rows[0].document.pk)
            if page.has_previous and page.rows
            else "",
            "next_url": page_link("after", page.rows[-1].document.pk)
            if page.has_next and page.rows
            else "",
            "empty_project": empty_project,
        },
        status=status,
    )


urlpatterns = [
    path("projects/<slug:slug>/documents/", documents, name="documents"),
]
