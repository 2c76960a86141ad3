"""The members page (managers): who is in the project with which role, adding an existing
person, changing a role, removing a member, granting "can create projects", and the
project's invitation links. Every change goes through the services (audited)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from annotations.access import Access
from annotations.forms import AddMemberForm, InvitationForm, show_errors
from annotations.models import Invitation, Membership, Role
from annotations.services import invitations as invitation_service
from annotations.services import projects as project_service
from annotations.views.access import project_page


def _membership(access: Access, raw_id: str) -> Membership:
    membership = Membership.objects.filter(
        project=access.project, pk=int(raw_id) if raw_id.isdigit() else 0
    ).first()
    if membership is None:
        raise ValidationError("No such member: reload the page.")
    return membership


def _act(request: HttpRequest, access: Access, action: str) -> str:
    """Carry out one of the page's member actions; the message to show after."""
    post = request.POST
    if action == "role":
        membership = _membership(access, post.get("member", ""))
        membership = project_service.change_member_role(
            access=access, membership=membership, role=post.get("role", "")
        )
        return f"{membership.user.get_username()} is {membership.role} now."
    if action == "remove":
        membership = _membership(access, post.get("member", ""))
        project_service.remove_member(access=access, membership=membership)
        return f"{membership.user.get_username()} is no longer a member; their layers stay."
    if action == "grant":
        membership = _membership(access, post.get("member", ""))
        project_service.grant_project_creation(access=access, membership=membership)
        return f"{membership.user.get_username()} may create projects now."
    if action == "revoke":
        raw = post.get("invitation", "")
        try:
            invitation_service.revoke_invitation(
                access=access, invitation_id=int(raw) if raw.isdigit() else 0
            )
        except Invitation.DoesNotExist:
            raise ValidationError("No such invitation: reload the page.") from None
        return "The invitation is withdrawn: its link no longer works."
    raise ValidationError("Unknown action.")


@project_page(visible_to=(Role.MANAGER,))
def members(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    add_form = AddMemberForm(request.POST if request.POST.get("action") == "add" else None)
    invite_form = InvitationForm(request.POST if request.POST.get("action") == "invite" else None)
    errors: list[str] = []
    new_link = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "add":
                if add_form.is_valid():
                    membership = project_service.add_person(
                        access=access,
                        name_or_email=add_form.cleaned_data["person"],
                        role=add_form.cleaned_data["role"],
                    )
                    messages.success(
                        request, f"{membership.user.get_username()} joined as {membership.role}."
                    )
                    return redirect("members", slug=project.slug)
            elif action == "invite":
                if invite_form.is_valid():
                    invitation, key = invitation_service.create_invitation(
                        access=access,
                        role=invite_form.cleaned_data["role"],
                        email=invite_form.cleaned_data["email"],
                    )
                    new_link = request.build_absolute_uri(reverse("invitation", args=[key]))
                    invitation_service.send_invitation(invitation, new_link)
                    invite_form = InvitationForm()
            else:
                messages.success(request, _act(request, access, action))
                return redirect("members", slug=project.slug)
        except ValidationError as exc:
            form = add_form if action == "add" else invite_form if action == "invite" else None
            if form is not None:
                show_errors(form, exc)
            else:
                errors.extend(exc.messages)
        if errors or add_form.errors or invite_form.errors:
            status = 400
    memberships = (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by("role", "user__username")
    )
    may_grant = project_service.may_create_projects(access.user)
    return render(
        request,
        "annotations/members.html",
        {
            "project": project,
            "role": access.role,
            "rows": [
                {
                    "membership": m,
                    "may_create": project_service.may_create_projects(m.user),
                }
                for m in memberships
            ],
            "roles": Role.values,
            "may_grant": may_grant,
            "add_form": add_form,
            "invite_form": invite_form,
            "invitations": invitation_service.open_invitations(access),
            "new_link": new_link,
            "invitation_days": settings.INVITATION_DAYS,
            "errors": errors,
        },
        status=status,
    )


urlpatterns = [
    path("projects/<slug:slug>/members/", members, name="members"),
]
