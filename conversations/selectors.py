"""Reads of conversations and messages."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from django.db.models import Model, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.base import ModelState

from accounts.models import User
from conversations.models import Attachment, Conversation, Membership, Message, Reaction
from messenger.prepared import prepared_rows


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


@dataclass(frozen=True)
class SidebarEntry:
    """One line of the conversation list: what it shows and its unread count."""

    pk: int
    kind: str
    name: str
    last_sequence: int
    read_sequence: int
    # The other person of a one-to-one conversation, for the avatar.
    other: User | None

    @property
    def unread(self) -> int:
        """Return how many messages the viewer has not read."""
        return max(0, self.last_sequence - self.read_sequence)


_SIDEBAR_SQL = """
SELECT c.id, c.kind, c.title, c.last_sequence, me.last_read_sequence,
    (SELECT json_agg(json_build_array(u.id, u.username, u.display_name, u.avatar)
                     ORDER BY m.id)
       FROM conversations_membership m JOIN accounts_user u ON u.id = m.user_id
      WHERE m.conversation_id = c.id AND m.user_id <> me.user_id)
FROM conversations_membership me
JOIN conversations_conversation c ON c.id = me.conversation_id
WHERE me.user_id = %s
ORDER BY c.last_message_at DESC, c.created_at DESC
"""


def conversation_sidebar(*, user: User) -> list[SidebarEntry]:
    """Return the user's conversations for the list, most recently active first.

    One prepared statement: the ORM's conversation, membership and user
    objects for a few hundred conversations took most of a page's time.
    """
    entries = []
    rows = prepared_rows(_SIDEBAR_SQL, [user.pk])
    for pk, kind, title, last_sequence, read_sequence, others in rows:
        people = [_loaded(User, _USER_COLUMNS, values) for values in others or ()]
        entries.append(
            SidebarEntry(
                pk=pk,
                kind=kind,
                name=title or ", ".join(person.name for person in people) or user.name,
                last_sequence=last_sequence,
                read_sequence=read_sequence,
                other=people[0] if kind == Conversation.Kind.DIRECT and people else None,
            )
        )
    return entries


_CONVERSATION_COLUMNS = tuple(f.attname for f in Conversation._meta.concrete_fields)
_MEMBERSHIP_COLUMNS = ("id", "user_id", "conversation_id", "role", "last_read_sequence")
_MEMBER_COLUMNS = ("id", "username", "display_name", "avatar", "status_text", "is_active")
_CONVERSATION_SQL = """
SELECT {conversation},
    (SELECT json_agg(json_build_array({membership}, {member}) ORDER BY m.id)
       FROM conversations_membership m JOIN accounts_user u ON u.id = m.user_id
      WHERE m.conversation_id = c.id)
FROM conversations_conversation c
WHERE c.id = %s AND EXISTS (
    SELECT 1 FROM conversations_membership me WHERE me.conversation_id = c.id AND me.user_id = %s
)
""".format(  # noqa: S608 - only this module's constant column lists are interpolated
    conversation=", ".join(f"c.{c}" for c in _CONVERSATION_COLUMNS),
    membership=", ".join(f"m.{c}" for c in _MEMBERSHIP_COLUMNS),
    member=", ".join(f"u.{c}" for c in _MEMBER_COLUMNS),
)


def conversation_get_for_member(*, user: User, conversation_id: int) -> Conversation | None:
    """Return the conversation if the user is a member of it, else None.

    Its memberships (with their users) come prefetched, from the same
    prepared statement: every page and frame about a conversation starts here.
    """
    rows = prepared_rows(_CONVERSATION_SQL, [conversation_id, user.pk])
    if not rows:
        return None
    row = rows[0]
    conversation = _loaded(Conversation, _CONVERSATION_COLUMNS, row[:-1])
    n_membership = len(_MEMBERSHIP_COLUMNS)
    memberships = []
    for values in row[-1] or ():
        membership = _loaded(Membership, _MEMBERSHIP_COLUMNS, values[:n_membership])
        membership.user = _loaded(User, _MEMBER_COLUMNS, values[n_membership:])
        memberships.append(membership)
    # As prefetch_related leaves it: conversation.memberships.all() is this list.
    prefetched = conversation.memberships.all()
    prefetched._result_cache = memberships
    prefetched._prefetch_done = True  # type: ignore[attr-defined]
    conversation._prefetched_objects_cache = {"memberships": prefetched}  # type: ignore[attr-defined]
    return conversation


def membership_exists(*, user_id: int, conversation_id: int) -> bool:
    """Return whether the user is a member of the conversation."""
    return Membership.objects.filter(user_id=user_id, conversation_id=conversation_id).exists()


_SEND_REFUSAL_SQL = """
SELECT c.kind = 'direct' AND EXISTS (
    SELECT 1 FROM conversations_membership other
    JOIN contacts_block b
        ON (b.blocker_id = me.user_id AND b.blocked_id = other.user_id)
        OR (b.blocked_id = me.user_id AND b.blocker_id = other.user_id)
    WHERE other.conversation_id = c.id AND other.user_id <> me.user_id
)
FROM conversations_membership me
JOIN conversations_conversation c ON c.id = me.conversation_id
WHERE me.user_id = %s AND me.conversation_id = %s
"""


def send_refusal(*, user_id: int, conversation_id: int) -> str | None:
    """Return why the user may not send into the conversation, or None if they may.

    ``forbidden``: not a member (or no such conversation); ``blocked``: a
    one-to-one conversation where either person blocked the other.  Every
    message sent runs this: one prepared statement, no ORM compilation.
    """
    rows = prepared_rows(_SEND_REFUSAL_SQL, [user_id, conversation_id])
    if not rows:
        return "forbidden"
    return "blocked" if rows[0][0] else None


def member_ids(*, conversation_id: int) -> list[int]:
    """Return the ids of the conversation's members."""
    return list(
        Membership.objects.filter(conversation_id=conversation_id).values_list("user_id", flat=True)
    )


ModelT = TypeVar("ModelT", bound=Model)

# One statement per page: the messages with their sender, the quoted message
# and its sender joined, reactions and attachments aggregated as JSON.  Five
# ORM queries (and compiling them) took most of a page's time; this reads the
# same rows in one round trip and builds the same model objects from them.
_MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "sender_id",
    "sequence",
    "client_id",
    "event_id",
    "kind",
    "body",
    "reply_to_id",
    "created_at",
    "stored_at",
    "edited_at",
    "deleted_at",
    "change",
)
_USER_COLUMNS = ("id", "username", "display_name", "avatar")
_ATTACHMENT_COLUMNS = (
    "id",
    "token",
    "conversation_id",
    "uploader_id",
    "message_id",
    "file",
    "thumbnail",
    "content_type",
    "size",
    "original_name",
    "width",
    "height",
)
# Only this module's constant column lists and clauses are interpolated;
# values always go as parameters.
_HISTORY_SQL = """
SELECT {message}, {sender}, {reply}, {reply_sender},
    (SELECT json_agg(json_build_array(x.emoji, x.user_id) ORDER BY x.id)
       FROM conversations_reaction x WHERE x.message_id = m.id),
    (SELECT json_agg(json_build_array({attachment}) ORDER BY a.id)
       FROM conversations_attachment a WHERE a.message_id = m.id)
FROM (
    SELECT {page_columns} FROM conversations_message
    WHERE {{where}} ORDER BY {{order}} LIMIT %s
) m
JOIN accounts_user s ON s.id = m.sender_id
LEFT JOIN conversations_message r ON r.id = m.reply_to_id
LEFT JOIN accounts_user rs ON rs.id = r.sender_id
ORDER BY m.sequence
""".format(  # noqa: S608
    message=", ".join(f"m.{c}" for c in _MESSAGE_COLUMNS),
    sender=", ".join(f"s.{c}" for c in _USER_COLUMNS),
    reply=", ".join(f"r.{c}" for c in _MESSAGE_COLUMNS),
    reply_sender=", ".join(f"rs.{c}" for c in _USER_COLUMNS),
    attachment=", ".join(f"a.{c}" for c in _ATTACHMENT_COLUMNS),
    page_columns=", ".join(_MESSAGE_COLUMNS),
)


def _loaded(model: type[ModelT], columns: tuple[str, ...], values: Sequence[object]) -> ModelT:
    """Return a model instance of database values, as the ORM would load it.

    What ``Model.from_db`` does without ``__init__``'s per-field walk and
    signals, which were most of a history page's Python time; the columns
    not given are deferred, as with ``only()``.
    """
    instance = model.__new__(model)
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = "default"
    instance.__dict__.update(zip(columns, values, strict=True))
    return instance


def _user_loaded(users: dict[int, User], values: Sequence[object]) -> User:
    """Return the User of these _USER_COLUMNS values, one instance per id in ``users``."""
    user_id = cast(int, values[0])
    found = users.get(user_id)
    if found is None:
        found = users[user_id] = _loaded(User, _USER_COLUMNS, values)
    return found


def _history(where: str, order: str, params: list[object], limit: int) -> list[Message]:
    """Return the messages matching ``where``, with everything their wire shape shows.

    Each message carries ``sender``, ``reply_to`` (with its sender),
    ``reaction_list`` and ``attachment_list``, oldest first.
    """
    rows = prepared_rows(_HISTORY_SQL.format(where=where, order=order), [*params, limit])
    users: dict[int, User] = {}
    n_message, n_user = len(_MESSAGE_COLUMNS), len(_USER_COLUMNS)
    messages = []
    for row in rows:
        message = _loaded(Message, _MESSAGE_COLUMNS, row[:n_message])
        at = n_message
        message.sender = _user_loaded(users, row[at : at + n_user])
        at += n_user
        reply_values = row[at : at + n_message]
        at += n_message
        reply_sender = row[at : at + n_user]
        at += n_user
        if reply_values[0] is not None:
            reply = _loaded(Message, _MESSAGE_COLUMNS, reply_values)
            reply.sender = _user_loaded(users, reply_sender)
            message.reply_to = reply
        else:
            message.reply_to = None
        reactions, attachments = row[at], row[at + 1]
        message.reaction_list = [  # type: ignore[attr-defined]
            Reaction(message_id=message.pk, emoji=emoji, user_id=user_id)
            for emoji, user_id in reactions or ()
        ]
        message.attachment_list = [  # type: ignore[attr-defined]
            _attachment(values) for values in attachments or ()
        ]
        messages.append(message)
    return messages


def _attachment(values: list[object]) -> Attachment:
    """Return an attachment from its JSON-aggregated column values."""
    fields = dict(zip(_ATTACHMENT_COLUMNS, values, strict=True))
    fields["token"] = uuid.UUID(str(fields["token"]))
    return _loaded(Attachment, _ATTACHMENT_COLUMNS, tuple(fields.values()))


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
    if before_sequence is None:
        return _history("conversation_id = %s", "sequence DESC", [conversation_id], limit)
    return _history(
        "conversation_id = %s AND sequence < %s",
        "sequence DESC",
        [conversation_id, before_sequence],
        limit,
    )


def messages_after(*, conversation_id: int, after_sequence: int, limit: int) -> list[Message]:
    """Return up to ``limit`` messages with a sequence above ``after_sequence``, in order."""
    return _history(
        "conversation_id = %s AND sequence > %s",
        "sequence",
        [conversation_id, after_sequence],
        limit,
    )


def messages_around(*, conversation_id: int, sequence: int, limit: int) -> list[Message]:
    """Return a page of messages centred on a sequence number, oldest first."""
    half = limit // 2
    older = messages_before(conversation_id=conversation_id, before_sequence=sequence, limit=half)
    newer = messages_after(
        conversation_id=conversation_id, after_sequence=sequence - 1, limit=limit - len(older)
    )
    return older + newer


def messages_changed(
    *, conversation_id: int, after_change: int, up_to_sequence: int, limit: int
) -> list[Message]:
    """Return up to ``limit`` messages changed after change number ``after_change``.

    Only messages up to ``up_to_sequence`` (those the client has); sorted by
    change number.
    """
    found = _history(
        # "change > 0" matches the partial index's condition, so even a
        # generic (prepared) plan can use it.
        "conversation_id = %s AND change > 0 AND change > %s AND sequence <= %s",
        "change",
        [conversation_id, after_change, up_to_sequence],
        limit,
    )
    return sorted(found, key=lambda message: message.change)


def conversation_last_change(*, conversation_id: int) -> int:
    """Return the conversation's latest change number (0 if none)."""
    found = (
        Conversation.objects.filter(pk=conversation_id)
        .values_list("last_change", flat=True)
        .first()
    )
    return found or 0


def messages_by_ids(*, message_ids: list[int]) -> dict[int, Message]:
    """Return messages by id, ready to serialise."""
    found = _history("id = ANY(%s)", "id", [list(message_ids)], len(message_ids))
    return {message.pk: message for message in found}


# Every column a message's sender shows (_USER_COLUMNS): pushing a new
# message takes its sender from here instead of reading the message back.
_MEMBERS_SQL = """
SELECT m.conversation_id, {user}
FROM conversations_membership m JOIN accounts_user u ON u.id = m.user_id
WHERE m.conversation_id = ANY(%s::bigint[])
ORDER BY m.conversation_id, m.id
""".format(user=", ".join(f"u.{c}" for c in _USER_COLUMNS))


def members_of(*, conversation_ids: Sequence[int]) -> dict[int, list[User]]:
    """Return each conversation's members, in joining order, by conversation.

    Every stored message is pushed to, and announced to, these people.
    """
    members: dict[int, list[User]] = {pk: [] for pk in conversation_ids}
    users: dict[int, User] = {}
    for conversation_id, *values in prepared_rows(_MEMBERS_SQL, [list(conversation_ids)]):
        members[conversation_id].append(_user_loaded(users, values))
    return members


def members_named(*, conversation_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """Return (user id, username) of each conversation's members, by conversation."""
    return {
        pk: [(user.pk, user.username) for user in people]
        for pk, people in members_of(conversation_ids=conversation_ids).items()
    }


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
