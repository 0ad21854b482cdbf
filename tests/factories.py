"""Factories that build valid data for tests."""

import uuid
from typing import Any

import factory

from accounts.models import User
from accounts.services import token_create
from contacts.models import Contact
from conversations.models import Conversation, Membership, Message
from messenger.kafka.events import Envelope, MessageEdited, MessageReaction, MessageSent

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    password = factory.django.Password(PASSWORD)


class DirectConversationFactory(factory.django.DjangoModelFactory):
    """A one-to-one conversation; pass ``members=[a, b]`` or get two new people."""

    class Meta:
        model = Conversation
        skip_postgeneration_save = True

    kind = Conversation.Kind.DIRECT
    direct_key = factory.Sequence(lambda n: f"factory:{n}")

    @factory.post_generation
    def members(self, create: bool, extracted: list[User] | None, **kwargs: Any) -> None:
        people = extracted or [UserFactory(), UserFactory()]
        for person in people:
            Membership.objects.create(user=person, conversation=self)


def make_contacts(first: User, second: User) -> None:
    """Make two people each other's contacts, as an accepted request does."""
    Contact.objects.get_or_create(owner=first, contact=second)
    Contact.objects.get_or_create(owner=second, contact=first)


def message_sent_envelope(
    *,
    conversation: Conversation,
    sender: User,
    body: str = "hello",
    client_id: uuid.UUID | None = None,
    reply_to: Message | None = None,
) -> Envelope:
    """Build the event a client's message.send turns into."""
    return Envelope(
        payload=MessageSent(
            conversation_id=conversation.pk,
            sender_id=sender.pk,
            client_id=client_id or uuid.uuid4(),
            body=body,
            reply_to_id=None if reply_to is None else reply_to.pk,
        )
    )


def message_edited_envelope(*, message: Message, editor: User, body: str) -> Envelope:
    """Build the event of an edit of a stored message."""
    return Envelope(
        payload=MessageEdited(
            conversation_id=message.conversation_id,
            message_id=message.pk,
            editor_id=editor.pk,
            body=body,
        )
    )


def reaction_envelope(
    *, message: Message, user: User, emoji: str = "👍", added: bool = True
) -> Envelope:
    """Build the event of a reaction added to (or taken off) a stored message."""
    return Envelope(
        payload=MessageReaction(
            conversation_id=message.conversation_id,
            message_id=message.pk,
            user_id=user.pk,
            emoji=emoji,
            added=added,
        )
    )


def access_token(user: User, *, scopes: tuple[str, ...] = ("read", "write"), **extra: Any) -> str:
    """Create a personal access token for the user; return its plaintext."""
    return token_create(user=user, name="test token", scopes=scopes, **extra).plaintext
