"""The label schema page (managers): every label of the project, grouped by kind, each
editable in place through small forms, one change per form (docs/schema.md).

Each form posts one operation (``op``) to the same address; the service checks it. A
refused change renders the page again (400) with the reasons next to the form that asked
for it; an accepted one redirects back (post/redirect/get).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from annotations.access import Access
from annotations.models import CatalogueKind, LabelKind, LabelType, Role
from annotations.services import schema as schema_service
from annotations.views.access import project_page

KIND_TITLES = {
    LabelKind.SPAN: "Span labels",
    LabelKind.RELATION: "Relation types",
    LabelKind.DOCUMENT: "Document labels",
}


NOUNS: dict[str, str] = {
    LabelKind.SPAN: "span",
    LabelKind.RELATION: "relation",
    LabelKind.DOCUMENT: "document label",
}


class LabelForm(forms.Form):
    """A label's own fields; which of them apply depends on its kind."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    colour = forms.CharField(
        max_length=7, initial="#888888", widget=forms.TextInput(attrs={"type": "color"})
    )
    hotkey = forms.CharField(max_length=1, required=False, strip=False)
    allow_overlap = forms.BooleanField(required=False, initial=True)
    head_label = forms.ModelChoiceField(
        queryset=LabelType.objects.none(), required=False, empty_label="any"
    )
    tail_label = forms.ModelChoiceField(
        queryset=LabelType.objects.none(), required=False, empty_label="any"
    )
    multiple = forms.ChoiceField(
        choices=[("false", "single choice"), ("true", "multiple choice")], initial="false"
    )
    choices = forms.CharField(required=False, help_text="Comma-separated.")
    catalogue = forms.ChoiceField(
        choices=[("", "no catalogue"), *CatalogueKind.choices],
        required=False,
        help_text="Spans of the label link to an entry of this catalogue (docs/catalogues.md).",
    )
    link_required = forms.BooleanField(
        required=False, label="Link required", help_text="No submitting with a span unlinked."
    )
    position = forms.IntegerField(
        min_value=0, max_value=32767, required=False, help_text="Order on the pages."
    )

    FIELDS = {
        LabelKind.SPAN: (
            "name",
            "description",
            "colour",
            "hotkey",
            "allow_overlap",
            "catalogue",
            "link_required",
            "position",
        ),
        LabelKind.RELATION: (
            "name",
            "description",
            "colour",
            "head_label",
            "tail_label",
            "position",
        ),
        LabelKind.DOCUMENT: ("name", "description", "multiple", "position"),
    }

    def __init__(
        self, *args: Any, kind: str, span_labels: Any, creating: bool = False, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = set(self.FIELDS[LabelKind(kind)])
        if creating and kind == LabelKind.DOCUMENT:
            keep.add("choices")
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        for end in ("head_label", "tail_label"):
            if end in self.fields:
                self.fields[end].queryset = span_labels  # type: ignore[attr-defined]
                self.fields[end].label_from_instance = lambda label: label.name  # type: ignore[attr-defined]

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.get("position") is None:
            data.pop("position", None)
        if "multiple" in data:
            data["multiple"] = data["multiple"] == "true"
        if "choices" in data:
            data["choices"] = [c.strip() for c in data["choices"].split(",") if c.strip()]
        return data


class OperationForm(forms.Form):
    """The small forms: one attribute, value or choice at a time, or a label's removal."""

    label = forms.IntegerField()
    attribute = forms.CharField(required=False, strip=False)
    value = forms.CharField(required=False, strip=False)
    new_name = forms.CharField(required=False)
    values = forms.CharField(required=False)
    delete_annotations = forms.BooleanField(required=False)


@dataclass
class Row:
    """One editable item of the page and the errors its forms got."""

    name: str
    usage: schema_service.Usage
    errors: list[str] = field(default_factory=list)
    children: list[Row] = field(default_factory=list)
    add_errors: list[str] = field(default_factory=list)


@dataclass
class LabelRow:
    label: LabelType
    form: LabelForm
    usage: schema_service.Usage
    delete_errors: list[str] = field(default_factory=list)
    attributes: list[Row] = field(default_factory=list)
    add_attribute_errors: list[str] = field(default_factory=list)
    choices: list[Row] = field(default_factory=list)
    add_choice_errors: list[str] = field(default_factory=list)
    stances: list[Row] = field(default_factory=list)
    add_stance_errors: list[str] = field(default_factory=list)


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{message}" for messages_ in error.message_dict.values() for message in messages_]
    return list(error.messages)


class SchemaPage:
    """The page's state for one request: the labels, their forms and the errors."""

    def __init__(self, access: Access):
        self.access = access
        self.labels = list(
            LabelType.objects.filter(project=access.project)
            .select_related("head_label", "tail_label")
            .order_by("position", "name")
        )
        self.span_labels = LabelType.objects.filter(project=access.project, kind=LabelKind.SPAN)
        self.failed: tuple[str, int | None, str, str] | None = None
        self.errors: list[str] = []
        self.bound_form: LabelForm | None = None

    def label(self, pk: int) -> LabelType:
        for label in self.labels:
            if label.pk == pk:
                return label
        raise ValidationError({"label": ["no such label in this project"]})

    def label_form(self, kind: str, data: Any = None, label: LabelType | None = None) -> LabelForm:
        initial = None
        if label is not None:
            initial = {
                "name": label.name,
                "description": label.description,
                "colour": label.colour,
                "hotkey": label.hotkey,
                "allow_overlap": label.allow_overlap,
                "head_label": label.head_label_id,
                "tail_label": label.tail_label_id,
                "multiple": "true" if label.multiple else "false",
                "catalogue": label.catalogue,
                "link_required": label.link_required,
                "position": label.position,
            }
        return LabelForm(
            data,
            kind=kind,
            span_labels=self.span_labels,
            creating=label is None,
            initial=initial,
            prefix=f"label-{label.pk}" if label else f"new-{kind}",
        )

    # --- operations ---

    def perform(self, request: HttpRequest) -> str:
        """Carry out the posted operation; what to tell the user. Raises ValidationError."""
        op = request.POST.get("op", "")
        if op in ("create", "update"):
            return self._label_fields(op, request)
        form = OperationForm(request.POST)
        self.failed = (
            op,
            _int(request.POST.get("label")),
            request.POST.get("attribute", ""),
            request.POST.get("value", ""),
        )
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        data = form.cleaned_data
        label = self.label(data["label"])
        delete = data["delete_annotations"]
        if op == "delete":
            schema_service.delete_label(access=self.access, label=label, delete_annotations=delete)
            return f"Removed {label.name}."
        arguments = _update_arguments(op, label, data)
        schema_service.update_label(
            access=self.access, label=label, delete_annotations=delete, **arguments
        )
        return f"Saved {label.name}."

    def _label_fields(self, op: str, request: HttpRequest) -> str:
        if op == "create":
            kind = request.POST.get("kind", "")
            if kind not in LabelKind.values:
                raise ValidationError({"kind": ["unknown kind"]})
            self.failed = ("create", None, kind, "")
            form = self.bound_form = self.label_form(kind, request.POST)
        else:
            label = self.label(_int(request.POST.get("label")) or 0)
            self.failed = ("update", label.pk, "", "")
            form = self.bound_form = self.label_form(label.kind, request.POST, label)
        if not form.is_valid():
            raise ValidationError("")
        try:
            if op == "create":
                made = schema_service.create_label(
                    access=self.access, kind=form.kind, **form.changes()
                )
                return f"Added {made.name}."
            changed = schema_service.update_label(
                access=self.access, label=label, changes=form.changes()
            )
            return f"Saved {changed.name}."
        except ValidationError as error:
            for name, reasons in error.message_dict.items():
                form.add_error(name if name in form.fields else None, reasons)
            raise

    # --- rendering ---

    def _errors_for(
        self, op: str, label_id: int | None, attribute: str = "", value: str = ""
    ) -> list[str]:
        return self.errors if self.failed == (op, label_id, attribute, value) else []

    def groups(self) -> list[dict[str, Any]]:
        usage = schema_service.schema_usage(self.labels)
        groups = []
        for kind, title in KIND_TITLES.items():
            rows = []
            for label in (lab for lab in self.labels if lab.kind == kind):
                rows.append(self._row(label, usage))
            new_form = self.bound_form if self.failed == ("create", None, kind, "") else None
            groups.append(
                {
                    "kind": kind,
                    "title": title,
                    "rows": rows,
                    "new_form": new_form or self.label_form(kind),
                }
            )
        return groups

    def _row(self, label: LabelType, usage: schema_service.SchemaUsage) -> LabelRow:
        none = schema_service.Usage(0, 0)
        form = self.bound_form if self.failed == ("update", label.pk, "", "") else None
        row = LabelRow(
            label=label,
            form=form or self.label_form(label.kind, label=label),
            usage=usage.labels.get(label.pk, schema_service.Usage(0, 0, NOUNS[label.kind])),
            delete_errors=self._errors_for("delete", label.pk),
            add_attribute_errors=self._errors_for("add-attribute", label.pk),
            add_choice_errors=self._errors_for("add-choice", label.pk),
            add_stance_errors=self._errors_for("add-stance", label.pk),
        )
        for attribute, values in label.attribute_schema.items():
            row.attributes.append(
                Row(
                    name=attribute,
                    usage=usage.attributes.get((label.pk, attribute), none),
                    errors=self._errors_for("rename-attribute", label.pk, attribute)
                    + self._errors_for("remove-attribute", label.pk, attribute),
                    add_errors=self._errors_for("add-value", label.pk, attribute),
                    children=[
                        Row(
                            name=value,
                            usage=usage.values.get((label.pk, attribute, value), none),
                            errors=self._errors_for("rename-value", label.pk, attribute, value)
                            + self._errors_for("remove-value", label.pk, attribute, value),
                        )
                        for value in values
                    ],
                )
            )
        for choice in label.choices:
            row.choices.append(
                Row(
                    name=choice,
                    usage=usage.choices.get(
                        (label.pk, choice), schema_service.Usage(0, 0, NOUNS[label.kind])
                    ),
                    errors=self._errors_for("rename-choice", label.pk, "", choice)
                    + self._errors_for("remove-choice", label.pk, "", choice),
                )
            )
        for stance in label.stance_values:
            row.stances.append(
                Row(
                    name=stance,
                    usage=usage.stances.get((label.pk, stance), none),
                    errors=self._errors_for("rename-stance", label.pk, "", stance)
                    + self._errors_for("remove-stance", label.pk, "", stance),
                )
            )
        return row


def _update_arguments(op: str, label: LabelType, data: dict[str, Any]) -> dict[str, Any]:
    """What ``update_label`` needs for one of the small forms' operations."""
    attribute, value, new_name = data["attribute"], data["value"], data["new_name"]
    schema = {name: list(values) for name, values in label.attribute_schema.items()}
    if op == "add-attribute":
        values = [v.strip() for v in data["values"].split(",") if v.strip()]
        return {"changes": {"attribute_schema": {**schema, new_name: values}}}
    if op == "remove-attribute":
        schema.pop(attribute, None)
        return {"changes": {"attribute_schema": schema}}
    if op == "add-value":
        schema.setdefault(attribute, []).append(new_name)
        return {"changes": {"attribute_schema": schema}}
    if op == "remove-value":
        schema[attribute] = [v for v in schema.get(attribute, []) if v != value]
        return {"changes": {"attribute_schema": schema}}
    if op == "add-choice":
        return {"changes": {"choices": [*label.choices, new_name]}}
    if op == "remove-choice":
        return {"changes": {"choices": [c for c in label.choices if c != value]}}
    if op == "add-stance":
        return {"changes": {"stance_values": [*label.stance_values, new_name]}}
    if op == "remove-stance":
        return {"changes": {"stance_values": [v for v in label.stance_values if v != value]}}
    renames = {
        "rename-attribute": {"renamed_attributes": {attribute: new_name}},
        "rename-value": {"renamed_values": {attribute: {value: new_name}}},
        "rename-choice": {"renamed_choices": {value: new_name}},
        "rename-stance": {"renamed_stances": {value: new_name}},
    }
    if op not in renames:
        raise ValidationError({"op": ["unknown operation"]})
    return {"changes": {}, **renames[op]}


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


@project_page(visible_to=(Role.MANAGER,))
def schema_page(request: HttpRequest, access: Access) -> HttpResponse:
    page = SchemaPage(access)
    status = 200
    if request.method == "POST":
        try:
            done = page.perform(request)
        except ValidationError as error:
            page.errors = [m for m in _messages(error) if m]
            status = 400
        else:
            messages.success(request, done)
            return redirect("schema", slug=access.project.slug)
    context = {
        "project": access.project,
        "role": access.role,
        "groups": page.groups(),
        "errors": page.errors,
        "reserved_keys": ", ".join(sorted(schema_service.RESERVED_HOTKEYS)),
    }
    return render(request, "annotations/schema.html", context, status=status)


urlpatterns = [
    path("projects/<slug:slug>/schema/", schema_page, name="schema"),
]
