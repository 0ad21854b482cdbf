"""Reads of conversations and messages."""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from accounts.models import User
from contacts.models import Block
from conversations.models import Conversation, Membership, Message


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    """Return the user's conversations, most recently active first, with members.

    Each carries ``read_sequence``: how far the user has read it.
    """
    return (
        Conversation.objects.filter(memberships__user=user)
        .annotate(
            read_sequence=Subquery(
                Membership.objects.filter(conversation=OuterRef("pk"), user=user).values(
                    "last_read_sequence"
                )[:1]
            )
        )
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


def _history() -> QuerySet[Message]:
    """Messages with everything their wire shape shows, in a fixed number of queries."""
    # to_attr: Django then hands each message a plain list instead of
    # building a related manager queryset per message (half the page's time).
    return Message.objects.select_related("sender", "reply_to__sender").prefetch_related(
        Prefetch("reactions", to_attr="reaction_list"),
        Prefetch("attachments", to_attr="attachment_list"),
    )


def messages_latest(*, conversation_id: int, limit: int) -> list[Message]:
    """Return the newest messages of a conversation, oldest first."""
    return messages_before(conversation_id=conversation_id, before_sequence=None, limit=limit)


def messages_before(
    *, conversation_id: int, before_sequence: int | None, limit: int
) -> list[Message]:
    """Return the ``limit`` messages just before a sequence (or the newest), oldest first.

    Keyset pagination on the (conversation, sequence) unique index: the cost
    does not grow with how far back the page is.
    """
    query = _history().filter(conversation_id=conversation_id)
    if before_sequence is not None:
        query = query.filter(sequence__lt=before_sequence)
    return list(reversed(query.order_by("-sequence")[:limit]))


def messages_after(*, conversation_id: int, after_sequence: int, limit: int) -> list[Message]:
    """Return up to ``limit`` messages with a sequence above ``after_sequence``, in order."""
    return list(
        _history()
        .filter(conversation_id=conversation_id, sequence__gt=after_sequence)
        .order_by("sequence")[:limit]
    )


def messages_around(*, conversation_id: int, sequence: int, limit: int) -> list[Message]:
    """Return a page of messages centred on a sequence number, oldest first."""
    half = limit // 2
    older = messages_before(conversation_id=conversation_id, before_sequence=sequence, limit=half)
    newer = messages_after(
        conversation_id=conversation_id, after_sequence=sequence - 1, limit=limit - len(older)
    )
    return older + newer


def messages_by_ids(*, message_ids: list[int]) -> dict[int, Message]:
    """Return messages by id, ready to serialise."""
    return _history().in_bulk(message_ids)


def members_for_push(*, conversation_id: int) -> list[tuple[int, str]]:
    """Return (user id, username) of the conversation's members."""
    return list(
        Membership.objects.filter(conversation_id=conversation_id).values_list(
            "user_id", "user__username"
        )
    )


def membership_get(*, user_id: int, conversation_id: int) -> Membership | None:
    """Return the user's membership of the conversation, if any."""
    return (
        Membership.objects.filter(user_id=user_id, conversation_id=conversation_id)
        .select_related("conversation")
        .first()
    )


def message_get_for_member(*, user_id: int, message_id: int) -> Message | None:
    """Return a message if the user is a member of its conversation."""
    return (
        Message.objects.filter(pk=message_id, conversation__memberships__user_id=user_id)
        .select_related("conversation")
        .first()
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


def typing_recipients(*, user_id: int, conversation_id: int) -> list[int] | None:
    """Return the other members to show the user's typing to; None if not a member."""
    members = member_ids(conversation_id=conversation_id)
    if user_id not in members:
        return None
    return [member for member in members if member != user_id]
