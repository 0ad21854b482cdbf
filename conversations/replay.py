"""Rebuild stored messages from the ``messages`` topic: the log is the source of truth.

A message's sequence number is its place among its conversation's distinct
messages in the log.  The live consumer assigns exactly that (one partition
per conversation, read in order, numbers given under a row lock), so a replay
recomputes it by walking each conversation's events from the start of the
log, even those outside the requested range, which only reserve their
numbers.  Rows that exist are anchors: their number is kept and the count
continues from it, so a log whose start was removed by retention still
numbers what follows correctly.  A missing row is inserted with its number;
if another row already holds that number it is reported, never overwritten.
Running a replay twice changes nothing the second time.

Conversations, memberships and people are not in the log: they must exist
(from PostgreSQL's own backups) for their messages to be rebuilt.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from accounts.models import User
from conversations.models import Conversation, Message
from messenger.kafka.events import Envelope, MessageSent
from messenger.kafka.replay import LoggedEvent

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500


@dataclass
class ReplayReport:
    """What a replay found and did."""

    events: int = 0
    in_range: int = 0
    inserted: int = 0
    already_stored: int = 0
    conflicts: int = 0
    skipped: int = 0
    conversations: set[int] = field(default_factory=set)


@dataclass
class _Numbering:
    """Where one conversation's count stands while its log is walked."""

    sequence: int = 0
    pending: list[tuple[Envelope, MessageSent, bool]] = field(default_factory=list)


def messages_replay(
    *,
    events: Iterable[LoggedEvent],
    since: datetime | None = None,
    until: datetime | None = None,
    conversation_id: int | None = None,
) -> ReplayReport:
    """Insert the missing messages whose event time is in [since, until).

    ``events`` must hold each conversation's events in log order, from the
    start of the log; events of other conversations than ``conversation_id``
    (when given) are ignored.
    """
    report = ReplayReport()
    numbering: dict[int, _Numbering] = {}
    for event in events:
        payload = event.envelope.payload
        if not isinstance(payload, MessageSent):
            continue
        if conversation_id is not None and payload.conversation_id != conversation_id:
            continue
        report.events += 1
        when = event.envelope.time
        in_range = (since is None or when >= since) and (until is None or when < until)
        state = numbering.setdefault(payload.conversation_id, _Numbering())
        state.pending.append((event.envelope, payload, in_range))
        if len(state.pending) >= CHUNK_SIZE:
            _chunk_apply(conversation_id=payload.conversation_id, state=state, report=report)
    for cid, state in numbering.items():
        if state.pending:
            _chunk_apply(conversation_id=cid, state=state, report=report)
    return report


@transaction.atomic
def _chunk_apply(*, conversation_id: int, state: _Numbering, report: ReplayReport) -> None:
    items, state.pending = state.pending, []
    report.in_range += sum(1 for *_, in_range in items if in_range)
    # The same lock as the live consumer: replaying beside it is safe.
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        report.skipped += len(items)
        logger.warning("replay: conversation %s does not exist; skipped", conversation_id)
        return
    report.conversations.add(conversation_id)
    # Looked up like the live consumer does: one message per sender and
    # client_id, whatever the conversation.
    found = Message.objects.filter(
        sender_id__in={p.sender_id for _, p, _ in items},
        client_id__in={p.client_id for _, p, _ in items},
    ).values_list("sender_id", "client_id", "conversation_id", "sequence")
    stored = {(s, c): seq for s, c, conv, seq in found if conv == conversation_id}
    elsewhere = {(s, c) for s, c, conv, _ in found if conv != conversation_id}
    senders = User.objects.in_bulk({p.sender_id for _, p, _ in items})
    new: list[Message] = []
    for envelope, payload, in_range in items:
        key = (payload.sender_id, payload.client_id)
        if key in stored:
            # An anchor (or a resent copy of a message already counted).
            state.sequence = max(state.sequence, stored[key])
            report.already_stored += in_range
            continue
        if key in elsewhere or payload.sender_id not in senders:
            # The live consumer could not store it either (dead-lettered).
            report.skipped += in_range
            continue
        state.sequence += 1
        stored[key] = state.sequence
        if in_range:
            new.append(
                Message(
                    conversation=conversation,
                    sender=senders[payload.sender_id],
                    sequence=state.sequence,
                    client_id=payload.client_id,
                    event_id=envelope.id,
                    body=payload.body,
                    created_at=envelope.time,
                )
            )
    taken = set(
        Message.objects.filter(
            conversation_id=conversation_id, sequence__in=[m.sequence for m in new]
        ).values_list("sequence", flat=True)
    )
    if taken:
        report.conflicts += len(taken)
        logger.error(
            "replay: conversation %s already has other messages at sequences %s; left as they are",
            conversation_id,
            sorted(taken),
        )
        new = [m for m in new if m.sequence not in taken]
    if not new:
        return
    Message.objects.bulk_create(new)
    report.inserted += len(new)
    newest = max(new, key=lambda m: m.sequence)
    if newest.sequence > conversation.last_sequence:
        conversation.last_sequence = newest.sequence
        conversation.last_message_at = newest.created_at
        conversation.save(update_fields=["last_sequence", "last_message_at"])
