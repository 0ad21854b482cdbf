"""Notifications: announce, store once, route by preference, mark read.

The path of one notification:

1. A producer puts an event on the ``notifications`` topic, keyed by its
   recipient (:func:`message_notifications_publish` for messages; contacts
   and conversations publish theirs).
2. The ``notifications`` handler calls :func:`notifications_handle`, which
   stores one :class:`Notification` per event id (a replayed event is a
   no-op), schedules its email and push deliveries in the same transaction,
   and after the commit pushes it to the recipient's open tabs.
3. ``manage.py send_notifications`` sends what is due
   (:mod:`notifications.emails`, :mod:`notifications.push`), with retries, off
   the consumer loop.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from kafka.errors import KafkaError

from accounts.models import User
from accounts.presence import online_user_ids
from conversations.models import Conversation, Membership, Message
from conversations.rendering import mentioned_usernames
from conversations.selectors import conversation_display_name
from messenger.errors import RuleError
from messenger.kafka.events import (
    ContactRequestAccepted,
    ContactRequestReceived,
    Envelope,
    GroupMemberAdded,
    MessageNotify,
)
from messenger.kafka.producer import PublishError, publish_all_sync
from messenger.realtime import frames_push_nowait, group_send_many, user_group
from messenger.redis_client import key, sync_client
from notifications import selectors
from notifications.models import (
    ConversationMute,
    EmailBatch,
    Notification,
    Preferences,
    PushDelivery,
    PushSubscription,
)
from notifications.viewing import viewers_by_conversation, viewing_set

logger = logging.getLogger(__name__)

# message.notify event ids derive from (message, recipient): a message stored
# again announces itself with the same ids, which the handler ignores.
_NOTIFY_NAMESPACE = uuid.UUID("6f1f4a52-5f43-4d1c-9a55-2b0f0c6f7a10")
DETAIL_LENGTH = 200
# A claimed delivery whose sender died is tried again after this long.
CLAIM_LEASE_SECONDS = 300
PUSH_KINDS_ONLY = frozenset(
    {
        Notification.Kind.CONTACT_REQUEST,
        Notification.Kind.CONTACT_ACCEPTED,
        Notification.Kind.GROUP_ADDED,
    }
)


def message_notify_event_id(*, message_id: int, recipient_id: int) -> uuid.UUID:
    """Return the event id of the announcement of one message to one member."""
    return uuid.uuid5(_NOTIFY_NAMESPACE, f"message.notify:{message_id}:{recipient_id}")


def message_notifications_publish(
    *, messages: Sequence[Message], members: Mapping[int, Sequence[tuple[int, str]]]
) -> None:
    """Announce stored messages to the members who are not looking at their conversation.

    Called after the messages' transaction commits, with the messages and
    each conversation's (user id, username) members the push already read.
    Waits until Kafka has every announcement; if it does not, raises a Kafka
    error, so the ``messages`` batch is retried (its messages are stored
    once) and announced again under the same event ids.
    """
    by_conversation: dict[int, list[Message]] = defaultdict(list)
    for message in sorted(messages, key=lambda m: (m.conversation_id, m.sequence)):
        if message.kind == Message.Kind.TEXT and message.deleted_at is None:
            by_conversation[message.conversation_id].append(message)
    envelopes: list[Envelope] = []
    viewing = viewers_by_conversation(
        members={c: [uid for uid, _ in members[c]] for c in by_conversation}
    )
    for conversation_id, items in by_conversation.items():
        people = members[conversation_id]
        viewers = viewing[conversation_id]
        for message in items:
            mentioned = mentioned_usernames(message.body)
            for member_id, username in people:
                if member_id == message.sender_id or member_id in viewers:
                    continue
                envelopes.append(
                    Envelope(
                        payload=MessageNotify(
                            recipient_id=member_id,
                            conversation_id=conversation_id,
                            message_id=message.pk,
                            sequence=message.sequence,
                            sender_id=message.sender_id,
                            mention=username.lower() in mentioned,
                        ),
                        id=message_notify_event_id(message_id=message.pk, recipient_id=member_id),
                        time=message.created_at,
                    )
                )
    try:
        publish_all_sync(envelopes)
    except PublishError as exc:
        # A Kafka error makes the runner retry the batch rather than
        # dead-letter messages that are stored.
        raise KafkaError(str(exc)) from exc


def notifications_handle(
    *, envelopes: Sequence[Envelope], now: datetime | None = None
) -> list[Notification]:
    """Store each notification event once, schedule its deliveries, push it live."""
    return notifications_store(envelopes=envelopes, now=now or timezone.now())


@transaction.atomic
def notifications_store(*, envelopes: Sequence[Envelope], now: datetime) -> list[Notification]:
    """Store one notification per new event id and schedule its email and push.

    An event whose id is stored already is ignored, so a replayed event sends
    nothing twice.  Events that notify nobody (a muted conversation without a
    mention, an inactive recipient, a deleted message) store nothing.
    """
    known = set(
        Notification.objects.filter(event_id__in=[e.id for e in envelopes]).values_list(
            "event_id", flat=True
        )
    )
    fresh: list[Envelope] = []
    for envelope in envelopes:
        if envelope.id not in known and _recipient_id(envelope) is not None:
            known.add(envelope.id)
            fresh.append(envelope)
    if not fresh:
        return []
    context = _Context.load(fresh)
    notifications = [n for n in (context.build(e) for e in fresh) if n is not None]
    if not notifications:
        return []
    pushes = _deliveries_schedule(
        notifications=notifications, preferences=context.preferences, now=now
    )
    Notification.objects.bulk_create(notifications)
    for push in pushes:
        push.notification_id = push.notification.pk
    PushDelivery.objects.bulk_create(pushes, ignore_conflicts=True)
    quiet = {
        n.recipient_id
        for n in notifications
        if selectors.quiet_until(preferences=context.preferences[n.recipient_id], now=now)
    }
    transaction.on_commit(lambda: notifications_push_live(notifications=notifications, quiet=quiet))
    if pushes:
        transaction.on_commit(sender_wake)
    return notifications


def _wake_key() -> str:
    return key("notifications", "wake")


def sender_wake() -> None:
    """Tell a waiting ``send_notifications`` there is work now (best effort)."""
    try:
        client = sync_client()
        with client.pipeline(transaction=True) as pipe:
            pipe.lpush(_wake_key(), 1)
            # One pending wake-up is enough, however many were sent.
            pipe.ltrim(_wake_key(), 0, 0)
            pipe.execute()
    except Exception:
        # The sender looks for due work every few seconds anyway.
        logger.exception("waking the notification sender failed")


def sender_wait(*, timeout: float) -> None:
    """Wait until :func:`sender_wake` is called or ``timeout`` seconds pass."""
    sync_client().blpop([_wake_key()], timeout=timeout)


def _recipient_id(envelope: Envelope) -> int | None:
    payload = envelope.payload
    if isinstance(
        payload, MessageNotify | ContactRequestReceived | ContactRequestAccepted | GroupMemberAdded
    ):
        return payload.recipient_id
    return None


class _Context:
    """Everything a batch of events needs from the database, loaded in bulk."""

    def __init__(self, envelopes: Sequence[Envelope]) -> None:
        payloads = [e.payload for e in envelopes]
        people: set[int] = set()
        conversation_ids: set[int] = set()
        message_ids: set[int] = set()
        for p in payloads:
            if isinstance(p, MessageNotify):
                people |= {p.recipient_id, p.sender_id}
                conversation_ids.add(p.conversation_id)
                message_ids.add(p.message_id)
            elif isinstance(p, ContactRequestReceived):
                people |= {p.recipient_id, p.from_user_id}
            elif isinstance(p, ContactRequestAccepted | GroupMemberAdded):
                people |= {p.recipient_id, p.by_user_id}
                if isinstance(p, GroupMemberAdded):
                    conversation_ids.add(p.conversation_id)
        self.people = User.objects.in_bulk(people)
        self.conversations = Conversation.objects.prefetch_related("memberships__user").in_bulk(
            conversation_ids
        )
        self.messages = Message.objects.in_bulk(message_ids)
        recipients = {r for r in (_recipient_id(e) for e in envelopes) if r is not None}
        self.preferences = selectors.preferences_by_user(user_ids=recipients)
        self.mutes = set(
            ConversationMute.objects.filter(
                user_id__in=recipients, conversation_id__in=conversation_ids
            ).values_list("user_id", "conversation_id")
        )

    @classmethod
    def load(cls, envelopes: Sequence[Envelope]) -> "_Context":
        """Load the context of a batch."""
        return cls(envelopes)

    def _member(self, conversation: Conversation, user_id: int) -> bool:
        return any(m.user_id == user_id for m in conversation.memberships.all())

    def build(self, envelope: Envelope) -> Notification | None:
        """Return the unsaved notification for an event, or None if it notifies nobody."""
        p = envelope.payload
        recipient_id = _recipient_id(envelope)
        recipient = self.people.get(recipient_id) if recipient_id else None
        if recipient is None or not recipient.is_active:
            return None
        common: dict[str, Any] = {
            "recipient": recipient,
            "event_id": envelope.id,
            "created_at": envelope.time,
        }
        if isinstance(p, MessageNotify):
            return self._message(p, recipient, common)
        if isinstance(p, ContactRequestReceived):
            actor = self.people.get(p.from_user_id)
            if actor is None:
                return None
            return Notification(
                kind=Notification.Kind.CONTACT_REQUEST,
                actor=actor,
                text=_clip(f"{actor.name} wants to add you as a contact."),
                detail=_clip(p.message),
                url=reverse("contacts:index"),
                **common,
            )
        if isinstance(p, ContactRequestAccepted):
            actor = self.people.get(p.by_user_id)
            if actor is None:
                return None
            return Notification(
                kind=Notification.Kind.CONTACT_ACCEPTED,
                actor=actor,
                text=_clip(f"{actor.name} accepted your contact request."),
                url=reverse("contacts:index"),
                **common,
            )
        if isinstance(p, GroupMemberAdded):
            actor = self.people.get(p.by_user_id)
            conversation = self.conversations.get(p.conversation_id)
            if actor is None or conversation is None:
                return None
            if not self._member(conversation, recipient.pk):
                return None
            title = conversation_display_name(conversation=conversation, viewer=recipient)
            return Notification(
                kind=Notification.Kind.GROUP_ADDED,
                actor=actor,
                conversation=conversation,
                text=_clip(f"{actor.name} added you to {title}."),
                url=reverse("conversations:detail", args=[conversation.pk]),
                **common,
            )
        return None

    def _message(
        self, p: MessageNotify, recipient: User, common: dict[str, Any]
    ) -> Notification | None:
        message = self.messages.get(p.message_id)
        conversation = self.conversations.get(p.conversation_id)
        sender = self.people.get(p.sender_id)
        if message is None or conversation is None or sender is None:
            return None
        if message.deleted_at is not None or not self._member(conversation, recipient.pk):
            return None
        if (recipient.pk, conversation.pk) in self.mutes and not p.mention:
            return None
        title = conversation_display_name(conversation=conversation, viewer=recipient)
        group = conversation.kind == Conversation.Kind.GROUP
        if p.mention:
            kind = Notification.Kind.MENTION
            text = f"{sender.name} mentioned you" + (f" in {title}" if group else "")
        else:
            kind = Notification.Kind.MESSAGE
            text = f"{sender.name} wrote in {title}" if group else f"{sender.name} sent a message"
        return Notification(
            kind=kind,
            actor=sender,
            conversation=conversation,
            message=message,
            sequence=p.sequence,
            text=_clip(text + "."),
            detail=_clip(" ".join(message.body.split())),
            url=reverse("conversations:detail", args=[conversation.pk]) + f"#m{p.sequence}",
            **common,
        )


def _clip(text: str, length: int = DETAIL_LENGTH) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _deliveries_schedule(
    *,
    notifications: Sequence[Notification],
    preferences: Mapping[int, Preferences],
    now: datetime,
) -> list[PushDelivery]:
    """Attach message notifications to email batches; return the pushes to create.

    Only people without an open tab get email or push: an open tab shows the
    notification itself (and the browser's own notification when hidden).
    """
    recipient_ids = {n.recipient_id for n in notifications}
    online = online_user_ids(user_ids=sorted(recipient_ids))
    subscriptions: dict[int, list[PushSubscription]] = defaultdict(list)
    if selectors.push_configured():
        for subscription in PushSubscription.objects.filter(user_id__in=recipient_ids - online):
            subscriptions[subscription.user_id].append(subscription)
    pushes: list[PushDelivery] = []
    emailed: list[tuple[Notification, int]] = []
    for notification in notifications:
        user_id = notification.recipient_id
        if user_id in online:
            continue
        prefs = preferences[user_id]
        quiet_until = selectors.quiet_until(preferences=prefs, now=now)
        if prefs.push_enabled and quiet_until is None:
            pushes.extend(
                PushDelivery(
                    notification=notification,
                    subscription=subscription,
                    endpoint=subscription.endpoint,
                    next_attempt_at=now,
                )
                for subscription in subscriptions[user_id]
            )
        wants_email = prefs.email_enabled and notification.recipient.email
        conversation_id = notification.conversation_id
        if wants_email and notification.kind not in PUSH_KINDS_ONLY and conversation_id is not None:
            emailed.append((notification, conversation_id))
    if emailed:
        _email_batches_join(notifications=emailed, preferences=preferences, now=now)
    return pushes


def _email_batches_join(
    *,
    notifications: Sequence[tuple[Notification, int]],
    preferences: Mapping[int, Preferences],
    now: datetime,
) -> None:
    """Put each (notification, its conversation) in the pending email batch of the pair.

    Three queries whatever the number: the pending batches (row-locked, so
    the sender cannot claim one while messages join it), the new ones, and
    the new message counts.  The first message of a burst sets when a new
    batch is due.
    """
    pairs = {(n.recipient_id, conversation_id) for n, conversation_id in notifications}
    pending: dict[tuple[int, int], EmailBatch] = {
        (b.user_id, b.conversation_id): b
        for b in EmailBatch.objects.select_for_update().filter(
            user_id__in={user_id for user_id, _ in pairs},
            conversation_id__in={conversation_id for _, conversation_id in pairs},
            status=EmailBatch.Status.PENDING,
        )
        if (b.user_id, b.conversation_id) in pairs
    }
    batches = dict(pending)
    fresh: list[EmailBatch] = []
    for notification, conversation_id in notifications:
        pair = (notification.recipient_id, conversation_id)
        if pair not in batches:
            prefs = preferences[notification.recipient_id]
            due = notification.created_at + selectors.email_delay(preferences=prefs)
            quiet_until = selectors.quiet_until(preferences=prefs, now=now)
            if quiet_until is not None and quiet_until > due:
                due = quiet_until
            batches[pair] = EmailBatch(
                user_id=notification.recipient_id,
                conversation_id=conversation_id,
                next_attempt_at=due,
            )
            fresh.append(batches[pair])
        batches[pair].message_count += 1
        notification.email_batch = batches[pair]
    EmailBatch.objects.bulk_create(fresh)
    if pending:
        EmailBatch.objects.bulk_update(pending.values(), ["message_count"])


def notification_frame(*, notification: Notification, unread: int, silent: bool) -> dict[str, Any]:
    """Return the ``notification`` frame of the WebSocket protocol."""
    return {
        "id": str(notification.event_id),
        "pk": notification.pk,
        "kind": notification.kind,
        "text": notification.text,
        "detail": notification.detail,
        "url": notification.url,
        "unread": unread,
        "silent": silent,
    }


def notifications_push_live(
    *, notifications: Sequence[Notification], quiet: set[int] | None = None
) -> None:
    """Push new notifications to their recipients' open tabs (best effort).

    Each frame carries the unread count, so every tab's bell shows the truth
    even after a missed push.  Quiet hours make it silent: no browser popup.
    """
    quiet = quiet or set()
    try:
        counts = selectors.unread_counts(user_ids={n.recipient_id for n in notifications})
        sends = [
            (
                user_group(n.recipient_id),
                {
                    "type": "notification",
                    "notification": notification_frame(
                        notification=n,
                        unread=counts[n.recipient_id],
                        silent=n.recipient_id in quiet,
                    ),
                },
            )
            for n in notifications
        ]
        # Not waited for: the consumer stores the next batch meanwhile.
        frames_push_nowait(sends)
    except Exception:
        logger.exception("pushing %d notifications failed", len(notifications))


def _unread_push(*, user_id: int) -> None:
    try:
        group_send_many(
            [
                (
                    user_group(user_id),
                    {
                        "type": "notifications.unread",
                        "unread": selectors.unread_count(user_id=user_id),
                    },
                )
            ]
        )
    except Exception:
        logger.exception("pushing the unread count of %s failed", user_id)


def notification_mark_read(*, user: User, notification_id: int) -> bool:
    """Mark one of the user's notifications read; return whether it was unread."""
    changed = Notification.objects.filter(
        pk=notification_id, recipient=user, read_at__isnull=True
    ).update(read_at=timezone.now())
    if changed:
        _unread_push(user_id=user.pk)
    return bool(changed)


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every notification of the user read; return how many were unread."""
    changed = Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if changed:
        _unread_push(user_id=user.pk)
    return changed


def conversation_notifications_read(*, user_id: int, conversation_id: int) -> int:
    """Mark read what notified the user about a conversation they now look at."""
    changed = Notification.objects.filter(
        recipient_id=user_id, conversation_id=conversation_id, read_at__isnull=True
    ).update(read_at=timezone.now())
    if changed:
        _unread_push(user_id=user_id)
    return changed


def preferences_save(
    *,
    user: User,
    email_enabled: bool,
    email_delay_minutes: int | None,
    push_enabled: bool,
    dnd_start: Any,
    dnd_end: Any,
    time_zone: str,
) -> Preferences:
    """Store the user's notification preferences."""
    preferences, _ = Preferences.objects.update_or_create(
        user=user,
        defaults={
            "email_enabled": email_enabled,
            "email_delay_minutes": email_delay_minutes,
            "push_enabled": push_enabled,
            "dnd_start": dnd_start,
            "dnd_end": dnd_end,
            "time_zone": time_zone,
        },
    )
    return preferences


class NotificationError(RuleError):
    """A request the rules refuse; ``message`` says why."""


def conversation_mute_set(*, user: User, conversation_id: int, muted: bool) -> None:
    """Mute (mentions only) or unmute a conversation the user is a member of."""
    if not Membership.objects.filter(user=user, conversation_id=conversation_id).exists():
        raise NotificationError("forbidden", "You are not a member of this conversation.")
    if muted:
        ConversationMute.objects.get_or_create(user=user, conversation_id=conversation_id)
    else:
        ConversationMute.objects.filter(user=user, conversation_id=conversation_id).delete()


def delivery_claim(
    model: type[EmailBatch] | type[PushDelivery], *, now: datetime, limit: int = 50
) -> list[Any]:
    """Claim due deliveries for this sender: count the attempt, lease them for a while.

    ``skip_locked`` lets several senders share the work; a sender that dies
    mid-send leaves its claim to expire, and the delivery is tried again.
    """
    with transaction.atomic():
        due = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[model.Status.PENDING, model.Status.SENDING],
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at")[:limit]
        )
        for delivery in due:
            delivery.status = model.Status.SENDING
            delivery.attempts += 1
            delivery.next_attempt_at = now + timedelta(seconds=CLAIM_LEASE_SECONDS)
            delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    return due


def delivery_finish(
    delivery: EmailBatch | PushDelivery, *, status: str, now: datetime, error: str = ""
) -> None:
    """Record how a delivery ended."""
    delivery.status = status
    delivery.finished_at = now
    delivery.last_error = error[:2000]
    delivery.save(update_fields=["status", "finished_at", "last_error"])


def delivery_failed(delivery: EmailBatch | PushDelivery, *, now: datetime, error: str) -> None:
    """Schedule a retry with exponential backoff, or record the failure for good."""
    delivery.last_error = error[:2000]
    if delivery.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        delivery.status = delivery.Status.FAILED
        delivery.finished_at = now
    else:
        delay = settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    delivery.save(update_fields=["last_error", "status", "finished_at", "next_attempt_at"])


async def focus_report(*, user_id: int, channel_name: str, conversation_id: int | None) -> bool:
    """Record the conversation a tab shows (None: none); mark its notifications read.

    Returns False, recording nothing, when the user is not a member of it.
    """
    if conversation_id is not None:
        member = await database_sync_to_async(
            Membership.objects.filter(user_id=user_id, conversation_id=conversation_id).exists
        )()
        if not member:
            return False
    await viewing_set(user_id=user_id, channel_name=channel_name, conversation_id=conversation_id)
    if conversation_id is not None:
        await database_sync_to_async(conversation_notifications_read)(
            user_id=user_id, conversation_id=conversation_id
        )
    return True
