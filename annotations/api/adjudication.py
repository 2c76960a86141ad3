"""Adjudication over the API: merge the submitted layers into gold by vote.

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


urlpatterns = [
    path(
        "projects/<slug:slug>/documents/<int:doc_id>/layers/gold/merge/",
        GoldMergeView.as_view(),
        name="gold-merge",
    ),
]
