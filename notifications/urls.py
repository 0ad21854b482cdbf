from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:notification_id>/read/", views.mark_read, name="read"),
    path("read/", views.mark_all_read, name="read_all"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/mute/<int:conversation_id>/", views.mute, name="mute"),
    path("push/subscriptions/", views.push_subscribe, name="push_subscribe"),
    path("push/subscriptions/delete/", views.push_unsubscribe, name="push_unsubscribe"),
]
