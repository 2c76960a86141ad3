"""The forms of the manager's pages: they render the fields and show each error next to
its field; the rules themselves live in the services, whose ValidationErrors name the
field (``show_errors``)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from annotations.models import Project, Role, SubmitCheck
from annotations.services.projects import MAX_OVERLAP, PRESET_SCHEMA, SCHEMA_STARTS

ROLE_CHOICES = [(role.value, role.label) for role in Role]


def show_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's errors next to the fields they name (the rest above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class NewProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(
        max_length=100,
        required=False,
        label="Address",
        help_text="Letters, digits, hyphens: /projects/<address>/. Empty: made from the name.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    overlap = forms.IntegerField(
        min_value=1, max_value=MAX_OVERLAP, initial=2, label="Annotators per document (k)"
    )
    blind = forms.BooleanField(
        required=False, initial=True, label="Blind: annotators never see each other's spans"
    )
    schema = forms.ChoiceField(
        choices=list(SCHEMA_STARTS.items()),
        initial=PRESET_SCHEMA,
        required=False,
        label="Labels start from",
        help_text="The preset: claim, source, sentiment and attributed_to. Either way, the "
        "schema page edits them.",
    )


class SettingsForm(forms.ModelForm):
    overlap = forms.IntegerField(
        min_value=1, max_value=MAX_OVERLAP, label="Annotators per document (k)"
    )
    submit_checks = forms.MultipleChoiceField(
        choices=SubmitCheck.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Before a submit, ask the annotator when",
        help_text="The annotator confirms, or goes back to the document.",
    )

    class Meta:
        model = Project
        fields = ["name", "description", "overlap", "blind", "guidelines", "submit_checks"]
        labels = {
            "blind": "Blind: annotators never see each other's spans",
            "submit_checks": "Before a submit, ask the annotator when",
        }
        help_texts = {
            "guidelines": "Markdown: **bold**, _italic_, lists, headings, links.",
            "blind": "Off: annotators see, read-only, the other annotators' spans on the "
            "documents assigned to them (never the gold layer or agreement).",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "guidelines": forms.Textarea(attrs={"rows": 14}),
        }


class AddMemberForm(forms.Form):
    person = forms.CharField(max_length=254, label="Username or e-mail")
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=Role.ANNOTATOR)


class InvitationForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=Role.ANNOTATOR)
    email = forms.EmailField(
        required=False,
        label="E-mail (optional)",
        help_text="The link is sent there too; either way you see it once, here.",
    )


class JoinForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="Password again",
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "the two passwords differ")
        return data
