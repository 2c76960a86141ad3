"""The REST API: thin views that resolve what the caller may see, then call one service.

Visibility follows the roles (docs/architecture.md): anything in a project the caller is
not a member of is 404, and so is any object their role hides (another annotator's layer,
the gold layer for annotators, documents not assigned to them). A member whose role may not do
something they can see (an annotator importing files, a reviewer writing an annotator's
layer) gets 403 with the reason. Writes to a layer carry the version the client loaded
(``version`` in the body or query, or ``If-Match: "N"``); a stale one is 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from annotations import selectors
from annotations.access import NO_LAYER, projects_for, resolve_access
from annotations.api import serializers as s
from annotations.api.access import LayerAccessMixin, ProjectAccessMixin, signed_in
from annotations.api.filters import DocumentFilter, MemberFilter
from annotations.api.parsers import JSONParser
from annotations.api.schema import (
    BAD_REQUEST,
    ETAG,
    FORBIDDEN,
    IF_MATCH,
    LAYER_WRITE_ERRORS,
    LIST_ERRORS,
    READ_ERRORS,
    VERSION_QUERY,
    WRITE_ERRORS,
)
from annotations.models import (
    AssignmentStatus,
    Document,
    LabelType,
    Layer,
    Membership,
    Project,
    Relation,
    Role,
    Span,
)
from annotations.services import layers as layer_service
from annotations.services import operations as operation_service
from annotations.services import projects as project_service
from annotations.services import schema as schema_service
from annotations.services import tokens as token_service


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _parse_version(raw: str, name: str) -> int:
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= s.MAX_VERSION:
        raise ValidationError({name: ['must be a layer version, e.g. "4"']})
    return int(value)


def expected_version(request: Request, body_version: int | None = None) -> int | None:
    """The version the client says it loaded: body, then query, then If-Match; or None."""
    if body_version is not None:
        return body_version
    if "version" in request.query_params:
        return _parse_version(request.query_params["version"], "version")
    header = request.headers.get("If-Match", "").strip()
    if header and header != "*":
        return _parse_version(header, "If-Match")
    return None


def layer_response(layer: Layer) -> Response:
    body = selectors.layer_body(layer.pk)
    return Response(body, headers=_etag(body["version"]))


# --- projects -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Projects the caller is a member of",
        responses={200: s.ProjectSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One project", responses={200: s.ProjectSerializer, **READ_ERRORS}
    ),
)
class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Projects, each with the caller's role in it."""

    serializer_class = s.ProjectSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_queryset(self) -> QuerySet[Project]:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        user = signed_in(self.request)
        mine = Membership.objects.filter(project=OuterRef("pk"), user=user).order_by()
        return projects_for(user).annotate(role=Subquery(mine.values("role")[:1])).order_by("name")

    @extend_schema(
        summary="Create a project with the news claims schema",
        description='Staff, and people granted "can create projects" (`annotations.add_project`). '
        "The caller becomes the project's manager.",
        request=s.ProjectCreateSerializer,
        responses={201: s.ProjectSerializer, 400: BAD_REQUEST, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        if not project_service.may_create_projects(signed_in(request)):
            raise PermissionDenied(project_service.CREATE_PROJECTS_MESSAGE)
        data = s.ProjectCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_service.start_project(user=signed_in(request), **data.validated_data)
        return self._as_listed(project, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a project's settings (managers)",
        description="Changing overlap (k) does not change assignments: assigning applies it.",
        request=s.ProjectUpdateSerializer,
        responses={200: s.ProjectSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, slug: str) -> Response:
        # Not refused in an archived project: this is where it is unarchived.
        access = resolve_access(signed_in(request), slug=slug)
        access.require((Role.MANAGER,), project_service.SETTINGS_MANAGERS_ONLY_MESSAGE)
        data = s.ProjectUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_service.update_project_settings(access=access, **data.validated_data)
        return self._as_listed(project, status.HTTP_200_OK)

    def _as_listed(self, project: Project, code: int) -> Response:
        # Read back as the list reads it: with the caller's role annotated.
        listed = self.get_queryset().get(pk=project.pk)
        return Response(s.ProjectSerializer(listed).data, status=code)


@extend_schema_view(
    list=extend_schema(
        summary="Members of a project (managers)",
        responses={200: s.MemberSerializer, **LIST_ERRORS},
    ),
)
class MemberViewSet(ProjectAccessMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A project's members and their roles; managers only."""

    serializer_class = s.MemberSerializer
    filterset_class = MemberFilter
    lookup_field = "user__username"
    lookup_url_kwarg = "username"
    lookup_value_regex = r"[\w.@+-]+"

    def get_queryset(self) -> QuerySet[Membership]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular building the schema
            return Membership.objects.none()
        self.access.require((Role.MANAGER,), project_service.MANAGERS_ONLY_MESSAGE)
        return (
            Membership.objects.filter(project=self.access.project)
            .select_related("user")
            .order_by("user__username")
        )

    @extend_schema(
        summary="Add a member with a role (managers)",
        request=s.MemberCreateSerializer,
        responses={201: s.MemberSerializer, **WRITE_ERRORS},
    )
    def create(self, request: Request, slug: str) -> Response:
        self.access.require((Role.MANAGER,), project_service.MANAGERS_ONLY_MESSAGE)
        data = s.MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = project_service.invite_member(
            access=self.access,
            user=data.validated_data["username"],
            role=data.validated_data["role"],
        )
        return Response(s.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a member's role (managers)",
        request=s.MemberUpdateSerializer,
        responses={200: s.MemberSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, slug: str, username: str) -> Response:
        membership = self.get_object()
        data = s.MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = project_service.change_member_role(
            access=self.access, membership=membership, role=data.validated_data["role"]
        )
        return Response(s.MemberSerializer(membership).data)

    @extend_schema(
        summary="Remove a member (managers); their layers stay",
        responses={204: None, **WRITE_ERRORS},
    )
    def destroy(self, request: Request, slug: str, username: str) -> Response:
        project_service.remove_member(access=self.access, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


DELETE_ANNOTATIONS = OpenApiParameter(
    "delete_annotations",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    description="Also delete (or strip) the annotations that use what the change removes.",
)


def _delete_annotations(request: Request) -> bool:
    raw = request.query_params.get("delete_annotations", "false").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        raise ValidationError({"delete_annotations": ["must be true or false"]})
    return raw in ("true", "1")


@extend_schema_view(
    list=extend_schema(
        summary="The project's label schema",
        responses={200: s.LabelSerializer(many=True), **READ_ERRORS},
    ),
)
@extend_schema(parameters=[OpenApiParameter("label_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class LabelViewSet(ProjectAccessMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The label schema: span labels with their attributes, relation labels with the
    span labels their ends take, document labels with their choices. Everyone in the
    project reads it; managers change it (docs/schema.md)."""

    serializer_class = s.LabelSerializer
    pagination_class = None
    lookup_url_kwarg = "label_id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[LabelType]:
        if getattr(self, "swagger_fake_view", False):
            return LabelType.objects.none()
        return selectors.labels_with_ends(self.access.project)

    def _write_input(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """The validated fields (relation ends as labels) and the renames."""
        self.access.require((Role.MANAGER,), schema_service.MANAGERS_ONLY_MESSAGE)
        data = s.LabelWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        renames = fields.pop("renames", {})
        for end in ("head_label", "tail_label"):
            if fields.get(end) is not None:
                found = LabelType.objects.filter(
                    project=self.access.project, name=fields[end]
                ).first()
                if found is None:
                    raise ValidationError({end: [f"no span label named {fields[end]!r}"]})
                fields[end] = found
        return fields, renames

    def _read(self, label: LabelType) -> dict[str, Any]:
        return dict(s.LabelSerializer(self.get_queryset().get(pk=label.pk)).data)

    @extend_schema(
        summary="Add a label (managers)",
        request=s.LabelWriteSerializer,
        responses={201: s.LabelSerializer, **WRITE_ERRORS},
    )
    def create(self, request: Request, slug: str) -> Response:
        fields, renames = self._write_input(request)
        if renames:
            raise ValidationError({"renames": ["a new label has nothing to rename"]})
        missing = {
            name: ["this field is required"] for name in ("kind", "name") if name not in fields
        }
        if missing:
            raise ValidationError(missing)
        label = schema_service.create_label(access=self.access, **fields)
        return Response(self._read(label), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change or rename a label, its attributes, values or choices (managers)",
        request=s.LabelWriteSerializer,
        parameters=[DELETE_ANNOTATIONS],
        responses={200: s.LabelSerializer, **WRITE_ERRORS},
    )
    def partial_update(self, request: Request, slug: str, label_id: str) -> Response:
        fields, renames = self._write_input(request)
        label = schema_service.update_label(
            access=self.access,
            label=self.get_object(),
            changes=fields,
            renamed_attributes=renames.get("attributes"),
            renamed_values=renames.get("values"),
            renamed_choices=renames.get("choices"),
            renamed_stances=renames.get("stances"),
            delete_annotations=_delete_annotations(request),
        )
        return Response(self._read(label))

    @extend_schema(
        summary="Remove a label (managers); refused while in use unless delete_annotations",
        parameters=[DELETE_ANNOTATIONS],
        responses={204: None, **WRITE_ERRORS},
    )
    def destroy(self, request: Request, slug: str, label_id: str) -> Response:
        self.access.require((Role.MANAGER,), schema_service.MANAGERS_ONLY_MESSAGE)
        schema_service.delete_label(
            access=self.access,
            label=self.get_object(),
            delete_annotations=_delete_annotations(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- documents ------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Documents the caller may see", responses={200: s.DocumentSerializer, **LIST_ERRORS}
    ),
    retrieve=extend_schema(
        summary="One document, with its text",
        responses={200: s.DocumentDetailSerializer, **READ_ERRORS},
    ),
)
@extend_schema(parameters=[OpenApiParameter("doc_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class DocumentViewSet(ProjectAccessMixin, viewsets.ReadOnlyModelViewSet):
    """Documents: annotators see the ones assigned to them, reviewers and managers all."""

    filterset_class = DocumentFilter
    lookup_url_kwarg = "doc_id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Document]:
        if getattr(self, "swagger_fake_view", False):
            return Document.objects.none()
        documents = selectors.documents_for(self.access)
        return documents.defer("text") if self.action == "list" else documents

    def get_serializer_class(self) -> type[s.DocumentSerializer]:
        return s.DocumentSerializer if self.action == "list" else s.DocumentDetailSerializer

    @extend_schema(
        summary="The document's layers the caller may see",
        description="Annotators: their own (in a project that is not blind, the other "
        "annotators' layers too, read-only). Reviewers: submitted layers and gold. Managers: all.",
        responses={200: s.LayerSummarySerializer(many=True), **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def layers(self, request: Request, slug: str, doc_id: str) -> Response:
        visible = selectors.visible_layers(self.access, self.get_object())
        return Response(s.LayerSummarySerializer(visible, many=True).data)

    @extend_schema(
        summary="The caller's own layer of the document",
        description="Assigning the document makes the layer; 404 without one.",
        parameters=[ETAG],
        responses={200: s.LayerSerializer, **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="layers/mine", filter_backends=[])
    def mine(self, request: Request, slug: str, doc_id: str) -> Response:
        layer = selectors.own_layer(self.access, self.get_object())
        if layer is None:
            raise Http404("You have no layer of this document.")
        return layer_response(layer)

    @extend_schema(
        methods=["GET"],
        summary="The document's gold layer (reviewers and managers)",
        description="404 until adjudication starts (a POST here, or a merge by vote).",
        parameters=[ETAG],
        responses={200: s.LayerSerializer, **READ_ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        summary="Start adjudicating the document: make its gold layer, empty",
        description="201 with the new gold layer; 200 with the gold layer it already has.",
        request=None,
        responses={200: s.LayerSerializer, 201: s.LayerSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["get", "post"], url_path="layers/gold", filter_backends=[])
    def gold(self, request: Request, slug: str, doc_id: str) -> Response:
        document = self.get_object()
        if not self.access.is_project_staff:
            raise Http404(NO_LAYER)
        if request.method == "GET":
            gold = selectors.gold_layer(document)
            if gold is None:
                raise Http404("The document has no gold layer yet: nobody started adjudicating it.")
            return layer_response(gold)
        gold, created = layer_service.start_gold_layer(access=self.access, document=document)
        response = layer_response(gold)
        if created:
            response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(
        summary="Set an assigned document aside, with a reason",
        request=s.SkipInputSerializer,
        responses={200: s.SkipResultSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser], filter_backends=[])
    def skip(self, request: Request, slug: str, doc_id: str) -> Response:
        document = self.get_object()
        data = s.SkipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = layer_service.skip_document(
            access=self.access, document=document, reason=data.validated_data["reason"]
        )
        return Response({"status": assignment.status})


class QueueNextView(ProjectAccessMixin):
    """The annotator's queue."""

    @extend_schema(
        summary="The caller's next document: assigned to them and not yet submitted",
        description="Documents in progress come first, then by id; skipped ones never.",
        responses={200: s.QueueNextSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        waiting = [AssignmentStatus.IN_PROGRESS, AssignmentStatus.ASSIGNED]
        document = (
            selectors.documents_for(self.access, queue=waiting)
            .defer("text")
            .order_by(selectors.queue_rank("status"), "id")
            .first()
        )
        return Response(s.QueueNextSerializer({"document": document}).data)


# --- layers ---------------------------------------------------------------------------


def _operation(fields: dict[str, Any]) -> operation_service.Operation:
    """A validated operation of a batch as the service takes it."""
    fields = dict(fields)
    kind = fields.pop("op")
    if kind == "update_span" and "entry" in fields and fields["entry"] is None:
        del fields["entry"]  # null: take the link off, as PATCH does
        fields["unlink"] = True
    return OPERATIONS[kind](**fields)


OPERATIONS: dict[str, type[operation_service.Operation]] = {
    "create_span": operation_service.CreateSpan,
    "update_span": operation_service.UpdateSpan,
    "delete_span": operation_service.DeleteSpan,
    "create_link": operation_service.CreateLink,
    "delete_link": operation_service.DeleteLink,
}


@extend_schema(parameters=[OpenApiParameter("layer_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class LayerViewSet(LayerAccessMixin, viewsets.GenericViewSet):
    """A layer: one annotator's spans on a document, or its gold layer. Writes carry the
    version the client loaded (``version`` or ``If-Match``); a stale one gets 409."""

    serializer_class = s.LayerSerializer
    queryset = Layer.objects.none()
    lookup_url_kwarg = "layer_id"
    lookup_value_regex = r"[0-9]+"

    @extend_schema(
        summary="A layer with its spans and relations",
        parameters=[ETAG],
        responses={200: s.LayerSerializer, **READ_ERRORS},
    )
    def retrieve(self, request: Request, layer_id: str) -> Response:
        return layer_response(self.layer)

    @extend_schema(
        summary="Replace every span and relation of the layer at once",
        description="Relations point at spans by their index in this request's list.",
        request=s.LayerContentSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: s.LayerSerializer, **LAYER_WRITE_ERRORS},
    )
    @action(detail=True, methods=["put"], parser_classes=[JSONParser])
    def content(self, request: Request, layer_id: str) -> Response:
        data = s.LayerContentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        layer = layer_service.replace_layer(
            access=self.access,
            spans=[layer_service.SpanInput(**item) for item in data.validated_data["spans"]],
            relations=[
                layer_service.RelationInput(**item) for item in data.validated_data["relations"]
            ],
            document_labels=data.validated_data.get("document_labels"),
            version=expected_version(request, data.validated_data.get("version")),
        )
        return layer_response(layer)

    @extend_schema(
        summary="Set the values the layer gives its document for one document label",
        description="Replaces that label's values on the layer; [] clears them. A "
        "single-choice label takes at most one value, and every value must be one of the "
        "label's choices. The label is named by its name.",
        request=s.DocumentLabelInputSerializer,
        parameters=[
            OpenApiParameter("label", OpenApiTypes.STR, OpenApiParameter.PATH),
            IF_MATCH,
            ETAG,
        ],
        responses={200: s.DocumentLabelResultSerializer, **LAYER_WRITE_ERRORS},
    )
    @action(
        detail=True,
        methods=["put"],
        parser_classes=[JSONParser],
        url_path=r"document-labels/(?P<label>[^/]+)",
    )
    def document_label(self, request: Request, layer_id: str, label: str) -> Response:
        try:
            label_type = layer_service.document_label_of(self.access, label)
        except LabelType.DoesNotExist as exc:
            raise NotFound(str(exc)) from None
        data = s.DocumentLabelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        layer = layer_service.set_document_label(
            access=self.access,
            label=label_type,
            values=data.validated_data["values"],
            version=expected_version(request, data.validated_data.get("version")),
        )
        values = selectors.layer_document_labels(layer.pk).get(label_type.name, [])
        return Response(
            {"label": label_type.name, "values": values, "version": layer.version},
            headers=_etag(layer.version),
        )

    @extend_schema(
        summary="Apply a batch of span and link writes at once",
        description="Creates, changes and deletes spans and links in order, all or none, "
        "as one new version of the layer; each is checked as its single write is. Later "
        "operations name what an earlier one made by its ref; the answer gives what was "
        "made by ref. A refused operation is named by its index: operations[2].end. At "
        "most LAYER_OPERATIONS_MAX (500) operations.",
        request=s.OperationsInputSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: s.OperationsResultSerializer, **LAYER_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def operations(self, request: Request, layer_id: str) -> Response:
        data = s.OperationsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = operation_service.apply_operations(
            access=self.access,
            operations=[_operation(item) for item in data.validated_data["operations"]],
            version=expected_version(request, data.validated_data.get("version")),
        )
        return Response(
            {
                "version": result.version,
                "spans": {
                    ref: layer_service.span_snapshot(span) for ref, span in result.spans.items()
                },
                "links": {
                    ref: layer_service.relation_snapshot(link) for ref, link in result.links.items()
                },
            },
            headers=_etag(result.version),
        )

    def _change_status(self, request: Request, change: Callable[..., Layer]) -> Response:
        """Submit, reopen or unsubmit: a version in the body or If-Match, the layer back."""
        data = s.VersionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = expected_version(request, data.validated_data.get("version"))
        return layer_response(change(access=self.access, version=version))

    @extend_schema(
        summary="Hand the layer in; it becomes read-only",
        request=s.SubmitInputSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: s.LayerSerializer, **LAYER_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def submit(self, request: Request, layer_id: str) -> Response:
        data = s.SubmitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        layer = layer_service.submit_layer(
            access=self.access,
            version=expected_version(request, data.validated_data.get("version")),
            reason=data.validated_data.get("reason", ""),
        )
        return layer_response(layer)

    @extend_schema(
        summary="Reopen a submitted layer (reviewers and managers)",
        request=s.VersionInputSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: s.LayerSerializer, **LAYER_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def reopen(self, request: Request, layer_id: str) -> Response:
        return self._change_status(request, layer_service.reopen_layer)

    @extend_schema(
        summary="Undo your submission while review of the document has not started",
        description=(
            "The annotator's own submitted layer opens again, until a gold layer exists for "
            "the document (adjudication started); after that a reviewer reopens it."
        ),
        request=s.VersionInputSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: s.LayerSerializer, **LAYER_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def unsubmit(self, request: Request, layer_id: str) -> Response:
        return self._change_status(request, layer_service.unsubmit_layer)


@extend_schema(parameters=[OpenApiParameter("layer_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class SpanViewSet(LayerAccessMixin, viewsets.GenericViewSet):
    """Spans of a layer. Offsets are Unicode code points, half-open: text[start:end]."""

    serializer_class = s.SpanSerializer
    parser_classes = [JSONParser]
    lookup_url_kwarg = "span_id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Span]:
        # Only for the schema: the services read a span under the layer's lock.
        return Span.objects.none()

    @extend_schema(
        summary="Add a span",
        request=s.SpanCreateSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={201: s.SpanWriteResultSerializer, **LAYER_WRITE_ERRORS},
    )
    def create(self, request: Request, layer_id: str) -> Response:
        data = s.SpanCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = expected_version(request, fields.pop("version", None))
        span = layer_service.create_span(access=self.access, version=version, **fields)
        # The snapshot is SpanSerializer's shape, without its per-field machinery: span
        # writes are the API's hot path.
        return Response(
            {"span": layer_service.span_snapshot(span), "version": self.layer.version},
            status=status.HTTP_201_CREATED,
            headers=_etag(self.layer.version),
        )

    @extend_schema(
        summary="Change a span's label, offsets or attributes",
        request=s.SpanUpdateSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: s.SpanWriteResultSerializer, **LAYER_WRITE_ERRORS},
    )
    def partial_update(self, request: Request, layer_id: str, span_id: str) -> Response:
        data = s.SpanUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = expected_version(request, fields.pop("version", None))
        if "entry" in fields and fields["entry"] is None:  # null: take the link off
            del fields["entry"]
            fields["unlink"] = True
        span = layer_service.update_span(
            access=self.access, span_id=int(span_id), version=version, **fields
        )
        return Response(
            {"span": layer_service.span_snapshot(span), "version": self.layer.version},
            headers=_etag(self.layer.version),
        )

    @extend_schema(
        summary="Remove a span and the relations that touch it",
        parameters=[VERSION_QUERY, IF_MATCH, ETAG],
        responses={200: s.VersionSerializer, **LAYER_WRITE_ERRORS},
    )
    def destroy(self, request: Request, layer_id: str, span_id: str) -> Response:
        layer = layer_service.delete_span(
            access=self.access, span_id=int(span_id), version=expected_version(request)
        )
        return Response({"version": layer.version}, headers=_etag(layer.version))


@extend_schema(parameters=[OpenApiParameter("layer_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
class RelationViewSet(LayerAccessMixin, viewsets.GenericViewSet):
    """Links between two spans of a layer (head and tail are span ids)."""

    serializer_class = s.RelationSerializer
    parser_classes = [JSONParser]
    lookup_url_kwarg = "rel_id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Relation]:
        # Only for the schema: the services read a relation under the layer's lock.
        return Relation.objects.none()

    @extend_schema(
        summary="Link two spans of the layer",
        request=s.RelationCreateSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={201: s.RelationWriteResultSerializer, **LAYER_WRITE_ERRORS},
    )
    def create(self, request: Request, layer_id: str) -> Response:
        data = s.RelationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = expected_version(request, fields.pop("version", None))
        relation = layer_service.create_relation(access=self.access, version=version, **fields)
        return Response(
            {"relation": s.RelationSerializer(relation).data, "version": self.layer.version},
            status=status.HTTP_201_CREATED,
            headers=_etag(self.layer.version),
        )

    @extend_schema(
        summary="Remove a relation",
        parameters=[VERSION_QUERY, IF_MATCH, ETAG],
        responses={200: s.VersionSerializer, **LAYER_WRITE_ERRORS},
    )
    def destroy(self, request: Request, layer_id: str, rel_id: str) -> Response:
        layer = layer_service.delete_relation(
            access=self.access, relation_id=int(rel_id), version=expected_version(request)
        )
        return Response({"version": layer.version}, headers=_etag(layer.version))


# --- the rest ------------------------------------------------------------------------


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
def no_such_endpoint(request: Request) -> Response:
    raise NotFound("No such endpoint.")


# --- tokens ---------------------------------------------------------------------------


class TokenView(APIView):
    """Trade a username and password for a new API token, which scripts send as
    ``Authorization: Token <key>``. Each call makes a token (its owner lists, rotates and
    revokes them on their account page). Throttled per address; failed attempts count
    towards the sign-in lockout of the account and the address, as on the sign-in page."""

    authentication_classes: list[Any] = []  # a script with a password, not a session
    permission_classes = [AllowAny]
    parser_classes = (JSONParser,)
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        summary="Make an API token from a username and password",
        request=s.TokenRequestSerializer,
        responses={
            201: s.TokenCreatedSerializer,
            400: BAD_REQUEST,
            429: OpenApiResponse(
                s.DetailSerializer,
                description="Too many attempts from this address, or the account or address "
                "is locked out after failed sign-ins; Retry-After says for how long.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request=request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            if getattr(request, "axes_locked_out", False):
                seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
                raise Throttled(
                    wait=seconds,
                    detail="Too many failed sign-ins for this account or from this address.",
                )
            raise ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        token, key = token_service.create_token(user=user, name=data.validated_data["name"])
        return Response(
            s.TokenCreatedSerializer({"token": key, "id": token.pk, "name": token.name}).data,
            status=status.HTTP_201_CREATED,
        )
