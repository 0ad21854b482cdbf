"""Group conversations: create, rename, add and remove members, leave.

Each change is written to PostgreSQL at once (a removed member loses access
immediately, open sockets included) and announced as a ``conversation.changed``
event on the ``messages`` topic, which the consumer stores as a system message
in the conversation's history.
"""

import uuid
from collections.abc import Sequence

from django.db import transaction

from accounts.models import User
from contacts.selectors import is_contact
from conversations.models import Conversation, Membership
from conversations.services import ConversationError
from messenger.kafka.events import ConversationChanged, Envelope, GroupMemberAdded
from messenger.kafka.producer import publish_on_commit
from messenger.realtime import frames_push, user_group

GROUP_MAX_MEMBERS = 256


def _announce(
    *, conversation: Conversation, actor: User, action: str, subject: User | None = None
) -> None:
    publish_on_commit(
        Envelope(
            payload=ConversationChanged(
                conversation_id=conversation.pk,
                actor_id=actor.pk,
                action=action,
                subject_id=subject.pk if subject else None,
                title=conversation.title,
                change_id=uuid.uuid4(),
            )
        )
    )


def _announce_added(*, conversation: Conversation, by: User, people: Sequence[User]) -> None:
    # The notifications topic tells each added person (in the app, by push).
    for person in people:
        publish_on_commit(
            Envelope(
                payload=GroupMemberAdded(
                    recipient_id=person.pk, conversation_id=conversation.pk, by_user_id=by.pk
                )
            )
        )


def _title_clean(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise ConversationError("invalid", "A group needs a title.")
    if len(title) > 120:
        raise ConversationError("invalid", "A group title has at most 120 characters.")
    return title


def _group_membership(*, user: User, conversation_id: int) -> Membership:
    """Lock and return the user's membership of a group, or refuse.

    The conversation's row is locked first, then the membership: the order
    in which storing messages takes them (the conversation, then the
    sender's read position), so the two cannot deadlock.
    """
    conversation = (
        Conversation.objects.select_for_update(no_key=True)
        .filter(pk=conversation_id, kind=Conversation.Kind.GROUP)
        .first()
    )
    membership = (
        None
        if conversation is None
        else Membership.objects.select_for_update()
        .filter(user=user, conversation=conversation)
        .first()
    )
    if conversation is None or membership is None:
        raise ConversationError("forbidden", "You are not a member of this group.")
    membership.conversation = conversation
    return membership


def _admin_membership(*, user: User, conversation_id: int) -> Membership:
    membership = _group_membership(user=user, conversation_id=conversation_id)
    if membership.role != Membership.Role.ADMIN:
        raise ConversationError("not_admin", "Only the group's admins can do that.")
    return membership


def _check_can_add(*, adder: User, person: User) -> None:
    if not person.is_active:
        raise ConversationError("not_found", "No such person.")
    if not is_contact(user_id=adder.pk, other_id=person.pk):
        raise ConversationError(
            "not_contact", f"Only your contacts can be added; {person.name} is not one."
        )


@transaction.atomic
def group_create(*, creator: User, title: str, members: Sequence[User]) -> Conversation:
    """Create a group of the creator (its admin) and some of their contacts."""
    title = _title_clean(title)
    others = {m.pk: m for m in members if m.pk != creator.pk}
    if not others:
        raise ConversationError("invalid", "Pick at least one contact for the group.")
    if len(others) + 1 > GROUP_MAX_MEMBERS:
        raise ConversationError("invalid", f"A group has at most {GROUP_MAX_MEMBERS} members.")
    for person in others.values():
        _check_can_add(adder=creator, person=person)
    conversation = Conversation.objects.create(
        kind=Conversation.Kind.GROUP, title=title, created_by=creator
    )
    Membership.objects.bulk_create(
        [Membership(user=creator, conversation=conversation, role=Membership.Role.ADMIN)]
        + [Membership(user=person, conversation=conversation) for person in others.values()]
    )
    _announce(conversation=conversation, actor=creator, action="created")
    _announce_added(conversation=conversation, by=creator, people=list(others.values()))
    return conversation


@transaction.atomic
def group_rename(*, user: User, conversation_id: int, title: str) -> Conversation:
    """Rename a group (admins only)."""
    conversation = _admin_membership(user=user, conversation_id=conversation_id).conversation
    conversation.title = _title_clean(title)
    conversation.save(update_fields=["title"])
    _announce(conversation=conversation, actor=user, action="renamed")
    return conversation


@transaction.atomic
def group_member_add(*, user: User, conversation_id: int, person: User) -> Membership:
    """Add one of the admin's contacts to the group."""
    conversation = _admin_membership(user=user, conversation_id=conversation_id).conversation
    _check_can_add(adder=user, person=person)
    if Membership.objects.filter(conversation=conversation, user=person).exists():
        raise ConversationError("already_member", f"{person.name} is already in the group.")
    if Membership.objects.filter(conversation=conversation).count() >= GROUP_MAX_MEMBERS:
        raise ConversationError("invalid", f"A group has at most {GROUP_MAX_MEMBERS} members.")
    membership = Membership.objects.create(conversation=conversation, user=person)
    _announce(conversation=conversation, actor=user, action="member_added", subject=person)
    _announce_added(conversation=conversation, by=user, people=[person])
    return membership


@transaction.atomic
def group_member_remove(*, user: User, conversation_id: int, person: User) -> None:
    """Remove a member (admins only); their access ends at once."""
    conversation = _admin_membership(user=user, conversation_id=conversation_id).conversation
    if person.pk == user.pk:
        raise ConversationError("invalid", "To leave the group, use Leave.")
    deleted, _ = Membership.objects.filter(conversation=conversation, user=person).delete()
    if not deleted:
        raise ConversationError("not_member", f"{person.name} is not in the group.")
    _announce(conversation=conversation, actor=user, action="member_removed", subject=person)
    transaction.on_commit(lambda: _tell_removed(person.pk, conversation.pk))


@transaction.atomic
def group_leave(*, user: User, conversation_id: int) -> None:
    """Leave a group; if the last admin leaves, the longest-standing member becomes admin."""
    membership = _group_membership(user=user, conversation_id=conversation_id)
    conversation = membership.conversation
    membership.delete()
    remaining = Membership.objects.filter(conversation=conversation).order_by("joined_at", "pk")
    if remaining.exists() and not remaining.filter(role=Membership.Role.ADMIN).exists():
        remaining.filter(pk=remaining.values("pk")[:1]).update(role=Membership.Role.ADMIN)
    _announce(conversation=conversation, actor=user, action="member_left")
    transaction.on_commit(lambda: _tell_removed(user.pk, conversation.pk))


def _tell_removed(user_id: int, conversation_id: int) -> None:
    # Best effort: every later push and sync already leaves the user out.
    frames_push(
        [(user_group(user_id), {"type": "conversation.removed", "conversation": conversation_id})]
    )
