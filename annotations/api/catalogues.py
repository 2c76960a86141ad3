"""The project's catalogues over the API (docs/catalogues.md).

- ``GET projects/<slug>/catalogue/``: the entries the caller may see; ``?kind=proposition``
  or ``source``, ``?q=<text>`` ranks them by similarity to a text (a claim's words),
  ``?search=<word>`` keeps those whose name or key contains it, ``?limit=N``. Reviewers
  and managers also get each entry's mention counts.
- ``POST projects/<slug>/catalogue/``: propose an entry (approved at once when a reviewer
  or a manager makes it).
- ``GET``/``PATCH``/``DELETE projects/<slug>/catalogue/<key>/``: read, rename or change,
  delete an entry nobody mentions.
- ``POST .../catalogue/<key>/approve/``, ``.../merge/`` (``{"into": key}``: this entry
  goes, its mentions follow ``into``), ``.../split/`` (``{"name", "spans": [ids]}``: a new
  entry takes those mentions), and ``GET .../catalogue/<key>/mentions/``: reviewers and
  managers.

Hidden entries (another annotator's proposals) answer 404, as missing ones do.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotations.access import STAFF_ROLES
from annotations.api.access import ProjectAccessMixin
from annotations.api.parsers import JSONParser
from annotations.api.schema import READ_ERRORS, WRITE_ERRORS
from annotations.models import CatalogueEntry, CatalogueKind, LayerStatus, Role, SourceKind, Span
from annotations.services import catalogues

MAX_LIMIT = 500


class EntrySerializer(serializers.Serializer):
    key = serializers.SlugField()
    kind = serializers.ChoiceField(choices=CatalogueKind.choices)
    name = serializers.CharField()
    source_kind = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    proposed_by = serializers.CharField(allow_null=True)
    score = serializers.FloatField(
        allow_null=True, help_text="Similarity to ?q, 0 to 1 (null without ?q)."
    )
    mentions = serializers.IntegerField(
        allow_null=True, help_text="Spans that link to it (reviewers and managers; else null)."
    )
    documents = serializers.IntegerField(allow_null=True)


class ListQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CatalogueKind.choices, required=False)
    q = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    search = serializers.CharField(required=False, allow_blank=True, max_length=200)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)


class ProposeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CatalogueKind.choices)
    name = serializers.CharField(max_length=catalogues.MAX_NAME)
    source_kind = serializers.ChoiceField(
        choices=[("", "none"), *SourceKind.choices], required=False, default=""
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    key = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class EditSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=catalogues.MAX_NAME, required=False)
    source_kind = serializers.ChoiceField(
        choices=[("", "none"), *SourceKind.choices], required=False
    )
    description = serializers.CharField(required=False, allow_blank=True)


class MergeSerializer(serializers.Serializer):
    into = serializers.CharField(max_length=100, help_text="The key of the entry that stays.")


class SplitSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=catalogues.MAX_NAME)
    spans = serializers.ListField(
        child=serializers.IntegerField(min_value=1), help_text="Ids of the mentions that move."
    )
    source_kind = serializers.ChoiceField(
        choices=[("", "none"), *SourceKind.choices], required=False, default=""
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")


class MentionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document = serializers.CharField(help_text="The document's external id.")
    layer = serializers.IntegerField()
    annotator = serializers.CharField(allow_null=True, help_text="Null: the gold layer.")
    label = serializers.CharField()  # type: ignore[assignment]
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    quote = serializers.CharField()
    stance = serializers.CharField(allow_blank=True)


def entry_json(
    entry: CatalogueEntry, score: float | None = None, counts: tuple[int, int] | None = None
) -> dict[str, Any]:
    return {
        **catalogues.snapshot(entry),
        "proposed_by": entry.proposed_by.username if entry.proposed_by else None,
        "score": score,
        "mentions": counts[0] if counts is not None else None,
        "documents": counts[1] if counts is not None else None,
    }


class CatalogueView(ProjectAccessMixin):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="The catalogue entries the caller may see, ranked by similarity to ?q",
        parameters=[ListQuerySerializer],
        responses={200: EntrySerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = ListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        ranked = catalogues.ranked_entries(
            self.access,
            kind=query.validated_data.get("kind"),
            near=query.validated_data.get("q", ""),
            search=query.validated_data.get("search", ""),
            limit=query.validated_data.get("limit"),
        )
        counts: dict[int, tuple[int, int]] = {}
        if self.access.is_project_staff:
            counts = catalogues.mention_counts(item.entry for item in ranked)
        return Response(
            [
                entry_json(
                    item.entry,
                    item.score,
                    counts.get(item.entry.pk, (0, 0)) if self.access.is_project_staff else None,
                )
                for item in ranked
            ]
        )

    @extend_schema(
        summary="Propose a catalogue entry (approved at once for reviewers and managers)",
        request=ProposeSerializer,
        responses={201: EntrySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = ProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = catalogues.propose_entry(access=self.access, **data.validated_data)
        return Response(entry_json(entry), status=status.HTTP_201_CREATED)


class EntryView(ProjectAccessMixin):
    parser_classes = [JSONParser]

    def entry(self, key: str) -> CatalogueEntry:
        return catalogues.entry_for(self.access, key)

    def counted(self, entry: CatalogueEntry) -> Response:
        counts = None
        if self.access.is_project_staff:
            counts = catalogues.mention_counts([entry]).get(entry.pk, (0, 0))
        return Response(entry_json(entry, None, counts))

    @extend_schema(summary="One catalogue entry", responses={200: EntrySerializer, **READ_ERRORS})
    def get(self, request: Request, slug: str, key: str) -> Response:
        return self.counted(self.entry(key))

    @extend_schema(
        summary="Rename an entry or change its kind of source or description; the key stays",
        request=EditSerializer,
        responses={200: EntrySerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, slug: str, key: str) -> Response:
        data = EditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = catalogues.update_entry(
            access=self.access, entry=self.entry(key), **data.validated_data
        )
        return self.counted(entry)

    @extend_schema(
        summary="Delete an entry no span mentions (else 400 with the count)",
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, slug: str, key: str) -> Response:
        catalogues.delete_entry(access=self.access, entry=self.entry(key))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApproveView(EntryView):
    http_method_names = ["post", "options"]

    @extend_schema(
        summary="Approve a proposed entry into the shared catalogue (reviewers, managers)",
        request=None,
        responses={200: EntrySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, slug: str, key: str) -> Response:
        return self.counted(catalogues.approve_entry(access=self.access, entry=self.entry(key)))


class MergeView(EntryView):
    http_method_names = ["post", "options"]

    @extend_schema(
        summary="Merge this entry into another: its mentions follow, it goes",
        request=MergeSerializer,
        responses={200: EntrySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, slug: str, key: str) -> Response:
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        merged = self.entry(key)
        into = catalogues.visible_entries(self.access).filter(key=data.validated_data["into"])
        keep = into.first()
        if keep is None:
            raise serializers.ValidationError({"into": ["no such entry in this project"]})
        return self.counted(catalogues.merge_entries(access=self.access, keep=keep, merge=merged))


class SplitView(EntryView):
    http_method_names = ["post", "options"]

    @extend_schema(
        summary="Split an entry: a new entry takes the chosen mentions",
        request=SplitSerializer,
        responses={201: EntrySerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, slug: str, key: str) -> Response:
        data = SplitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        new = catalogues.split_entry(
            access=self.access, entry=self.entry(key), span_ids=fields.pop("spans"), **fields
        )
        response = self.counted(new)
        response.status_code = status.HTTP_201_CREATED
        return response


class MentionsView(EntryView):
    visible_to = STAFF_ROLES
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        summary="The spans that link to an entry (reviewers and managers)",
        responses={200: MentionSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, slug: str, key: str) -> Response:
        return Response(
            mentions_of(self.entry(key), submitted_only=self.access.role != Role.MANAGER)
        )


def mentions_of(entry: CatalogueEntry, *, submitted_only: bool) -> list[dict[str, Any]]:
    """Every span that links to ``entry``, by document and offsets; with
    ``submitted_only``, those a reviewer may see (submitted layers and gold)."""
    spans = Span.objects.filter(entry=entry)
    if submitted_only:
        spans = spans.filter(Q(layer__is_gold=True) | Q(layer__status=LayerStatus.SUBMITTED))
    return [
        {
            "id": pk,
            "document": document,
            "layer": layer,
            "annotator": annotator,
            "label": label,
            "start": start,
            "end": end,
            "quote": quote,
            "stance": stance,
        }
        for pk, document, layer, annotator, label, start, end, quote, stance in spans.order_by(
            "layer__document__external_id", "start", "end", "id"
        ).values_list(
            "id",
            "layer__document__external_id",
            "layer_id",
            "layer__annotator__username",
            "label__name",
            "start",
            "end",
            "quote",
            "stance",
        )
    ]


ENTRY = "projects/<slug:slug>/catalogue/<slug:key>/"
urlpatterns = [
    path("projects/<slug:slug>/catalogue/", CatalogueView.as_view(), name="catalogue"),
    path(ENTRY, EntryView.as_view(), name="catalogue-entry"),
    path(f"{ENTRY}approve/", ApproveView.as_view(), name="catalogue-approve"),
    path(f"{ENTRY}merge/", MergeView.as_view(), name="catalogue-merge"),
    path(f"{ENTRY}split/", SplitView.as_view(), name="catalogue-split"),
    path(f"{ENTRY}mentions/", MentionsView.as_view(), name="catalogue-mentions"),
]
