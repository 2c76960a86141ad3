from __future__ import annotations

from django.urls import path

from annotations.views import (
    accounts,
    agreement,
    annotate,
    assignment,
    dashboard,
    projects,
    review,
)

urlpatterns = [
    path("", projects.project_list, name="project-list"),
    path("healthz", projects.healthz, name="healthz"),
    *accounts.urlpatterns,
    *annotate.urlpatterns,
    *dashboard.urlpatterns,
    *agreement.urlpatterns,
    *review.urlpatterns,
    *assignment.urlpatterns,
]
