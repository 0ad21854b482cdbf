"""WebSocket routes."""

from django.urls import path

from conversations.consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/", ChatConsumer.as_asgi()),
]
