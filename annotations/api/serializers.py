"""Input serializers check the shape of a request; output serializers render results.

The rules (offsets, labels, attributes, quotes, who may write) live in the services;
these classes never write. Offsets are Unicode code points, half-open.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from annotations.models import (
    MAX_ID,
    AssignmentStatus,
    CatalogueKind,
    Document,
    LabelKind,
    LabelType,
    Layer,
    LayerStatus,
    Membership,
    Project,
    Relation,
    Role,
    Span,
    SubmitCheck,
)
from annotations.services.projects import PRESET_SCHEMA, SCHEMA_STARTS

# A layer version is a PostgreSQL integer: a larger number cannot be one.
MAX_VERSION = 2**31 - 1


# --- errors (documentation only: the exception handler builds these bodies) -----------

VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Field (dotted path for nested input) -> reasons.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"end": ["must be at most the text's length (3528 code points)"]},
}


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField()


# --- projects and members -------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100, default="API", help_text="What the token is for, e.g. the script's name."
    )


class TokenCreatedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key: shown this once, never again.")
    id = serializers.IntegerField()
    name = serializers.CharField()


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(
        choices=Role.choices, read_only=True, help_text="The caller's role in the project."
    )
    archived = serializers.SerializerMethodField(
        help_text="An archived project is read-only (writes get 403)."
    )

    class Meta:
        model = Project
        fields = [
            "slug",
            "name",
            "description",
            "guidelines",
            "overlap",
            "blind",
            "submit_checks",
            "archived",
            "created_at",
            "role",
        ]
        read_only_fields = fields

    def get_archived(self, project: Project) -> bool:
        return project.archived_at is not None


class ProjectCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    guidelines = serializers.CharField(required=False, allow_blank=True, default="")
    overlap = serializers.IntegerField(
        required=False,
        default=2,
        min_value=1,
        max_value=100,
        help_text="k: annotators per document.",
    )
    blind = serializers.BooleanField(required=False, default=True)
    schema = serializers.ChoiceField(
        choices=list(SCHEMA_STARTS.items()),
        required=False,
        default=PRESET_SCHEMA,
        help_text="What the label schema starts from: the news claims preset, or empty.",
    )


class ProjectUpdateSerializer(serializers.Serializer):
    """Any of these; the ones left out keep their value."""

    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    guidelines = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    overlap = serializers.IntegerField(
        required=False, min_value=1, max_value=100, help_text="k: annotators per document."
    )
    blind = serializers.BooleanField(required=False)
    submit_checks = serializers.ListField(
        child=serializers.ChoiceField(choices=SubmitCheck.choices),
        required=False,
        help_text="What the annotation page asks about before a submit: "
        + ", ".join(f"{value} ({label})" for value, label in SubmitCheck.choices),
    )
    archived = serializers.BooleanField(
        required=False, help_text="true archives the project (read-only), false unarchives it."
    )


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "joined_at"]
        read_only_fields = fields


class MemberCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_username(self, value: str) -> Any:
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise serializers.ValidationError("no user has this name")
        return user


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


# --- schema ---------------------------------------------------------------------------


class LabelSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=LabelKind.choices, read_only=True)
    attribute_schema = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        read_only=True,
        help_text='Attribute name -> allowed values, e.g. {"polarity": ["positive", ...]}.',
    )
    head_label: serializers.SlugRelatedField[LabelType] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )
    tail_label: serializers.SlugRelatedField[LabelType] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )
    choices = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Document labels: the values a layer may give the document.",
    )
    multiple = serializers.BooleanField(
        read_only=True, help_text="Document labels: whether a layer may give several values."
    )
    catalogue = serializers.ChoiceField(
        choices=[("", "none"), *CatalogueKind.choices],
        read_only=True,
        help_text="Span labels: the catalogue a span links to (blank: none).",
    )
    stance_values = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Span labels linking to propositions: the stances a span may take.",
    )

    class Meta:
        model = LabelType
        fields = [
            "id",
            "name",
            "kind",
            "colour",
            "hotkey",
            "description",
            "attribute_schema",
            "head_label",
            "tail_label",
            "allow_overlap",
            "choices",
            "multiple",
            "catalogue",
            "link_required",
            "stance_values",
            "position",
        ]
        read_only_fields = fields


class LabelRenamesSerializer(serializers.Serializer):
    attributes = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text='Attribute old name -> new name: {"kind": "source_kind"}.',
    )
    values = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        required=False,
        help_text="Attribute (its new name) -> {old value: new value}.",
    )
    choices = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="A document label's choices, old -> new.",
    )
    stances = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="A span label's stance values, old -> new.",
    )


class LabelWriteSerializer(serializers.Serializer):
    """A label to create (``kind`` and ``name`` required) or the fields to change.

    Renaming an attribute, a value or a choice rewrites the annotations that use it; a
    new ``attribute_schema`` or ``choices`` removes what it leaves out (refused while in
    use unless ``?delete_annotations=true``).
    """

    kind = serializers.ChoiceField(choices=LabelKind.choices, required=False)
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    colour = serializers.CharField(required=False, help_text="#rrggbb")
    hotkey = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="One character."
    )
    position = serializers.IntegerField(required=False, min_value=0, max_value=32767)
    allow_overlap = serializers.BooleanField(required=False)
    attribute_schema = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Attribute name -> allowed values, e.g. {"polarity": ["positive", ...]}.',
    )
    head_label = serializers.CharField(
        required=False, allow_null=True, help_text="A span label's name; null: any."
    )
    tail_label = serializers.CharField(
        required=False, allow_null=True, help_text="A span label's name; null: any."
    )
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    multiple = serializers.BooleanField(required=False)
    catalogue = serializers.ChoiceField(
        choices=[("", "none"), *CatalogueKind.choices],
        required=False,
        allow_blank=True,
        help_text="Span labels: the catalogue a span links to (blank: none).",
    )
    link_required = serializers.BooleanField(
        required=False, help_text="Refuse to submit a layer with such a span unlinked."
    )
    stance_values = serializers.ListField(child=serializers.CharField(), required=False)
    renames = LabelRenamesSerializer(required=False)


# --- documents ------------------------------------------------------------------------


class DocumentSerializer(serializers.ModelSerializer):
    meta = serializers.DictField(read_only=True)
    length = serializers.IntegerField(read_only=True, help_text="In Unicode code points.")
    status = serializers.ChoiceField(
        choices=AssignmentStatus.choices,
        read_only=True,
        allow_null=True,
        help_text="The caller's own assignment status (null when not assigned).",
    )

    class Meta:
        model = Document
        fields = ["id", "external_id", "meta", "length", "status", "created_at"]
        read_only_fields = fields


class DocumentDetailSerializer(DocumentSerializer):
    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "text"]
        read_only_fields = fields


class QueueNextSerializer(serializers.Serializer):
    document = DocumentSerializer(allow_null=True, help_text="Null when nothing is left.")


class SkipInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class SkipResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AssignmentStatus.choices)


# --- layers, spans, relations: output -------------------------------------------------


class SpanSerializer(serializers.ModelSerializer):
    # "label" shadows Field.label in the type stubs only: the metaclass collects it.
    label = serializers.CharField(source="label.name", read_only=True)  # type: ignore[assignment]
    attrs = serializers.DictField(source="attributes", read_only=True)
    entry = serializers.CharField(
        source="entry.key",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The key of the catalogue entry the span links to (null: none).",
    )
    stance = serializers.CharField(
        read_only=True, help_text="The stance toward the entry (blank: none)."
    )

    class Meta:
        model = Span
        fields = ["id", "label", "start", "end", "attrs", "quote", "entry", "stance"]
        read_only_fields = fields


class RelationSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="label.name", read_only=True)
    head = serializers.IntegerField(source="head_id", read_only=True, help_text="A span id.")
    tail = serializers.IntegerField(source="tail_id", read_only=True, help_text="A span id.")

    class Meta:
        model = Relation
        fields = ["id", "type", "head", "tail"]
        read_only_fields = fields


class LayerSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(
        source="annotator.username", read_only=True, allow_null=True, default=None
    )
    status = serializers.ChoiceField(choices=LayerStatus.choices, read_only=True)
    spans = SpanSerializer(many=True, read_only=True)
    relations = RelationSerializer(many=True, read_only=True)
    document_labels = serializers.SerializerMethodField(
        help_text="The values the layer gives its document: {label name: [values]}."
    )

    class Meta:
        model = Layer
        fields = [
            "id",
            "document",
            "annotator",
            "is_gold",
            "status",
            "version",
            "spans",
            "relations",
            "document_labels",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    )
    def get_document_labels(self, layer: Layer) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for row in layer.document_labels.select_related("label").order_by("label__name", "value"):
            found.setdefault(row.label.name, []).append(row.value)
        return found


class LayerSummarySerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(
        source="annotator.username", read_only=True, allow_null=True, default=None
    )
    status = serializers.ChoiceField(choices=LayerStatus.choices, read_only=True)
    span_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Layer
        fields = [
            "id",
            "document",
            "annotator",
            "is_gold",
            "status",
            "version",
            "span_count",
            "updated_at",
            "submitted_at",
        ]
        read_only_fields = fields


class SpanWriteResultSerializer(serializers.Serializer):
    span = SpanSerializer()
    version = serializers.IntegerField(help_text="The layer's version after the write.")


class RelationWriteResultSerializer(serializers.Serializer):
    relation = RelationSerializer()
    version = serializers.IntegerField(help_text="The layer's version after the write.")


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The layer's version after the write.")


# --- layers, spans, relations: input --------------------------------------------------


class WholeNumberField(serializers.IntegerField):
    """An integer written as a JSON integer: ``"1"`` and ``1.0`` are refused, not read as
    1, so a client that sends offsets of the wrong type learns it at once."""

    default_error_messages = {"invalid": 'must be a whole number, e.g. 12 (not "12" or 12.0)'}

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            self.fail("invalid")
        return int(super().to_internal_value(data))


def version_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_VERSION,
        help_text="The layer version the client loaded; stale -> 409. Or send If-Match.",
    )


class SpanFields(serializers.Serializer):
    label = serializers.CharField(max_length=100)  # type: ignore[assignment]
    start = WholeNumberField(help_text="Code point offset, inclusive.")
    end = WholeNumberField(help_text="Code point offset, exclusive.")
    attrs = serializers.DictField(required=False, default=dict)
    # Whitespace is text too: a quote of " a" must stay " a" (docs/offsets.md).
    quote = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="When given, must equal text[start:end].",
    )
    entry = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text="The key of an entry of the label's catalogue.",
    )
    stance = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="One of the label's stance values toward the entry.",
    )


class SpanCreateSerializer(SpanFields):
    version = version_field()


class SpanUpdateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=100, required=False)  # type: ignore[assignment]
    start = WholeNumberField(required=False)
    end = WholeNumberField(required=False)
    attrs = serializers.DictField(required=False)
    quote = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    entry = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text="The key of an entry of the label's catalogue; null unlinks the span.",
    )
    stance = serializers.CharField(required=False, allow_blank=True, max_length=40)
    version = version_field()


class RelationCreateSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=100, help_text="A relation label's name.")
    head = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A span id.")
    tail = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A span id.")
    version = version_field()


class ContentRelationSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=100)
    head = serializers.IntegerField(help_text="Index into this request's spans.")
    tail = serializers.IntegerField(help_text="Index into this request's spans.")


class LayerContentSerializer(serializers.Serializer):
    spans = SpanFields(many=True)
    relations = ContentRelationSerializer(many=True, required=False, default=list)
    document_labels = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(max_length=200)),
        required=False,
        help_text="{label name: [values]}; when given, replaces every document label.",
    )
    version = version_field()


class DocumentLabelInputSerializer(serializers.Serializer):
    values = serializers.ListField(
        child=serializers.CharField(max_length=200),
        max_length=1000,
        help_text="Every value the layer gives the document for this label; [] clears them.",
    )
    version = version_field()


class DocumentLabelResultSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]
    values = serializers.ListField(child=serializers.CharField())
    version = serializers.IntegerField()


class VersionInputSerializer(serializers.Serializer):
    version = version_field()


class SubmitInputSerializer(VersionInputSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Gold only: why it is final while candidates are still unsettled (without "
        "one, such a submit is refused with 400 and the count of open candidates).",
    )


# --- batches of span and link writes --------------------------------------------------

MAX_REF = 40


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            {"type": "string", "minLength": 1, "maxLength": MAX_REF},
        ],
        "description": "An id, or the ref an operation earlier in this batch gave what it made.",
    }
)
class TargetField(serializers.Field):
    default_error_messages = {
        "invalid": "must be an id (a whole number) or the ref (a string) of something an "
        "operation earlier in this batch made"
    }

    def to_internal_value(self, data: Any) -> int | str:
        if type(data) is int and 1 <= data <= MAX_ID:
            return data
        if isinstance(data, str) and 1 <= len(data) <= MAX_REF:
            return data
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


def ref_field() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        max_length=MAX_REF,
        help_text="The client's name for what this makes: later operations and the answer use it.",
    )


def op_field(name: str) -> serializers.CharField:
    return serializers.CharField(help_text=f'"{name}"')


class CreateSpanOperationSerializer(SpanFields):
    op = op_field("create_span")
    ref = ref_field()


class UpdateSpanOperationSerializer(SpanUpdateSerializer):
    op = op_field("update_span")
    id = TargetField()
    version = None  # type: ignore[assignment]  # the batch carries it


class DeleteSpanOperationSerializer(serializers.Serializer):
    op = op_field("delete_span")
    id = TargetField()


class CreateLinkOperationSerializer(serializers.Serializer):
    op = op_field("create_link")
    type = serializers.CharField(max_length=100, help_text="A relation label's name.")
    head = TargetField()
    tail = TargetField()
    ref = ref_field()


class DeleteLinkOperationSerializer(serializers.Serializer):
    op = op_field("delete_link")
    id = TargetField()


OPERATION_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "create_span": CreateSpanOperationSerializer,
    "update_span": UpdateSpanOperationSerializer,
    "delete_span": DeleteSpanOperationSerializer,
    "create_link": CreateLinkOperationSerializer,
    "delete_link": DeleteLinkOperationSerializer,
}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="LayerOperation",
        serializers={**OPERATION_SERIALIZERS},
        resource_type_field_name="op",
    )
)
class OperationField(serializers.Field):
    """One operation, checked by the serializer its ``op`` names."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._by_kind: dict[str, serializers.Serializer] = {}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        kind = data.get("op") if isinstance(data, dict) else None
        if not isinstance(kind, str) or kind not in OPERATION_SERIALIZERS:
            choices = ", ".join(OPERATION_SERIALIZERS)
            raise serializers.ValidationError({"op": [f"must be one of: {choices}"]})
        # One serializer per kind, reused across the batch as ListSerializer reuses its
        # child: making one per operation copies its fields each time.
        if kind not in self._by_kind:
            self._by_kind[kind] = OPERATION_SERIALIZERS[kind]()
        return dict(self._by_kind[kind].run_validation(data))

    def to_representation(self, value: Any) -> Any:
        return value


class OperationListField(serializers.ListField):
    """The cap (``LAYER_OPERATIONS_MAX``) is read per request and checked before any
    operation is."""

    def to_internal_value(self, data: Any) -> list[Any]:
        cap = settings.LAYER_OPERATIONS_MAX
        if isinstance(data, list) and len(data) > cap:
            self.fail("max_length", max_length=cap)
        return list(super().to_internal_value(data))


class OperationsInputSerializer(serializers.Serializer):
    version = version_field()
    operations = OperationListField(
        child=OperationField(),
        allow_empty=False,
        max_length=settings.LAYER_OPERATIONS_MAX,
        help_text="Applied in order, all or none.",
    )


class OperationsResultSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The layer's version after the batch.")
    spans = serializers.DictField(
        child=SpanSerializer(), help_text="ref -> the span made under it (unless deleted again)."
    )
    links = serializers.DictField(
        child=RelationSerializer(),
        help_text="ref -> the link made under it (unless deleted again).",
    )
