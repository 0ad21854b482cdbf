"""The URL root."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from messenger import views as ops_views

# The admin's own login form has no rate limit: it sends people to allauth's
# (rate-limited, docs/authentication.md) and lets in active staff only.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

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
    # Before the API app's include, which would answer these paths with 404.
    path("api/v1/tokens/", include("accounts.api_urls")),
    path("api/", include("api.urls")),
    path("accounts/", include("allauth.urls")),
    path("people/", include("accounts.urls")),
    path("contacts/", include("contacts.urls")),
    path("conversations/", include("conversations.urls")),
    path("notifications/", include("notifications.urls")),
]
