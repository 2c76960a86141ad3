"""The project's settings page (managers): name, description, k, blind, guidelines with
a preview, archive. Every change goes through ``update_project_settings`` (audited)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from annotations.access import Access
from annotations.forms import SettingsForm, show_errors
from annotations.guidelines import render_guidelines
from annotations.models import Project, Role
from annotations.services import projects as project_service
from annotations.views.access import project_page


def _page(
    request: HttpRequest,
    access: Access,
    form: SettingsForm,
    preview: str | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "annotations/project_settings.html",
        {
            "project": access.project,
            "role": access.role,
            "form": form,
            "preview_html": render_guidelines(preview if preview is not None else ""),
            "previewing": preview is not None,
        },
        status=status,
    )


# The settings page stays open in an archived project: it is where it is unarchived.
@project_page(visible_to=(Role.MANAGER,), writes_when_archived=True)
def project_settings(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    if request.method != "POST":
        return _page(request, access, SettingsForm(instance=project))
    action = request.POST.get("action", "save")
    if action in ("archive", "unarchive"):
        project_service.update_project_settings(access=access, archived=action == "archive")
        messages.success(
            request,
            "The project is archived: it is read-only now."
            if action == "archive"
            else "The project is active again.",
        )
        return redirect("project-settings", slug=project.slug)
    # A bound form on a copy: the instance the page shows is left as it is stored.
    form = SettingsForm(request.POST, instance=Project.objects.get(pk=project.pk))
    if action == "preview":
        return _page(request, access, form, preview=request.POST.get("guidelines", ""))
    if form.is_valid():
        try:
            project_service.update_project_settings(
                access=access,
                **{name: form.cleaned_data[name] for name in project_service.SETTINGS_FIELDS},
            )
        except ValidationError as exc:
            show_errors(form, exc)
        except PermissionDenied as exc:  # archived: unarchive first
            form.add_error(None, str(exc))
            return _page(request, access, form, status=403)
        else:
            messages.success(request, "Settings saved.")
            return redirect("project-settings", slug=project.slug)
    return _page(request, access, form, status=400)


urlpatterns = [
    path("projects/<slug:slug>/settings/", project_settings, name="project-settings"),
]
