"""The load benchmark's baseline: a plain Channels group broadcast, no Kafka, no database.

Run by the benchmark under daphne like the real app
(``daphne bench.load_baseline:application``), with the same channel layer.
A socket says who it is and which conversations it is in with the query
string (``?user=7&conversations=3,9``) and joins one group per conversation;
a ``message.send`` frame is acknowledged and broadcast to the conversation's
group as the same ``message.new`` frame the real server sends.  Nothing is
checked, stored or logged: this is the floor of the WebSocket → channel
layer → WebSocket path.
"""

import json
import os
from typing import Any
from urllib.parse import parse_qs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings.local")

import django

django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class BroadcastConsumer(AsyncWebsocketConsumer):
    """Join the conversations' groups; broadcast each sent message to its group."""

    groups_joined: list[str]

    async def connect(self) -> None:
        """Join a group per conversation of the query string."""
        query = parse_qs(self.scope["query_string"].decode())
        self.user_id = int(query["user"][0])
        conversations = query.get("conversations", [""])[0]
        self.groups_joined = [f"conv.{c}" for c in conversations.split(",") if c]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """Leave the groups."""
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Acknowledge a message.send and broadcast it; answer pings."""
        frame = json.loads(text_data or "{}")
        if frame.get("type") == "ping":
            await self.send(text_data='{"type": "pong"}')
            return
        if frame.get("type") != "message.send":
            return
        await self.send(
            text_data=json.dumps(
                {
                    "type": "message.ack",
                    "client_id": frame["client_id"],
                    "conversation": frame["conversation"],
                }
            )
        )
        await self.channel_layer.group_send(
            f"conv.{frame['conversation']}",
            {
                "type": "message.new",
                "message": {
                    "conversation": frame["conversation"],
                    "sender": {"id": self.user_id},
                    "client_id": frame["client_id"],
                    "body": frame["body"],
                },
            },
        )

    async def message_new(self, event: dict[str, Any]) -> None:
        """Forward a broadcast message."""
        await self.send(text_data=json.dumps({"type": "message.new", "message": event["message"]}))


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/", BroadcastConsumer.as_asgi())])}
)
