"""Writes of conversations and messages.

A message takes two steps.  :func:`message_send` checks the sender may send it
and hands the event to Kafka; once Kafka has it, the message is accepted and
the sender is acknowledged.  The ``messages`` consumer then calls
:func:`messages_store`, which stores each message exactly once and, after the
commit, pushes it to every member's open sockets.
"""

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from contacts.selectors import block_exists_between, is_contact
from conversations import selectors
from conversations.attachments import AttachmentError, attachments_check, attachments_link
from conversations.models import Conversation, Membership, Message, Reaction
from conversations.serializers import message_serialize
from messenger.database import database_sync_to_async_unshared
from messenger.errors import SERVICE_AWAY_ERRORS, UNAVAILABLE_TEXT, RuleError
from messenger.kafka.events import (
    ConversationChanged,
    ConversationRead,
    Envelope,
    MessageDeleted,
    MessageEdited,
    MessageReaction,
    MessageSent,
)
from messenger.kafka.producer import PublishError, publish_async
from messenger.logcontext import trace_logger
from messenger.metrics import message_latency_observe
from messenger.prepared import prepared_rows
from messenger.ratelimit import rate_limit_hit
from messenger.realtime import frames_push, frames_push_nowait, user_group
from notifications.services import message_notifications_publish

logger = logging.getLogger(__name__)


class ConversationError(RuleError):
    """A request the rules refuse; ``code`` is the documented error code."""


@transaction.atomic
def conversation_direct_get_or_create(*, user: User, other: User) -> Conversation:
    """Return the one-to-one conversation of two people, creating it on first use."""
    if user.pk == other.pk:
        raise ConversationError("invalid", "You cannot start a conversation with yourself.")
    if not other.is_active:
        raise ConversationError("not_found", "No such person.")
    if block_exists_between(user_id=user.pk, other_id=other.pk):
        raise ConversationError("blocked", "You can't start a conversation with this person.")
    if not is_contact(user_id=user.pk, other_id=other.pk):
        raise ConversationError(
            "not_contact", f"Add {other.name} to your contacts before you write to them."
        )
    low, high = sorted((user.pk, other.pk))
    conversation, created = Conversation.objects.get_or_create(
        direct_key=f"{low}:{high}", defaults={"kind": Conversation.Kind.DIRECT}
    )
    if created:
        Membership.objects.bulk_create(
            [
                Membership(user=user, conversation=conversation),
                Membership(user=other, conversation=conversation),
            ]
        )
    return conversation


@dataclass(frozen=True)
class MessageAccepted:
    """Kafka has the message: it will be stored and delivered."""

    envelope: Envelope
    partition: int
    offset: int


async def message_send(
    *,
    sender: User,
    conversation_id: int,
    client_id: uuid.UUID,
    body: str,
    reply_to_id: int | None = None,
    attachment_tokens: Sequence[uuid.UUID] = (),
) -> MessageAccepted:
    """Check that the sender may send this message, and hand it to Kafka."""
    if attachment_tokens and not body.strip():
        body = ""  # a message may be only its attachments
    _body_check(body, allow_empty=bool(attachment_tokens))
    # The rate limit (Redis) and the rules (PostgreSQL) are checked at once:
    # both are on every message's way to its ack.  The rules run in one trip
    # to the database, and not on the shared thread daphne runs every
    # socket's database calls on (thread_sensitive): these reads need no
    # other call's state, so sends do not queue behind connects.
    limited, checked = await asyncio.gather(
        rate_limit_hit(
            scope="message",
            ident=str(sender.pk),
            limit=settings.MESSAGE_RATE_LIMIT,
            window_seconds=settings.MESSAGE_RATE_WINDOW_SECONDS,
        ),
        database_sync_to_async_unshared(_send_check)(
            sender_id=sender.pk,
            conversation_id=conversation_id,
            reply_to_id=reply_to_id,
            attachment_tokens=attachment_tokens,
        ),
        return_exceptions=True,
    )
    for outcome in (limited, checked):
        if isinstance(outcome, SERVICE_AWAY_ERRORS):
            # Redis or PostgreSQL away, or a web process so busy its pool had
            # no free connection in time: the sender resends later.
            logger.warning("message %s from user %s refused: %r", client_id, sender.pk, outcome)
            raise ConversationError("unavailable", UNAVAILABLE_TEXT) from outcome
        if isinstance(outcome, BaseException):
            raise outcome
    if limited:
        raise ConversationError("rate_limited", "Too many messages; wait a moment.")
    tokens = cast(list[uuid.UUID], checked)
    envelope = Envelope(
        payload=MessageSent(
            conversation_id=conversation_id,
            sender_id=sender.pk,
            client_id=client_id,
            body=body,
            reply_to_id=reply_to_id,
            attachment_tokens=tokens,
        )
    )
    try:
        metadata = await publish_async(envelope)
    except PublishError:
        logger.exception(
            "message %s from user %s not accepted",
            client_id,
            sender.pk,
            extra={"event_id": str(envelope.id)},
        )
        raise ConversationError("unavailable", UNAVAILABLE_TEXT) from None
    trace_logger.info(
        "message accepted",
        extra={
            "event_id": str(envelope.id),
            "client_id": str(client_id),
            "conversation_id": conversation_id,
            "sender_id": sender.pk,
            "partition": metadata.partition,
            "offset": metadata.offset,
        },
    )
    return MessageAccepted(envelope=envelope, partition=metadata.partition, offset=metadata.offset)


def _send_check(
    *,
    sender_id: int,
    conversation_id: int,
    reply_to_id: int | None,
    attachment_tokens: Sequence[uuid.UUID],
) -> list[uuid.UUID]:
    """Refuse a send the rules forbid; return the attachment tokens to send."""
    refusal = selectors.send_refusal(user_id=sender_id, conversation_id=conversation_id)
    if refusal == "forbidden":
        # The same answer for "does not exist" and "not yours": no probing.
        raise ConversationError("forbidden", "You are not a member of this conversation.")
    if refusal == "blocked":
        raise ConversationError("blocked", "You can't send messages to this person.")
    if reply_to_id is not None:
        target = selectors.message_get_for_member(user_id=sender_id, message_id=reply_to_id)
        if target is None or target.conversation_id != conversation_id:
            raise ConversationError(
                "bad_reply", "You can only reply to a message of this conversation."
            )
    try:
        return attachments_check(
            user_id=sender_id, conversation_id=conversation_id, tokens=attachment_tokens
        )
    except AttachmentError as exc:
        raise ConversationError(exc.code, exc.message) from None


def _body_check(body: str, *, allow_empty: bool = False) -> None:
    # A message may be only its attachments.
    if not body.strip() and not (allow_empty and not body):
        raise ConversationError("body_empty", "The message is empty.")
    if len(body) > settings.MESSAGE_MAX_LENGTH:
        raise ConversationError(
            "body_too_long", f"A message has at most {settings.MESSAGE_MAX_LENGTH} characters."
        )


async def _publish(envelope: Envelope) -> None:
    try:
        await publish_async(envelope)
    except PublishError:
        logger.exception("%s not accepted", envelope.type, extra={"event_id": str(envelope.id)})
        raise ConversationError("unavailable", UNAVAILABLE_TEXT) from None


async def _own_message(*, user: User, message_id: int) -> Message:
    message = await database_sync_to_async(selectors.message_get_for_member)(
        user_id=user.pk, message_id=message_id
    )
    if message is None:
        raise ConversationError("forbidden", "You are not a member of this conversation.")
    if message.sender_id != user.pk or message.kind != Message.Kind.TEXT:
        raise ConversationError("not_yours", "You can only change your own messages.")
    if message.deleted_at is not None:
        raise ConversationError("deleted", "That message was deleted.")
    return message


async def message_edit(*, user: User, message_id: int, body: str) -> Envelope:
    """Change the body of one's own message (through Kafka, like sending)."""
    _body_check(body)
    message = await _own_message(user=user, message_id=message_id)
    envelope = Envelope(
        payload=MessageEdited(
            conversation_id=message.conversation_id,
            message_id=message.pk,
            editor_id=user.pk,
            body=body,
        )
    )
    await _publish(envelope)
    return envelope


async def message_delete(*, user: User, message_id: int) -> Envelope:
    """Delete one's own message: it becomes a tombstone for everyone."""
    message = await _own_message(user=user, message_id=message_id)
    envelope = Envelope(
        payload=MessageDeleted(
            conversation_id=message.conversation_id, message_id=message.pk, deleter_id=user.pk
        )
    )
    await _publish(envelope)
    return envelope


def _is_emoji(text: str) -> bool:
    # Emoji and their modifiers live outside ASCII; letters, digits, markup
    # and spaces are refused.
    return 0 < len(text) <= 16 and all(ord(char) > 0x7F and not char.isspace() for char in text)


async def reaction_set(*, user: User, message_id: int, emoji: str, added: bool) -> Envelope:
    """Add or remove one's emoji reaction to a message of a conversation one is in."""
    if not _is_emoji(emoji):
        raise ConversationError("bad_emoji", "A reaction is one emoji.")
    message = await database_sync_to_async(selectors.message_get_for_member)(
        user_id=user.pk, message_id=message_id
    )
    if message is None:
        raise ConversationError("forbidden", "You are not a member of this conversation.")
    if message.deleted_at is not None:
        raise ConversationError("deleted", "That message was deleted.")
    envelope = Envelope(
        payload=MessageReaction(
            conversation_id=message.conversation_id,
            message_id=message.pk,
            user_id=user.pk,
            emoji=emoji,
            added=added,
        )
    )
    await _publish(envelope)
    return envelope


async def conversation_read(*, user: User, conversation_id: int, sequence: int) -> Envelope:
    """Record that the user has read a conversation up to a sequence (activity topic)."""
    membership = await database_sync_to_async(selectors.membership_get)(
        user_id=user.pk, conversation_id=conversation_id
    )
    if membership is None:
        raise ConversationError("forbidden", "You are not a member of this conversation.")
    envelope = Envelope(
        payload=ConversationRead(
            user_id=user.pk,
            conversation_id=conversation_id,
            sequence=min(sequence, membership.conversation.last_sequence),
        )
    )
    await _publish(envelope)
    return envelope


@transaction.atomic
def read_receipts_apply(*, envelopes: Sequence[Envelope]) -> None:
    """Move read markers forward (never back) and tell the conversation's members."""
    sends: list[tuple[str, dict[str, Any]]] = []
    for envelope in envelopes:
        payload = envelope.payload
        if not isinstance(payload, ConversationRead):
            continue
        moved = Membership.objects.filter(
            user_id=payload.user_id,
            conversation_id=payload.conversation_id,
            last_read_sequence__lt=payload.sequence,
        ).update(last_read_sequence=payload.sequence)
        if not moved:
            continue  # A replay, or an older marker: nothing changes.
        frame = {
            "type": "receipt",
            "conversation": payload.conversation_id,
            "user_id": payload.user_id,
            "sequence": payload.sequence,
        }
        sends.extend(
            (user_group(uid), frame)
            for uid in selectors.member_ids(conversation_id=payload.conversation_id)
        )
    if sends:
        transaction.on_commit(lambda: frames_push(sends))


@dataclass(frozen=True)
class _NewMessage:
    """A message to store: sent by a member, or a system message about a change."""

    envelope: Envelope
    conversation_id: int
    sender_id: int
    client_id: uuid.UUID
    body: str
    kind: str = Message.Kind.TEXT
    reply_to_id: int | None = None
    attachment_tokens: tuple[uuid.UUID, ...] = ()


@transaction.atomic
def messages_store(*, envelopes: Sequence[Envelope]) -> list[Message]:
    """Apply a batch of the ``messages`` topic in order, exactly once; push after commit.

    New messages get the next sequence numbers; a message whose ``(sender,
    client_id)`` is already stored is not stored again but is pushed again,
    since the earlier push may not have happened (clients drop duplicates by
    id).  Edits, deletions and reactions are idempotent too.  Returns the
    new (or replayed) messages.
    """
    stored: list[Message] = []
    complete: list[Message] = []
    changed: list[int] = []
    run: list[_NewMessage] = []

    def flush() -> None:
        if run:
            run_stored, run_complete = _messages_store_run(items=run)
            stored.extend(run_stored)
            complete.extend(run_complete)
        run.clear()

    for envelope in envelopes:
        payload = envelope.payload
        if isinstance(payload, MessageSent):
            run.append(
                _NewMessage(
                    envelope=envelope,
                    conversation_id=payload.conversation_id,
                    sender_id=payload.sender_id,
                    client_id=payload.client_id,
                    body=payload.body,
                    reply_to_id=payload.reply_to_id,
                    attachment_tokens=tuple(payload.attachment_tokens),
                )
            )
        elif isinstance(payload, ConversationChanged):
            run.append(
                _NewMessage(
                    envelope=envelope,
                    conversation_id=payload.conversation_id,
                    sender_id=payload.actor_id,
                    client_id=payload.change_id,
                    body=_system_text(payload),
                    kind=Message.Kind.SYSTEM,
                )
            )
        else:
            # Changes apply to stored messages: store what came before first.
            flush()
            message_id = _message_change_apply(envelope)
            if message_id is not None:
                changed.append(message_id)
    flush()
    if stored or changed:
        new_ids = [m.pk for m in stored]
        transaction.on_commit(
            lambda: messages_push(message_ids=new_ids, changed_ids=changed, complete=complete)
        )
    return stored


def _system_text(change: ConversationChanged) -> str:
    people = User.objects.in_bulk([i for i in (change.actor_id, change.subject_id) if i])
    actor = people[change.actor_id].name if change.actor_id in people else "Someone"
    subject = people[change.subject_id].name if change.subject_id in people else "someone"
    return {
        "created": f"{actor} created the group “{change.title}”.",
        "renamed": f"{actor} renamed the group to “{change.title}”.",
        "member_added": f"{actor} added {subject}.",
        "member_removed": f"{actor} removed {subject}.",
        "member_left": f"{actor} left.",
    }[change.action]


# Storing messages is every message's way to its recipients, so its
# statements are prepared once per connection (messenger/prepared.py), and a
# batch takes three of them whatever the number of its conversations: per
# conversation, a busy consumer spent most of its time on round trips.
# Rows are locked in id order, so two writers of the same conversations
# cannot deadlock.  NO KEY UPDATE: new memberships (which take KEY SHARE on
# the row) are not blocked by, and cannot deadlock with, storing messages.
_CONVERSATIONS_LOCK_SQL = """
SELECT id, last_sequence FROM conversations_conversation WHERE id = ANY(%s::bigint[])
ORDER BY id FOR NO KEY UPDATE
"""
_MESSAGES_KNOWN_SQL = """
SELECT id, conversation_id, sender_id, client_id, sequence FROM conversations_message
WHERE sender_id = ANY(%s::bigint[]) AND client_id = ANY(%s::uuid[])
"""
_REPLY_TARGETS_SQL = """
SELECT id, conversation_id FROM conversations_message WHERE id = ANY(%s::bigint[])
"""
# The new messages, their conversations' counters and, since whoever writes
# has read everything up to what they wrote, the senders' read markers: one
# statement (every statement is a round trip on every message's way).
_MESSAGES_INSERT_SQL = """
WITH advanced AS (
    UPDATE conversations_conversation c
    SET last_sequence = a.last_sequence, last_message_at = a.last_message_at
    FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[])
        AS a (id, last_sequence, last_message_at)
    WHERE c.id = a.id
), marked AS (
    UPDATE conversations_membership m SET last_read_sequence = r.sequence
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])
        AS r (conversation_id, user_id, sequence)
    WHERE m.conversation_id = r.conversation_id AND m.user_id = r.user_id
        AND m.last_read_sequence < r.sequence
)
INSERT INTO conversations_message (conversation_id, sender_id, sequence, client_id,
    event_id, kind, body, reply_to_id, created_at, stored_at, change)
SELECT conversation_id, sender_id, sequence, client_id, event_id, kind, body, reply_to_id,
    created_at, %s, 0
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::uuid[], %s::uuid[], %s::text[],
            %s::text[], %s::bigint[], %s::timestamptz[])
    AS new (conversation_id, sender_id, sequence, client_id, event_id, kind, body,
            reply_to_id, created_at)
RETURNING conversation_id, sequence, id
"""


def _messages_store_run(*, items: list[_NewMessage]) -> tuple[list[Message], list[Message]]:
    """Store a run of new messages, of any conversations.

    Return them in order, and those of them just inserted with everything
    their wire shape shows but their sender (no reply, no attachment).
    """
    conversation_ids = sorted({i.conversation_id for i in items})
    # The row locks serialise every writer of these conversations, so sequence
    # numbers have no gaps and the duplicate check below cannot race.
    sequences: dict[int, int] = dict(prepared_rows(_CONVERSATIONS_LOCK_SQL, [conversation_ids]))
    missing = [pk for pk in conversation_ids if pk not in sequences]
    if missing:
        raise Conversation.DoesNotExist(f"conversation {missing[0]} does not exist")
    known: dict[tuple[int, uuid.UUID], Message] = {
        (sender_id, client_id): _message_stored(
            Message(
                pk=pk,
                conversation_id=conversation_id,
                sender_id=sender_id,
                client_id=client_id,
                sequence=known_sequence,
            )
        )
        for pk, conversation_id, sender_id, client_id, known_sequence in prepared_rows(
            _MESSAGES_KNOWN_SQL,
            [list({i.sender_id for i in items}), list({i.client_id for i in items})],
        )
    }
    # A reply may only point into the same conversation.
    wanted_targets = list({i.reply_to_id for i in items if i.reply_to_id})
    reply_targets: dict[int, int] = (
        dict(prepared_rows(_REPLY_TARGETS_SQL, [wanted_targets])) if wanted_targets else {}
    )
    stored: list[Message] = []
    new: list[Message] = []
    for item in items:
        key = (item.sender_id, item.client_id)
        message = known.get(key)
        if message is None:
            sequences[item.conversation_id] += 1
            reply_ok = reply_targets.get(item.reply_to_id or 0) == item.conversation_id
            message = Message(
                conversation_id=item.conversation_id,
                sender_id=item.sender_id,
                sequence=sequences[item.conversation_id],
                client_id=item.client_id,
                event_id=item.envelope.id,
                kind=item.kind,
                body=item.body,
                reply_to_id=item.reply_to_id if reply_ok else None,
                created_at=item.envelope.time,
            )
            known[key] = message
            new.append(message)
        stored.append(message)
    if new:
        _messages_insert(messages=new)
    # Idempotent: a replayed message finds its uploads already linked.
    with_attachments: set[int] = set()
    for item, message in zip(items, stored, strict=True):
        if item.attachment_tokens:
            attachments_link(message=message, tokens=item.attachment_tokens)
            with_attachments.add(message.pk)
    complete = [m for m in new if m.reply_to_id is None and m.pk not in with_attachments]
    for message in complete:
        message.reaction_list = []  # type: ignore[attr-defined]
        message.attachment_list = []  # type: ignore[attr-defined]
    return stored, complete


def _message_stored(message: Message) -> Message:
    """Mark a Message as the stored row it stands for, without reading it again."""
    message._state.adding = False
    message._state.db = "default"
    return message


def _messages_insert(*, messages: list[Message]) -> None:
    """Insert new messages and advance their conversations; give each its primary key.

    ``messages`` are their conversations' next ones, each conversation's in
    sequence order.
    """
    stored_at = timezone.now()
    last: dict[int, Message] = {}
    read_up_to: dict[tuple[int, int], int] = {}
    for message in messages:
        last[message.conversation_id] = message
        read_up_to[(message.conversation_id, message.sender_id)] = message.sequence
    ids = {
        (conversation_id, sequence): pk
        for conversation_id, sequence, pk in prepared_rows(
            _MESSAGES_INSERT_SQL,
            [
                list(last),
                [m.sequence for m in last.values()],
                [m.created_at for m in last.values()],
                [conversation_id for conversation_id, _ in read_up_to],
                [user_id for _, user_id in read_up_to],
                list(read_up_to.values()),
                stored_at,
                [m.conversation_id for m in messages],
                [m.sender_id for m in messages],
                [m.sequence for m in messages],
                [m.client_id for m in messages],
                [m.event_id for m in messages],
                [m.kind for m in messages],
                [m.body for m in messages],
                [m.reply_to_id for m in messages],
                [m.created_at for m in messages],
            ],
        )
    }
    for message in messages:
        message.pk = ids[(message.conversation_id, message.sequence)]
        message.stored_at = stored_at
        _message_stored(message)


def _message_change_apply(envelope: Envelope) -> int | None:
    """Apply an edit, deletion or reaction; return the changed message's id."""
    payload = envelope.payload
    if not isinstance(payload, MessageEdited | MessageDeleted | MessageReaction):
        return None
    # The conversation's row first, as storing messages does: it numbers the
    # changes in the order they commit.
    conversation = (
        Conversation.objects.select_for_update(no_key=True)
        .filter(pk=payload.conversation_id)
        .first()
    )
    message = (
        Message.objects.select_for_update()
        .filter(pk=payload.message_id, conversation_id=payload.conversation_id)
        .first()
    )
    if conversation is None or message is None:
        logger.warning("%s for a missing message %s", envelope.type, payload.message_id)
        return None
    if isinstance(payload, MessageEdited):
        if message.sender_id != payload.editor_id or message.deleted_at is not None:
            return None
        message.body = payload.body
        message.edited_at = envelope.time
        message.save(update_fields=["body", "edited_at"])
    elif isinstance(payload, MessageDeleted):
        if message.sender_id != payload.deleter_id:
            return None
        if message.deleted_at is None:
            message.body = ""
            message.deleted_at = envelope.time
            message.save(update_fields=["body", "deleted_at"])
            Reaction.objects.filter(message=message).delete()
    elif payload.added:
        if message.deleted_at is not None:
            return None
        Reaction.objects.get_or_create(
            message=message, user_id=payload.user_id, emoji=payload.emoji
        )
    else:
        Reaction.objects.filter(
            message=message, user_id=payload.user_id, emoji=payload.emoji
        ).delete()
    conversation.last_change += 1
    conversation.save(update_fields=["last_change"])
    message.change = conversation.last_change
    message.save(update_fields=["change"])
    return message.pk


def messages_push(
    *,
    message_ids: Sequence[int],
    changed_ids: Sequence[int] = (),
    complete: Sequence[Message] = (),
) -> None:
    """Push new and changed messages to every member's sockets, and announce the new ones.

    ``complete`` are new messages as storing them left them in memory, with
    everything they show but their sender, who is taken from the members
    read for the push: they are not read back.  The others are.
    The channel layer may drop a push; clients then get the message from
    PostgreSQL when they sync.  So the push is not waited for, and a push
    failure is logged, never raised.
    Announcing new messages to the members who are not looking (the
    ``notifications`` topic) must not be lost: its Kafka error is raised,
    and the ``messages`` batch is retried.
    """
    # A message changed in the same batch shows its change: read it back.
    changed = set(changed_ids)
    in_hand = {m.pk: m for m in complete if m.pk not in changed}
    members = selectors.members_of(
        conversation_ids=list({m.conversation_id for m in in_hand.values()})
    )
    people = {user.pk: user for users in members.values() for user in users}
    for fresh in list(in_hand.values()):
        if fresh.sender_id in people:
            fresh.sender = people[fresh.sender_id]
        else:
            del in_hand[fresh.pk]  # a system message whose actor has just left
    to_read = [i for i in (*message_ids, *changed_ids) if i not in in_hand]
    loaded = selectors.messages_by_ids(message_ids=to_read) if to_read else {}
    unknown = list({m.conversation_id for m in loaded.values()} - members.keys())
    if unknown:
        members.update(selectors.members_of(conversation_ids=unknown))
    loaded.update(in_hand)
    messages = [loaded[i] for i in message_ids if i in loaded]
    named = {pk: [(u.pk, u.username) for u in people] for pk, people in members.items()}
    mentionable = {pk: {name.lower() for _, name in people} for pk, people in named.items()}
    sends: list[tuple[str, dict[str, Any]]] = []
    for frame_type, ids in (("message.new", message_ids), ("message.updated", changed_ids)):
        for message_id in dict.fromkeys(ids):
            message = loaded.get(message_id)
            if message is None:
                continue
            frame = {
                "type": frame_type,
                "message": message_serialize(
                    message, mentionable=mentionable[message.conversation_id]
                ),
            }
            sends.extend((user_group(uid), frame) for uid, _ in named[message.conversation_id])
    frames_push_nowait(sends, then=lambda: _messages_pushed_log(messages=messages, members=named))
    message_notifications_publish(messages=messages, members=named)


def _messages_pushed_log(
    *, messages: Sequence[Message], members: dict[int, list[tuple[int, str]]]
) -> None:
    for message in messages:
        # created_at is the event's time: when the socket handed it to Kafka.
        latency = message_latency_observe(accepted_at=message.created_at.timestamp())
        trace_logger.info(
            "message pushed",
            extra={
                "event_id": str(message.event_id),
                "message_id": message.pk,
                "conversation_id": message.conversation_id,
                "sequence": message.sequence,
                "recipients": len(members[message.conversation_id]),
                "latency_ms": round(latency * 1000, 1),
            },
        )
