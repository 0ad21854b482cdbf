"""The wire shape of messages, shared by WebSocket frames and pages."""

from collections import defaultdict
from typing import Any

from conversations.attachments import attachment_serialize
from conversations.models import Message
from conversations.rendering import body_render

EXCERPT_LENGTH = 120


def _pk(obj: Any) -> int:
    return int(obj.pk)


def message_serialize(message: Message, *, mentionable: set[str] | None = None) -> dict[str, Any]:
    """Return a message as the JSON object the WebSocket protocol documents.

    ``html`` is the body rendered and sanitised; ``body`` the text as written.
    """
    deleted = message.deleted_at is not None
    reactions: dict[str, list[int]] = defaultdict(list)
    for reaction in _prefetched(message, "reaction_list", "reactions"):
        reactions[reaction.emoji].append(reaction.user_id)
    reply = message.reply_to
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "sequence": message.sequence,
        "client_id": str(message.client_id),
        "kind": message.kind,
        "sender": {
            "id": message.sender.pk,
            "username": message.sender.username,
            "name": message.sender.name,
            "initials": message.sender.initials,
            "avatar": message.sender.avatar_url,
        },
        "body": message.body,
        "html": ""
        if deleted or message.kind != Message.Kind.TEXT
        else body_render(message.body, mentionable=mentionable),
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": deleted,
        "change": message.change,
        "reply_to": None
        if reply is None
        else {
            "id": reply.pk,
            "sequence": reply.sequence,
            "sender_name": reply.sender.name,
            "excerpt": "" if reply.deleted_at else reply.body[:EXCERPT_LENGTH],
        },
        "reactions": [
            {"emoji": emoji, "count": len(users), "user_ids": users}
            for emoji, users in reactions.items()
        ],
        "attachments": []
        if deleted
        else [
            attachment_serialize(a)
            for a in sorted(_prefetched(message, "attachment_list", "attachments"), key=_pk)
        ],
    }


def _prefetched(message: Message, to_attr: str, relation: str) -> list[Any]:
    """Return a relation's rows: the selectors' prefetched list, else a query."""
    rows = getattr(message, to_attr, None)
    return list(getattr(message, relation).all()) if rows is None else rows
