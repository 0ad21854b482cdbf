"""Notifications, the preferences that route them, and the records of their delivery."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Notification(models.Model):
    """One thing that happened to one person, stored once per event."""

    class Kind(models.TextChoices):
        MESSAGE = "message", "New message"
        MENTION = "mention", "Mention"
        CONTACT_REQUEST = "contact.request.received", "Contact request"
        CONTACT_ACCEPTED = "contact.request.accepted", "Contact request accepted"
        GROUP_ADDED = "group.member.added", "Added to a group"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # The id of the Kafka event: a replayed event finds its notification and
    # changes nothing.
    event_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.ForeignKey(
        "conversations.Message",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    # Rendered once, when stored, as plain text: pages, emails and pushes
    # show the same words.
    text = models.CharField(max_length=300)
    detail = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    email_batch = models.ForeignKey(
        "EmailBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_time"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


def time_zone_validate(value: str) -> None:
    """Refuse names that are not IANA time zones."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.")


class Preferences(models.Model):
    """How a person wants to be reached; a missing row means the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    email_enabled = models.BooleanField("email me about unread messages", default=True)
    # None: the deployment's NOTIFICATION_EMAIL_DELAY_MINUTES.
    email_delay_minutes = models.PositiveIntegerField(
        "after minutes offline",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
    )
    push_enabled = models.BooleanField("push notifications to my browsers", default=True)
    # Do not disturb from start to end in the person's time zone; an end
    # before the start spans midnight.
    dnd_start = models.TimeField("do not disturb from", null=True, blank=True)
    dnd_end = models.TimeField("until", null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[time_zone_validate])

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class ConversationMute(models.Model):
    """A conversation that notifies the person of mentions only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "conversation"], name="mute_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} muted {self.conversation_id}"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (endpoint and the keys to encrypt for it)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=2000, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=50)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"push subscription {self.pk} of {self.user_id}"


class Delivery(models.Model):
    """What every delivery record has: a state, attempts and the last error."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        # Claimed by a sender; retried after next_attempt_at if it died.
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        GONE = "gone", "Subscription gone"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class EmailBatch(Delivery):
    """One email about a burst of messages in one conversation.

    Notifications join the pending batch of their conversation until it is
    due; the first message of a burst sets when that is.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    message_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "conversation"],
                condition=Q(status="pending"),
                name="email_batch_one_pending",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="email_batch_due")]

    def __str__(self) -> str:
        return f"email to {self.user_id} about {self.conversation_id} ({self.status})"


class PushDelivery(Delivery):
    """One notification pushed to one browser subscription."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="push_deliveries"
    )
    subscription = models.ForeignKey(
        PushSubscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    endpoint = models.URLField(max_length=2000)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "endpoint"], name="push_delivery_unique"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="push_delivery_due")]

    def __str__(self) -> str:
        return f"push of {self.notification_id} ({self.status})"
