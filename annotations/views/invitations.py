"""The page an invitation link opens: a newcomer chooses a username and a password and is
signed in; someone signed in already joins with the invitation's role. An unknown key is
404, a used or expired one 410, each with a page that says so."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from annotations.forms import JoinForm, show_errors
from annotations.services import invitations as invitation_service

# Signing in the person who just chose their password: Django's own backend, not the
# lockout backend (which needs the request's credentials).
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _joined(request: HttpRequest, slug: str, project_name: str, role: str) -> HttpResponse:
    messages.success(request, f"Welcome to {project_name}: you joined as {role}.")
    return redirect("project-home", slug=slug)


def _unusable(request: HttpRequest, exc: invitation_service.InvitationUnusable) -> HttpResponse:
    return render(
        request, "annotations/invitation_unusable.html", {"reason": exc.message}, status=exc.status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, key: str) -> HttpResponse:
    try:
        found = invitation_service.find_invitation(key)
    except invitation_service.InvitationUnusable as exc:
        return _unusable(request, exc)
    project = found.project
    user = request.user
    signed_in = isinstance(user, User)
    form = JoinForm(request.POST or None) if not signed_in else None
    errors: list[str] = []
    if request.method == "POST":
        try:
            if isinstance(user, User):
                invitation_service.accept_as_member(key=key, user=user)
                return _joined(request, project.slug, project.name, found.role)
            assert form is not None
            if form.is_valid():
                newcomer = invitation_service.accept_as_new_user(
                    key=key,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                )
                login(request, newcomer, backend=MODEL_BACKEND)
                return _joined(request, project.slug, project.name, found.role)
        except ValidationError as exc:
            if form is not None:
                show_errors(form, exc)
            else:
                errors.extend(exc.messages)
        except invitation_service.InvitationUnusable as exc:  # used by someone else meanwhile
            return _unusable(request, exc)
    return render(
        request,
        "annotations/invitation.html",
        {"invitation": found, "project": project, "form": form, "errors": errors},
        status=400 if errors or (form is not None and form.errors) else 200,
    )


urlpatterns = [
    path("invite/<str:key>/", invitation, name="invitation"),
]
