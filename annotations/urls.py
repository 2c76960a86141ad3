from __future__ import annotations

from django.urls import path

from annotations.views import (
    accounts,
    agreement,
    annotate,
    assignment,
    catalogue,
    claims,
    dashboard,
    documents,
    invitations,
    members,
    project_settings,
    projects,
    review,
    schema,
)

urlpatterns = [
    path("", projects.project_list, name="project-list"),
    path("healthz", projects.healthz, name="healthz"),
    *accounts.urlpatterns,
    *annotate.urlpatterns,
    *dashboard.urlpatterns,
    *agreement.urlpatterns,
    *claims.urlpatterns,
    *review.urlpatterns,
    *project_settings.urlpatterns,
    *members.urlpatterns,
    *invitations.urlpatterns,
    *documents.urlpatterns,
    *schema.urlpatterns,
    *assignment.urlpatterns,
    *catalogue.urlpatterns,
]
