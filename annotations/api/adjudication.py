"""Adjudication over the API: merge the submitted layers into gold by vote, and the
reviewers' accept/reject decisions on a document's candidates (``services.decisions``).

Reviewers and managers only; for annotators, as for outsiders, the address does not exist
(404), since annotators never see gold. The merge goes through the layer writer, so a
stale ``version`` is 409 and a submitted gold layer is 403, as for any other gold write.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from annotations import selectors
from annotations.access import STAFF_ROLES
from annotations.api import serializers as s
from annotations.api.access import ProjectAccessMixin
from annotations.api.parsers import JSONParser
from annotations.api.schema import BAD_REQUEST, CONFLICT, ETAG, IF_MATCH, NOT_FOUND
from annotations.api.views import expected_version
from annotations.models import Document
from annotations.services.adjudication import merge_into_gold
from annotations.services.decisions import decide, undo_decision


class MergeInputSerializer(serializers.Serializer):
    min_votes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=s.MAX_VERSION,
        help_text="How many annotators must have marked a span exactly (start, end, label) "
        "for it to enter gold; null: a strict majority of those who submitted.",
    )
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=s.MAX_VERSION,
        help_text="The gold layer version the client loaded; null or absent: unconditional.",
    )


class MergeSummarySerializer(serializers.Serializer):
    annotators = serializers.IntegerField(help_text="Annotators whose submitted layers voted.")
    min_votes = serializers.IntegerField(help_text="Votes a span needed.")


class MergedLayerSerializer(s.LayerSerializer):
    """Documentation of the answer: the gold layer body plus what the merge did."""

    merge = MergeSummarySerializer(read_only=True)

    class Meta(s.LayerSerializer.Meta):
        fields = [*s.LayerSerializer.Meta.fields, "merge"]
        read_only_fields = fields


class GoldMergeView(ProjectAccessMixin):
    parser_classes = [JSONParser]
    visible_to = STAFF_ROLES

    @extend_schema(
        summary="Merge the submitted layers into gold by vote (reviewers, managers)",
        description="Adds to the gold layer every span that at least `min_votes` annotators "
        "marked exactly, with the attributes most of them gave, and every link whose ends "
        "made it and that enough annotators drew. What gold holds already is kept. "
        "Only submitted annotator layers vote.",
        request=MergeInputSerializer,
        parameters=[
            OpenApiParameter("doc_id", OpenApiTypes.INT, OpenApiParameter.PATH),
            IF_MATCH,
            ETAG,
        ],
        responses={
            200: MergedLayerSerializer,
            400: BAD_REQUEST,
            403: OpenApiResponse(
                s.DetailSerializer, description="Not signed in, or the gold layer is submitted."
            ),
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    def post(self, request: Request, slug: str, doc_id: int) -> Response:
        document = (
            Document.objects.filter(project=self.access.project, pk=doc_id).order_by().first()
        )
        if document is None:
            raise Http404("No such document.")
        data = MergeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        layer, merge = merge_into_gold(
            access=self.access,
            document=document,
            min_votes=data.validated_data.get("min_votes"),
            version=expected_version(request, data.validated_data.get("version")),
        )
        body = selectors.layer_body(layer.pk)
        body["merge"] = {"annotators": merge.annotators, "min_votes": merge.min_votes}
        return Response(body, headers={"ETag": f'"{body["version"]}"'})


class DecisionSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="The candidate: `start:end:label` for a span, `link:type|head|tail` "
        "(the ends' span keys) for a link."
    )
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    decided_by = serializers.CharField(allow_null=True, help_text="Who decided (username).")
    decided_at = serializers.DateTimeField()


class DecisionsSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The document's decisions version.")
    decisions = DecisionSerializer(many=True)


class UndoInputSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=500, help_text="The candidate whose decision to undo.")
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=s.MAX_VERSION,
        help_text="The decisions version the client loaded; null or absent: unconditional.",
    )


class DecideInputSerializer(UndoInputSerializer):
    decision = serializers.ChoiceField(choices=["accept", "reject"])
    with_ends = serializers.BooleanField(
        default=False,
        help_text="Accepting a link: accept its end spans too when they are rejected or not "
        "in gold (without it such an accept is refused with 400 naming the end).",
    )


def _document(view: ProjectAccessMixin, doc_id: int) -> Document:
    document = Document.objects.filter(project=view.access.project, pk=doc_id).order_by().first()
    if document is None:
        raise Http404("No such document.")
    return document


def _decisions_response(document: Document) -> Response:
    document.refresh_from_db(fields=["review_version"])
    body = {"version": document.review_version, "decisions": selectors.review_decisions(document)}
    return Response(DecisionsSerializer(body).data, headers={"ETag": f'"{body["version"]}"'})


DOC_ID = OpenApiParameter("doc_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class DecisionsView(ProjectAccessMixin):
    parser_classes = [JSONParser]
    visible_to = STAFF_ROLES

    @extend_schema(
        summary="The reviewers' decisions on a document's candidates (reviewers, managers)",
        parameters=[DOC_ID, ETAG],
        responses={200: DecisionsSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str, doc_id: int) -> Response:
        return _decisions_response(_document(self, doc_id))

    @extend_schema(
        summary="Accept or reject a candidate (reviewers, managers)",
        description="Stores the decision for every reviewer of the project. A stale "
        "`version` is 409. Accepting a link whose end span is rejected or not in gold is "
        "400 naming that end, unless `with_ends` is true.",
        request=DecideInputSerializer,
        parameters=[DOC_ID, IF_MATCH, ETAG],
        responses={200: DecisionsSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request: Request, slug: str, doc_id: int) -> Response:
        document = _document(self, doc_id)
        data = DecideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decide(
            access=self.access,
            document=document,
            key=data.validated_data["key"],
            decision=data.validated_data["decision"],
            version=expected_version(request, data.validated_data.get("version")),
            with_ends=data.validated_data["with_ends"],
        )
        return _decisions_response(document)


class UndoDecisionView(ProjectAccessMixin):
    parser_classes = [JSONParser]
    visible_to = STAFF_ROLES

    @extend_schema(
        summary="Undo the decision on a candidate: it is open again (reviewers, managers)",
        request=UndoInputSerializer,
        parameters=[DOC_ID, IF_MATCH, ETAG],
        responses={200: DecisionsSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request: Request, slug: str, doc_id: int) -> Response:
        document = _document(self, doc_id)
        data = UndoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        undo_decision(
            access=self.access,
            document=document,
            key=data.validated_data["key"],
            version=expected_version(request, data.validated_data.get("version")),
        )
        return _decisions_response(document)


urlpatterns = [
    path(
        "projects/<slug:slug>/documents/<int:doc_id>/layers/gold/merge/",
        GoldMergeView.as_view(),
        name="gold-merge",
    ),
    path(
        "projects/<slug:slug>/documents/<int:doc_id>/decisions/",
        DecisionsView.as_view(),
        name="review-decisions",
    ),
    path(
        "projects/<slug:slug>/documents/<int:doc_id>/decisions/undo/",
        UndoDecisionView.as_view(),
        name="review-decision-undo",
    ),
]
