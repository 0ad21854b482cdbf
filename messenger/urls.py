"""The URL root."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from messenger import views as ops_views

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("", RedirectView.as_view(pattern_name="conversations:index"), name="home"),
    # Before admin.site.urls, whose catch-all would answer these paths with 404.
    path(
        "admin/operations/",
        admin.site.admin_view(ops_views.operations_page),
        name="operations",
    ),
    path(
        "admin/operations/data.json",
        admin.site.admin_view(ops_views.operations_data),
        name="operations-data",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("people/", include("accounts.urls")),
    path("contacts/", include("contacts.urls")),
    path("conversations/", include("conversations.urls")),
    path("notifications/", include("notifications.urls")),
]
