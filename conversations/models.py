"""Conversations, who is in them, and what was said."""

import operator
from functools import reduce

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F
from django.db.models.functions import Cast
from django.db.models.lookups import Exact

from accounts.models import User


class Conversation(models.Model):
    """A one-to-one or group conversation; its messages are numbered 1, 2, 3, …"""

    class Kind(models.TextChoices):
        DIRECT = "direct", "One-to-one"
        GROUP = "group", "Group"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DIRECT)
    title = models.CharField(max_length=120, blank=True)
    # "<smaller user id>:<larger user id>" for one-to-one conversations, so a
    # pair of people has exactly one; empty for groups.
    direct_key = models.CharField(max_length=41, null=True, blank=True, unique=True)
    # The sequence number of the newest message; the consumer increments it
    # under a row lock, which serialises writers of one conversation.
    last_sequence = models.PositiveBigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Counts the edits, deletions and reactions applied to its messages, under
    # the same row lock, so a client that saw change N can ask for the rest.
    last_change = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members: "models.ManyToManyField[User, Membership]" = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="conversations"
    )

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Membership(models.Model):
    """A person's place in a conversation and how far they have read."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="memberships"
    )

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # "Read up to sequence N": from the activity topic's read receipts.
    last_read_sequence = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "conversation"], name="membership_unique"),
        ]
        # The reverse access path: a conversation's members (fan-out); the
        # unique constraint's index already serves a user's conversations.
        indexes = [models.Index(fields=["conversation", "user"], name="membership_conv_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


# Message ids in groups of this many, numbered id // MESSAGE_ID_BUCKET: the
# search index holds each message's group beside its words, so that a search
# of the newest messages reads only their matches (conversations/search.py).
MESSAGE_ID_BUCKET = 65536


def message_id_bucket() -> models.ExpressionWrapper:
    """Return the expression of a message's id group, as the search index holds it."""
    return models.ExpressionWrapper(
        models.F("id") / models.Value(MESSAGE_ID_BUCKET), output_field=models.BigIntegerField()
    )


def message_id_buckets_q(*, first_id: int, last_id: int) -> models.Q:
    """Return "in the id groups of first_id to last_id", as the search index can be asked.

    One equality a group, not a range: GIN reads every id of a range's groups
    out of the index, while with equalities it steps over them to the words'
    matches.  Of the index's type (bigint), or GIN cannot use them.
    """
    bucket = message_id_bucket()
    return reduce(
        operator.or_,
        (
            models.Q(Exact(bucket, Cast(models.Value(number), models.BigIntegerField())))
            for number in range(first_id // MESSAGE_ID_BUCKET, last_id // MESSAGE_ID_BUCKET + 1)
        ),
    )


class Message(models.Model):
    """One message, stored once, at its place in the conversation."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        # Membership changes and renames, shown in the conversation.
        SYSTEM = "system", "System"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages_sent"
    )
    sequence = models.PositiveBigIntegerField()
    # Generated by the sender's client; a resent or replayed event with the
    # same id is the same message.
    client_id = models.UUIDField()
    # The id of the Kafka event that carried it, for tracing.
    event_id = models.UUIDField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField()
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    stored_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # A deleted message keeps its place (a tombstone) and loses its body.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The conversation's change number of this message's latest edit,
    # deletion or reaction; 0 if it never changed.
    change = models.PositiveBigIntegerField(default=0)
    # Maintained by PostgreSQL from the body; 'simple' keeps every word of
    # every language instead of stemming for one.
    search_vector = models.GeneratedField(
        expression=SearchVector("body", config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        constraints = [
            # Also the index behind history pages: latest, older-than and
            # newer-than a sequence number.
            models.UniqueConstraint(
                fields=["conversation", "sequence"], name="message_conversation_sequence"
            ),
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="message_sender_client_id"
            ),
        ]
        indexes = [
            # Id group and words together (btree_gin): a search of the newest
            # messages asks for both and steps over the older matches.  The
            # group first: GIN checks the columns in order (migration 0007).
            GinIndex(message_id_bucket(), F("search_vector"), name="message_group_search"),
            # Catch-up of changes: only changed messages are in it.
            models.Index(
                fields=["conversation", "change"],
                name="message_conversation_change",
                condition=models.Q(change__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.sequence}"


class Reaction(models.Model):
    """One person's emoji on one message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="reaction_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.emoji} on {self.message_id}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    """Store under a random name: the uploaded name is kept only as data."""
    return f"attachments/{instance.conversation_id}/{instance.token.hex}"


class Attachment(models.Model):
    """A file shared in a conversation; served only to its members."""

    token = models.UUIDField(unique=True)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # Set when the message that carries it is stored.
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path)
    thumbnail = models.FileField(upload_to="attachments/thumbnails/", blank=True)
    # Detected from the bytes, never taken from the upload's claim.
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=255)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.original_name
