from django.urls import path

from conversations import attachment_views, search_views, views

app_name = "conversations"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("search/", search_views.search, name="search"),
    path("groups/", views.group_create, name="group_create"),
    path("<int:conversation_id>/", views.detail, name="detail"),
    path("<int:conversation_id>/history/", views.history, name="history"),
    path("<int:conversation_id>/group/", views.group_change, name="group_change"),
    path(
        "<int:conversation_id>/attachments/",
        attachment_views.upload,
        name="attachment_upload",
    ),
    path("attachments/<uuid:token>/", attachment_views.download, name="attachment"),
    path(
        "attachments/<uuid:token>/thumbnail/",
        attachment_views.thumbnail,
        name="attachment_thumbnail",
    ),
]
