"""Reads of conversations and messages."""

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from conversations.models import Conversation, Membership, Message


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    """Return the user's conversations, most recently active first, with members."""
    return (
        Conversation.objects.filter(memberships__user=user)
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("user"))
        )
        .order_by("-last_message_at", "-created_at")
    )


def conversation_get_for_member(*, user: User, conversation_id: int) -> Conversation | None:
    """Return the conversation if the user is a member of it, else None."""
    return (
        Conversation.objects.filter(pk=conversation_id, memberships__user=user)
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("user"))
        )
        .first()
    )


def membership_exists(*, user_id: int, conversation_id: int) -> bool:
    """Return whether the user is a member of the conversation."""
    return Membership.objects.filter(user_id=user_id, conversation_id=conversation_id).exists()


def member_ids(*, conversation_id: int) -> list[int]:
    """Return the ids of the conversation's members."""
    return list(
        Membership.objects.filter(conversation_id=conversation_id).values_list("user_id", flat=True)
    )


def messages_latest(*, conversation_id: int, limit: int) -> list[Message]:
    """Return the newest messages of a conversation, oldest first."""
    newest_first = (
        Message.objects.filter(conversation_id=conversation_id)
        .select_related("sender")
        .order_by("-sequence")[:limit]
    )
    return list(reversed(newest_first))


def messages_after(*, conversation_id: int, after_sequence: int, limit: int) -> list[Message]:
    """Return up to ``limit`` messages with a sequence above ``after_sequence``, in order."""
    return list(
        Message.objects.filter(conversation_id=conversation_id, sequence__gt=after_sequence)
        .select_related("sender")
        .order_by("sequence")[:limit]
    )


def conversation_display_name(*, conversation: Conversation, viewer: User) -> str:
    """Return the title to show: a group's title, or the other person's name."""
    if conversation.title:
        return conversation.title
    others = [m.user.name for m in conversation.memberships.all() if m.user_id != viewer.pk]
    return ", ".join(others) or viewer.name
