"""Query filters (django-filter) for the list endpoints."""

from __future__ import annotations

import django_filters

from annotations.models import AssignmentStatus, Document, Membership, Role


class DocumentFilter(django_filters.FilterSet):
    external_id = django_filters.CharFilter(help_text="Exact external id, e.g. 000.")
    external_id__contains = django_filters.CharFilter(
        field_name="external_id", lookup_expr="icontains", help_text="Part of the external id."
    )
    # ``status`` is annotated on the queryset: the caller's own assignment status.
    status = django_filters.ChoiceFilter(
        choices=AssignmentStatus.choices, help_text="The caller's own assignment status."
    )

    class Meta:
        model = Document
        fields = ["external_id", "external_id__contains", "status"]


class MemberFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["role"]
