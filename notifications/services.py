"""Deliver notification events to the people they are for.

For now notifications are live only: each event is pushed to every open
socket of its recipient.  (Stored notifications, email and web push build on
this handler.)
"""

import logging
from collections.abc import Sequence
from typing import Any

from django.urls import reverse

from accounts.models import User
from messenger.kafka.events import ContactRequestAccepted, ContactRequestReceived, Envelope
from messenger.realtime import group_send_many, user_group

logger = logging.getLogger(__name__)


def notifications_deliver(*, envelopes: Sequence[Envelope]) -> None:
    """Push each notification event to its recipient's sockets (best effort)."""
    people = User.objects.in_bulk(
        {person_id for envelope in envelopes for person_id in _people_of(envelope)}
    )
    sends = []
    for envelope in envelopes:
        frame = _frame(envelope, people)
        if frame is not None:
            recipient_id = envelope.payload.recipient_id  # type: ignore[attr-defined]
            sends.append(
                (user_group(recipient_id), {"type": "notification", "notification": frame})
            )
    try:
        group_send_many(sends)
    except Exception:
        logger.exception("pushing %d notifications failed", len(sends))


def _people_of(envelope: Envelope) -> list[int]:
    payload = envelope.payload
    if isinstance(payload, ContactRequestReceived):
        return [payload.from_user_id]
    if isinstance(payload, ContactRequestAccepted):
        return [payload.by_user_id]
    return []


def _frame(envelope: Envelope, people: dict[int, User]) -> dict[str, Any] | None:
    payload = envelope.payload
    if isinstance(payload, ContactRequestReceived):
        sender = people.get(payload.from_user_id)
        if sender is None:
            return None
        return {
            "id": str(envelope.id),
            "kind": envelope.type,
            "text": f"{sender.name} wants to add you as a contact.",
            "detail": payload.message,
            "url": reverse("contacts:index"),
        }
    if isinstance(payload, ContactRequestAccepted):
        accepter = people.get(payload.by_user_id)
        if accepter is None:
            return None
        return {
            "id": str(envelope.id),
            "kind": envelope.type,
            "text": f"{accepter.name} accepted your contact request.",
            "detail": "",
            "url": reverse("contacts:index"),
        }
    return None
