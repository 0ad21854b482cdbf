"""Reads of conversations and messages."""

from django.db.models import Exists, Prefetch, Q, QuerySet

from accounts.models import User
from contacts.models import Block
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


def send_refusal(*, user_id: int, conversation_id: int) -> str | None:
    """Return why the user may not send into the conversation, or None if they may.

    ``forbidden``: not a member (or no such conversation); ``blocked``: a
    one-to-one conversation where either person blocked the other.
    """
    row = (
        Membership.objects.filter(user_id=user_id, conversation_id=conversation_id)
        .annotate(
            blocked=Exists(
                Block.objects.filter(
                    Q(blocker_id=user_id, blocked__memberships__conversation_id=conversation_id)
                    | Q(blocked_id=user_id, blocker__memberships__conversation_id=conversation_id)
                )
            )
        )
        .values_list("conversation__kind", "blocked")
        .first()
    )
    if row is None:
        return "forbidden"
    kind, blocked = row
    if kind == Conversation.Kind.DIRECT and blocked:
        return "blocked"
    return None


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


def conversation_other_member(*, conversation: Conversation, viewer: User) -> User | None:
    """Return the other person of a one-to-one conversation (None for groups)."""
    if conversation.kind != Conversation.Kind.DIRECT:
        return None
    return next((m.user for m in conversation.memberships.all() if m.user_id != viewer.pk), None)
