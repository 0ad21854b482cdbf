"""The fault matrix's checker: the senders' acknowledgements against PostgreSQL
and against what every recipient was shown.

Pure data in, counts out (no Django, no sockets), so the suite can feed it
hand-made ledgers and see it fail.  Definitions:

* **lost**: acknowledged, but not stored; or stored, but missing from the
  final view of a member of its conversation.
* **duplicated**: one ``(sender, client_id)`` stored as two rows, or shown to
  one recipient under two message ids.
* **reordered**: a conversation whose sequences are not exactly 1..n; a
  message a sender first sent after its earlier message was acknowledged, but
  stored before it; or a message shown with another sequence than the stored one.
* **phantom**: stored or shown, but never sent by any client.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Sent:
    """One message as its sender's client saw it."""

    client_id: str
    sender_id: int
    conversation_id: int
    first_sent: float
    last_sent: float = 0.0
    acked_at: float | None = None
    attempts: int = 0
    errors: int = 0


@dataclass(frozen=True)
class Stored:
    """One row of the messages table."""

    message_id: int
    conversation_id: int
    sender_id: int
    client_id: str
    sequence: int


@dataclass(frozen=True)
class Shown:
    """A message as one recipient's client keeps it (first arrival by id)."""

    message_id: int
    conversation_id: int
    client_id: str
    sequence: int
    arrived_at: float


@dataclass
class Verdict:
    """What one fault did to the messages of its phase."""

    sent: int = 0
    acknowledged: int = 0
    stored: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    phantom: int = 0
    unacked_stored: int = 0
    # Longest first send → shown to every member, in seconds (None: something never arrived).
    recovery_seconds: float | None = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Return whether nothing was lost, duplicated, reordered or made up."""
        return not (self.lost or self.duplicated or self.reordered or self.phantom)

    def note(self, text: str) -> None:
        """Keep a few examples of what went wrong, for the report."""
        if len(self.examples) < 5:
            self.examples.append(text)


def check(
    *,
    sent: Iterable[Sent],
    stored: Iterable[Stored],
    members: dict[int, set[int]],
    shown: dict[int, Iterable[Shown]],
) -> Verdict:
    """Compare the ack log, the stored rows and every member's view of the given conversations.

    ``members`` maps each conversation of the phase to its member ids;
    ``shown`` maps each member id to the messages its client kept.
    """
    verdict = Verdict()
    ledger = {s.client_id: s for s in sent}
    verdict.sent = len(ledger)
    verdict.acknowledged = sum(1 for s in ledger.values() if s.acked_at is not None)

    rows: dict[tuple[int, str], list[Stored]] = defaultdict(list)
    by_conversation: dict[int, list[Stored]] = defaultdict(list)
    for row in stored:
        if row.conversation_id not in members:
            continue
        rows[(row.sender_id, row.client_id)].append(row)
        by_conversation[row.conversation_id].append(row)
    verdict.stored = len(rows)

    for key, copies in rows.items():
        if len(copies) > 1:
            verdict.duplicated += len(copies) - 1
            verdict.note(f"stored {len(copies)} times: {key}")
        origin = ledger.get(key[1])
        if origin is None or origin.sender_id != key[0]:
            verdict.phantom += 1
            verdict.note(f"stored but never sent: {key}")
        elif origin.acked_at is None:
            verdict.unacked_stored += 1

    for conversation_id, conversation_rows in by_conversation.items():
        sequences = sorted(r.sequence for r in conversation_rows)
        if sequences != list(range(1, len(sequences) + 1)):
            verdict.reordered += 1
            verdict.note(f"conversation {conversation_id} numbered {sequences[:10]}…")

    stored_of = {key[1]: copies[0] for key, copies in rows.items()}
    for message in ledger.values():
        if message.acked_at is not None and message.client_id not in stored_of:
            verdict.lost += 1
            verdict.note(f"acknowledged, not stored: {message.client_id}")
    verdict.reordered += _causal_violations(ledger.values(), stored_of, verdict)

    # What each member ended up being shown.
    first_shown: dict[str, list[float]] = defaultdict(list)
    seen: dict[int, set[str]] = defaultdict(set)
    for member_id, messages in shown.items():
        by_client: dict[str, set[int]] = defaultdict(set)
        for item in messages:
            if item.conversation_id not in members:
                continue
            by_client[item.client_id].add(item.message_id)
            seen[member_id].add(item.client_id)
            row = stored_of.get(item.client_id)
            if row is None:
                verdict.phantom += 1
                verdict.note(f"shown to {member_id} but never stored: {item.client_id}")
                continue
            if row.sequence != item.sequence or row.message_id != item.message_id:
                verdict.reordered += 1
                verdict.note(f"shown to {member_id} as #{item.sequence}, stored #{row.sequence}")
            first_shown[item.client_id].append(item.arrived_at)
        for client_id, ids in by_client.items():
            if len(ids) > 1:
                verdict.duplicated += len(ids) - 1
                verdict.note(f"shown to {member_id} under ids {sorted(ids)}: {client_id}")
    worst = 0.0
    for client_id, row in stored_of.items():
        audience = members[row.conversation_id]
        missing = {member_id for member_id in audience if client_id not in seen[member_id]}
        if missing:
            verdict.lost += 1
            verdict.note(f"stored, never shown to {sorted(missing)}: {client_id}")
            continue
        verdict.delivered += 1
        origin = ledger.get(client_id)
        if origin is not None:
            worst = max(worst, max(first_shown[client_id]) - origin.first_sent)
    verdict.recovery_seconds = None if verdict.lost else worst
    return verdict


def _causal_violations(
    ledger: Iterable[Sent], stored_of: dict[str, Stored], verdict: Verdict
) -> int:
    """Count messages stored before one of the same sender and conversation
    that had been acknowledged before they were first sent.

    Not the last send: an attempt that timed out may still have reached
    Kafka, and the first copy in the log is the one stored.
    """
    streams: dict[tuple[int, int], list[Sent]] = defaultdict(list)
    for message in ledger:
        if message.client_id in stored_of:
            streams[(message.sender_id, message.conversation_id)].append(message)
    violations = 0
    for stream in streams.values():
        acked = sorted((m for m in stream if m.acked_at is not None), key=lambda m: m.acked_at or 0)
        for later in stream:
            sequence = stored_of[later.client_id].sequence
            for earlier in acked:
                if (earlier.acked_at or 0) >= later.first_sent:
                    break
                if stored_of[earlier.client_id].sequence > sequence:
                    violations += 1
                    verdict.note(f"{later.client_id} stored before {earlier.client_id}")
                    break
    return violations
