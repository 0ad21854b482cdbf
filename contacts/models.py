"""Contact lists, the requests that fill them, and blocks."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Contact(models.Model):
    """One side of an accepted contact: ``owner`` has ``contact`` in their list.

    An accepted request creates both sides; removing a contact deletes both.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_entries"
    )
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "contact"], name="contact_unique"),
            models.CheckConstraint(
                condition=~Q(owner=models.F("contact")), name="contact_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} → {self.contact_id}"


class ContactRequest(models.Model):
    """A request from one person to another to become contacts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_requests_sent"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="contact_requests_received",
    )
    message = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one open request from one person to another.
            models.UniqueConstraint(
                fields=["from_user", "to_user"],
                condition=Q(status="pending"),
                name="contact_request_one_pending",
            ),
            models.CheckConstraint(
                condition=~Q(from_user=models.F("to_user")), name="contact_request_not_self"
            ),
        ]
        indexes = [
            models.Index(fields=["to_user", "status"], name="contact_request_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.from_user_id} → {self.to_user_id} ({self.status})"


class Block(models.Model):
    """``blocker`` blocked ``blocked``: no requests, messages or presence between them."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique"),
            models.CheckConstraint(
                condition=~Q(blocker=models.F("blocked")), name="block_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"
