from django.urls import path

from contacts import views

app_name = "contacts"
urlpatterns = [
    path("", views.index, name="index"),
    path("requests/", views.request_send, name="request_send"),
    path("requests/<int:request_id>/accept/", views.request_accept, name="request_accept"),
    path("requests/<int:request_id>/decline/", views.request_decline, name="request_decline"),
    path("requests/<int:request_id>/cancel/", views.request_cancel, name="request_cancel"),
    path("people/<str:username>/remove/", views.contact_remove, name="remove"),
    path("people/<str:username>/block/", views.block, name="block"),
    path("people/<str:username>/unblock/", views.unblock, name="unblock"),
]
