"""Routes of the token endpoints, mounted at /api/v1/tokens/."""

from django.urls import path

from accounts import api

app_name = "tokens-api"
urlpatterns = [
    path("", api.TokenListView.as_view(), name="list"),
    path("<int:token_id>/", api.TokenDetailView.as_view(), name="detail"),
]
