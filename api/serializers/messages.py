"""Messages: the same JSON as the WebSocket's frames (docs/websocket-protocol.md).

The serializers below describe that shape for the schema; the output itself
comes from conversations.serializers.message_serialize, so the API and the
socket can never disagree.
"""

from typing import Any

from django.conf import settings
from rest_framework import serializers

from accounts.models import User
from conversations.attachments import attachment_serialize
from conversations.models import Attachment, Message
from conversations.serializers import message_serialize
from messenger.params import BIGINT_MAX


class AttachmentSerializer(serializers.Serializer):
    """An uploaded file.  Download it from ``/api/v1/attachments/{token}/``."""

    token = serializers.UUIDField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    is_image = serializers.BooleanField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="The browser's address (session sign-in).")
    thumbnail_url = serializers.CharField(allow_null=True)

    def to_representation(self, instance: Attachment) -> dict[str, Any]:
        return attachment_serialize(instance)


class UploadSerializer(serializers.Serializer):
    """One file, in the multipart field ``file``."""

    file = serializers.FileField()


class SenderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    initials = serializers.CharField()
    avatar = serializers.CharField(allow_null=True)

    def to_representation(self, instance: User) -> dict[str, Any]:
        return {
            "id": instance.pk,
            "username": instance.username,
            "name": instance.name,
            "initials": instance.initials,
            "avatar": instance.avatar_url,
        }


class ReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    sender_name = serializers.CharField()
    excerpt = serializers.CharField(allow_blank=True)


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.IntegerField())


class MessageSerializer(serializers.Serializer):
    """A stored message (the context may carry ``mentionable`` usernames)."""

    id = serializers.IntegerField()
    conversation = serializers.IntegerField()
    sequence = serializers.IntegerField(help_text="Position in the conversation: 1, 2, 3, …")
    client_id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Message.Kind.choices)
    sender = SenderSerializer()
    body = serializers.CharField(allow_blank=True, help_text="The text as written (Markdown).")
    html = serializers.CharField(allow_blank=True, help_text="The body rendered and sanitised.")
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    reply_to = ReplySerializer(allow_null=True)
    reactions = ReactionSerializer(many=True)
    attachments = AttachmentSerializer(many=True)

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return message_serialize(instance, mentionable=self.context.get("mentionable"))


class HistoryQuerySerializer(serializers.Serializer):
    """Which page of the history: at most one of before, after, around."""

    before = serializers.IntegerField(
        min_value=1,
        max_value=BIGINT_MAX,
        required=False,
        help_text="Messages just before this sequence.",
    )
    after = serializers.IntegerField(
        min_value=0,
        max_value=BIGINT_MAX,
        required=False,
        help_text="Messages just after this sequence.",
    )
    around = serializers.IntegerField(
        min_value=1,
        max_value=BIGINT_MAX,
        required=False,
        help_text="A page centred on this sequence.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("before", "after", "around") if name in attrs]
        if len(given) > 1:
            raise serializers.ValidationError("Give at most one of before, after and around.")
        attrs.setdefault("limit", settings.MESSAGE_PAGE_SIZE)
        return attrs


class HistoryPageSerializer(serializers.Serializer):
    """A page of history, oldest first, with links to the pages around it."""

    results = MessageSerializer(many=True)
    previous = serializers.URLField(allow_null=True, help_text="Older messages, if any.")
    next = serializers.URLField(allow_null=True, help_text="Newer messages, if any.")
    last_sequence = serializers.IntegerField(help_text="The conversation's newest sequence.")


class MessageSendSerializer(serializers.Serializer):
    """A message to send.  Resending with the same ``client_id`` stores it once."""

    client_id = serializers.UUIDField(
        required=False, help_text="Your id for this message (idempotency key); made if absent."
    )
    body = serializers.CharField(allow_blank=True, trim_whitespace=False, default="")
    reply_to = serializers.IntegerField(
        min_value=1, max_value=BIGINT_MAX, required=False, allow_null=True
    )
    attachments = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=50
    )


class MessageEditSerializer(serializers.Serializer):
    """The new body of one's own message."""

    body = serializers.CharField(trim_whitespace=False)


class ReactionSetSerializer(serializers.Serializer):
    """Add (default) or remove one's emoji reaction."""

    emoji = serializers.CharField(max_length=16)
    added = serializers.BooleanField(default=True)


class AcceptedSerializer(serializers.Serializer):
    """Kafka has the change: it is applied and pushed to every member's sockets shortly."""

    status = serializers.CharField(help_text='Always "accepted".')
    event_id = serializers.UUIDField()
    conversation = serializers.IntegerField()
    client_id = serializers.UUIDField(required=False, help_text="For sends: the message's id.")
    message = serializers.IntegerField(required=False, help_text="For changes: the message.")


class SearchQuerySerializer(serializers.Serializer):
    """A message search over one's own conversations."""

    q = serializers.CharField(
        max_length=None, help_text='Words, "phrases", or, -not (websearch syntax).'
    )
    conversation = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, required=False)
    person = serializers.CharField(max_length=150, required=False, help_text="Sent by (username).")
    before = serializers.IntegerField(
        min_value=1,
        max_value=BIGINT_MAX,
        required=False,
        help_text="Continue after this message id (next link).",
    )


class SearchHitSerializer(serializers.Serializer):
    """A message found, with its highlighted snippet."""

    id = serializers.IntegerField(source="message.pk")
    conversation = serializers.IntegerField(source="message.conversation_id")
    sequence = serializers.IntegerField(source="message.sequence")
    sender = SenderSerializer(source="message.sender")
    body = serializers.CharField(source="message.body")
    created_at = serializers.DateTimeField(source="message.created_at")
    snippet = serializers.CharField(help_text="HTML: escaped text, matches in <mark>.")
    url = serializers.CharField(help_text="Where the browser shows it in context.")


class SearchPageSerializer(serializers.Serializer):
    """The newest matches first, and the link to older ones."""

    results = SearchHitSerializer(many=True)
    next = serializers.URLField(allow_null=True)
