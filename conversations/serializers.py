"""The wire shape of messages, shared by WebSocket frames and pages."""

from typing import Any

from conversations.models import Message


def message_serialize(message: Message) -> dict[str, Any]:
    """Return a message as the JSON object the WebSocket protocol documents."""
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "sequence": message.sequence,
        "client_id": str(message.client_id),
        "sender": {
            "id": message.sender.pk,
            "username": message.sender.username,
            "name": message.sender.name,
            "initials": message.sender.initials,
            "avatar": message.sender.avatar_url,
        },
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }
