from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("me/edit/", views.profile_edit, name="profile_edit"),
    path("me/tokens/", views.tokens, name="tokens"),
    path("me/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("<str:username>/", views.profile, name="profile"),
    path("<str:username>/avatar/", views.avatar, name="avatar"),
]
