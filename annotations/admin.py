from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from annotations.models import (
    AgreementRun,
    Assignment,
    AuditEvent,
    CatalogueEntry,
    Document,
    ExportJob,
    ImportJob,
    LabelType,
    Layer,
    Membership,
    Project,
    Relation,
    Span,
)


class ReadOnlyMixin:
    """Staff may look, not write: the services own these rows. A span written here would
    skip the layer's version bump, the quote check and the audit trail."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class LabelTypeInline(admin.TabularInline):
    model = LabelType
    extra = 0
    fk_name = "project"
    fields = ["position", "name", "kind", "colour", "hotkey", "attribute_schema", "description"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "overlap", "blind", "document_count", "created_at"]
    list_filter = ["blind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, LabelTypeInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).annotate(document_total=Count("documents"))

    @admin.display(description="documents", ordering="document_total")
    def document_count(self, project: Project) -> int:
        return int(project.document_total)  # type: ignore[attr-defined]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "joined_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]
    autocomplete_fields = ["user", "project"]


@admin.register(LabelType)
class LabelTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "colour", "hotkey", "position"]
    list_filter = ["kind", "project"]
    search_fields = ["name", "description"]


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    fields = ["annotator", "status", "skip_reason", "started_at", "finished_at"]
    raw_id_fields = ["annotator"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "length", "outlet", "created_at"]
    list_filter = ["project"]
    search_fields = ["external_id", "text"]
    list_select_related = ["project"]
    inlines = [AssignmentInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Document | None = None) -> list[str]:
        # The text is immutable once annotated: offsets point into it.
        if obj is not None and Span.objects.filter(layer__document=obj).exists():
            return ["text"]
        return []

    @admin.display(description="code points")
    def length(self, document: Document) -> int:
        return len(document.text)

    @admin.display(description="outlet")
    def outlet(self, document: Document) -> str:
        return str(document.meta.get("outlet", ""))


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["document", "annotator", "status", "assigned_at", "finished_at"]
    list_filter = ["status", "document__project"]
    search_fields = ["document__external_id", "annotator__username"]
    list_select_related = ["document__project", "annotator"]
    raw_id_fields = ["document", "annotator"]


class SpanInline(ReadOnlyMixin, admin.TabularInline):
    model = Span
    fields = ["label", "start", "end", "quote", "attributes"]
    ordering = ["start", "end", "id"]


class RelationInline(ReadOnlyMixin, admin.TabularInline):
    model = Relation
    fields = ["label", "head", "tail"]
    ordering = ["id"]


@admin.register(Layer)
class LayerAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["document", "owner", "status", "version", "span_count", "updated_at"]
    list_filter = ["status", "is_gold", "document__project"]
    search_fields = ["document__external_id", "annotator__username"]
    list_select_related = ["document__project", "annotator"]
    inlines = [SpanInline, RelationInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Layer]:
        return super().get_queryset(request).annotate(span_total=Count("spans"))

    @admin.display(description="annotator")
    def owner(self, layer: Layer) -> str:
        return "gold" if layer.is_gold else str(layer.annotator)

    @admin.display(description="spans", ordering="span_total")
    def span_count(self, layer: Layer) -> int:
        return int(layer.span_total)  # type: ignore[attr-defined]


@admin.register(Span)
class SpanAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["quote", "label", "start", "end", "layer"]
    list_filter = ["label__name", "layer__is_gold", "layer__document__project"]
    search_fields = ["quote", "layer__document__external_id", "layer__annotator__username"]
    list_select_related = ["label", "layer__document__project", "layer__annotator"]


@admin.register(CatalogueEntry)
class CatalogueEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Curated on the project's catalogue page: a merge here would skip moving the mentions,
    bumping their layers and the audit trail."""

    list_display = ["name", "key", "kind", "source_kind", "status", "project", "proposed_by"]
    list_filter = ["kind", "status", "project"]
    search_fields = ["name", "key", "description"]
    list_select_related = ["project", "proposed_by"]


@admin.register(Relation)
class RelationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "label", "head", "tail", "layer"]
    list_filter = ["label__name", "layer__is_gold", "layer__document__project"]
    search_fields = ["head__quote", "tail__quote", "layer__document__external_id"]
    list_select_related = [
        "label",
        "head__label",
        "tail__label",
        "layer__document__project",
        "layer__annotator",
    ]


class JobAdmin(admin.ModelAdmin):
    list_filter = ["status", "project"]
    readonly_fields = ["created_at", "started_at", "heartbeat_at", "finished_at", "attempts"]
    list_select_related = ["project", "requested_by"]


@admin.register(ImportJob)
class ImportJobAdmin(JobAdmin):
    list_display = ["id", "project", "filename", "status", "progress", "created_at"]


@admin.register(AgreementRun)
class AgreementRunAdmin(JobAdmin):
    list_display = ["id", "project", "status", "progress", "requested_by", "created_at"]


@admin.register(ExportJob)
class ExportJobAdmin(JobAdmin):
    list_display = ["id", "project", "format", "status", "progress", "size", "created_at"]


# The trail is evidence: nobody edits or deletes it, not even staff.
@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "project"]
    list_filter = ["action", "object_type", "project"]
    search_fields = ["actor__username", "object_id"]
    list_select_related = ["actor", "project"]
