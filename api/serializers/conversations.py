"""Conversations, members and read markers."""

from rest_framework import serializers

from accounts.models import User
from api.serializers.people import PersonSerializer
from conversations import selectors
from conversations.models import Conversation, Membership
from messenger.params import BIGINT_MAX


class MemberSerializer(serializers.Serializer):
    """A member of a conversation, with their role and read marker."""

    person = PersonSerializer(source="user", read_only=True)
    role = serializers.CharField(read_only=True)
    last_read_sequence = serializers.IntegerField(read_only=True)
    joined_at = serializers.DateTimeField(read_only=True)


class ConversationSerializer(serializers.Serializer):
    """A conversation as its member sees it (the context carries ``user`` and ``muted``)."""

    id = serializers.IntegerField(source="pk", read_only=True)
    kind = serializers.ChoiceField(choices=Conversation.Kind.choices, read_only=True)
    title = serializers.CharField(read_only=True, help_text="A group's title; empty otherwise.")
    name = serializers.SerializerMethodField(help_text="What to call it: title or other person.")
    members = MemberSerializer(source="memberships.all", many=True, read_only=True)
    last_sequence = serializers.IntegerField(read_only=True)
    read_sequence = serializers.SerializerMethodField(help_text="You have read up to here.")
    unread = serializers.SerializerMethodField()
    muted = serializers.SerializerMethodField(help_text="Notifications for mentions only.")
    last_message_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def _viewer(self) -> User:
        user: User = self.context["request"].user
        return user

    def get_name(self, conversation: Conversation) -> str:
        return selectors.conversation_display_name(conversation=conversation, viewer=self._viewer())

    def get_read_sequence(self, conversation: Conversation) -> int:
        viewer_id = self._viewer().pk
        mine: Membership | None = next(
            (m for m in conversation.memberships.all() if m.user_id == viewer_id), None
        )
        return mine.last_read_sequence if mine else 0

    def get_unread(self, conversation: Conversation) -> int:
        return max(0, conversation.last_sequence - self.get_read_sequence(conversation))

    def get_muted(self, conversation: Conversation) -> bool:
        return conversation.pk in self.context.get("muted", set())


class DirectCreateSerializer(serializers.Serializer):
    """Open the one-to-one conversation with a contact."""

    username = serializers.CharField(max_length=150)


class GroupCreateSerializer(serializers.Serializer):
    """Create a group with some of one's contacts."""

    title = serializers.CharField(max_length=120)
    members = serializers.ListField(
        child=serializers.CharField(max_length=150), min_length=1, max_length=255
    )


class GroupRenameSerializer(serializers.Serializer):
    """A group's new title (admins only)."""

    title = serializers.CharField(max_length=120)


class ReadSerializer(serializers.Serializer):
    """How far the person has read."""

    sequence = serializers.IntegerField(min_value=0, max_value=BIGINT_MAX)


class MuteSerializer(serializers.Serializer):
    """Whether a conversation is muted."""

    muted = serializers.BooleanField()
