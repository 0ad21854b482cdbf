from django.urls import path

from conversations import views

app_name = "conversations"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("<int:conversation_id>/", views.detail, name="detail"),
]
