"""The assignment page (managers): the plan's preview, "assign unassigned documents", and
one document's assignment moved by hand. The same services as the API and
``manage.py assign``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from annotations.access import Access
from annotations.models import Role
from annotations.services import assignments
from annotations.services.assignments import MAX_OVERLAP, Plan
from annotations.views.access import project_page


class PlanForm(forms.Form):
    k = forms.IntegerField(min_value=1, max_value=MAX_OVERLAP, label="Annotators per document (k)")


class ReassignForm(forms.Form):
    document = forms.CharField(max_length=200, label="Document (external id)")
    from_user = forms.ChoiceField(label="From")
    to_user = forms.ChoiceField(label="To")
    keep_started = forms.BooleanField(
        required=False, label="Move it even if started (their layer stays as it is)"
    )

    def __init__(self, *args: Any, access: Access, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.label_suffix = ""
        project = access.project
        on_documents = (
            User.objects.filter(assignments__document__project=project)
            .distinct()
            .order_by("username")
            .values_list("username", flat=True)
        )
        annotators = (
            User.objects.filter(memberships__project=project, memberships__role=Role.ANNOTATOR)
            .order_by("username")
            .values_list("username", flat=True)
        )
        for name, usernames in (("from_user", on_documents), ("to_user", annotators)):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(username, username) for username in usernames]


def _summary(plan: Plan) -> str:
    text = (
        f"Assigned: {plan.added} new assignments on {plan.documents_filled} documents"
        f", {plan.removed} unstarted taken back (k = {plan.overlap})."
    )
    if plan.unfillable:
        text += f" {plan.unfillable} documents stay short of k: too few annotators."
    return text


@project_page(visible_to=(Role.MANAGER,))
def assignment(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    status = 200
    reassign_form = ReassignForm(access=access)
    if request.method == "POST" and request.POST.get("action") == "apply":
        plan_form = PlanForm(request.POST)
        if plan_form.is_valid():
            plan = assignments.apply_plan(access, overlap=plan_form.cleaned_data["k"])
            messages.success(request, _summary(plan))
            return redirect("assignment", slug=project.slug)
        status = 400
    elif request.method == "POST" and request.POST.get("action") == "reassign":
        plan_form = PlanForm({"k": project.overlap})
        reassign_form = ReassignForm(request.POST, access=access)
        if reassign_form.is_valid():
            try:
                assignments.reassign_named(access=access, **reassign_form.cleaned_data)
            except ValidationError as exc:
                for name, reasons in exc.message_dict.items():
                    for reason in reasons:
                        reassign_form.add_error(
                            name if name in reassign_form.fields else None, reason
                        )
            else:
                data = reassign_form.cleaned_data
                messages.success(
                    request,
                    f"Document {data['document']} moved from {data['from_user']} "
                    f"to {data['to_user']}.",
                )
                return redirect("assignment", slug=project.slug)
        status = 400
    else:
        plan_form = PlanForm(request.GET if "k" in request.GET else {"k": project.overlap})
        if not plan_form.is_valid():
            status = 400
    k = plan_form.cleaned_data["k"] if plan_form.is_valid() else project.overlap
    plan = assignments.preview_plan(access, overlap=k)
    return render(
        request,
        "annotations/assignment.html",
        {
            "project": project,
            "role": access.role,
            "plan": plan,
            "plan_form": plan_form,
            "reassign_form": reassign_form,
            "k_changes": k != project.overlap,
            "max_k": MAX_OVERLAP,
            "action": reverse("assignment", kwargs={"slug": project.slug}),
        },
        status=status,
    )


urlpatterns = [
    path("projects/<slug:slug>/assignment/", assignment, name="assignment"),
]
