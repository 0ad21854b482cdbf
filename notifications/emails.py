"""Email about unread messages: one email per conversation burst, after a delay.

The ``notifications`` handler attaches each message notification of a person
without an open tab to the pending :class:`EmailBatch` of its conversation;
the first message of a burst sets when the batch is due.
:func:`email_batches_send` (run by ``manage.py send_notifications``) sends
the batches that are due, if the person is still away and still has unread
notifications in them, and retries a failed send with backoff.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.presence import online_user_ids
from conversations.models import Conversation
from conversations.selectors import conversation_display_name
from notifications import selectors
from notifications.models import EmailBatch, Notification
from notifications.services import delivery_claim, delivery_failed, delivery_finish

logger = logging.getLogger(__name__)


def email_batches_send(*, now: datetime) -> int:
    """Send every email batch due at ``now``; return how many emails went out."""
    sent = 0
    while True:
        batches = delivery_claim(EmailBatch, now=now)
        if not batches:
            return sent
        for batch in batches:
            sent += _batch_send(batch, now=now)


def _batch_send(batch: EmailBatch, *, now: datetime) -> int:
    user = batch.user
    prefs = selectors.preferences_get(user_id=user.pk)
    if not prefs.email_enabled or not user.email or not user.is_active:
        delivery_finish(batch, status=EmailBatch.Status.SKIPPED, now=now, error="email off")
        return 0
    quiet_until = selectors.quiet_until(preferences=prefs, now=now)
    if quiet_until is not None:
        # Do not disturb: the same batch goes out when the quiet hours end;
        # waiting is not a failed attempt.
        batch.attempts -= 1
        batch.next_attempt_at = quiet_until
        batch.save(update_fields=["attempts", "next_attempt_at"])
        return 0
    if online_user_ids(user_ids=[user.pk]):
        delivery_finish(batch, status=EmailBatch.Status.SKIPPED, now=now, error="came online")
        return 0
    unread = list(
        batch.notifications.filter(read_at__isnull=True)
        .select_related("actor")
        .order_by("created_at", "pk")
    )
    if not unread:
        delivery_finish(batch, status=EmailBatch.Status.SKIPPED, now=now, error="already read")
        return 0
    try:
        _message(batch=batch, unread=unread).send()
    except Exception as exc:
        # SMTP refusals, timeouts, a server that is away: retry later.
        logger.warning("email batch %s failed (attempt %d): %s", batch.pk, batch.attempts, exc)
        delivery_failed(batch, now=now, error=f"{type(exc).__name__}: {exc}")
        return 0
    delivery_finish(batch, status=EmailBatch.Status.SENT, now=now)
    return 1


def _message(*, batch: EmailBatch, unread: list[Notification]) -> EmailMultiAlternatives:
    user = batch.user
    conversation = Conversation.objects.prefetch_related("memberships__user").get(
        pk=batch.conversation_id
    )
    title = conversation_display_name(conversation=conversation, viewer=user)
    site = settings.SITE_URL.rstrip("/")
    context = {
        "user": user,
        "title": title,
        "notifications": unread,
        "count": len(unread),
        "conversation_url": site + reverse("conversations:detail", args=[conversation.pk]),
        "preferences_url": site + reverse("notifications:settings"),
    }
    subject = render_to_string("notifications/email/burst_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("notifications/email/burst.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach_alternative(
        render_to_string("notifications/email/burst.html", context), "text/html"
    )
    return message
