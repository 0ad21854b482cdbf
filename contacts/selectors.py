"""Reads of contacts, requests, blocks and people."""

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from contacts.models import Block, Contact, ContactRequest


def block_exists_between(*, user_id: int, other_id: int) -> bool:
    """Return whether either of the two blocked the other."""
    return Block.objects.filter(
        Q(blocker_id=user_id, blocked_id=other_id) | Q(blocker_id=other_id, blocked_id=user_id)
    ).exists()


def block_made(*, blocker_id: int, blocked_id: int) -> bool:
    """Return whether ``blocker`` blocked ``blocked``."""
    return Block.objects.filter(blocker_id=blocker_id, blocked_id=blocked_id).exists()


def is_contact(*, user_id: int, other_id: int) -> bool:
    """Return whether ``other`` is in ``user``'s contact list."""
    return Contact.objects.filter(owner_id=user_id, contact_id=other_id).exists()


def contact_list(*, user: User) -> QuerySet[User]:
    """Return the user's contacts, by name."""
    return User.objects.filter(
        Exists(Contact.objects.filter(owner=user, contact=OuterRef("pk"))), is_active=True
    ).order_by("display_name", "username")


def requests_incoming(*, user: User) -> QuerySet[ContactRequest]:
    """Return the pending requests others sent to the user, newest first."""
    return (
        ContactRequest.objects.filter(to_user=user, status=ContactRequest.Status.PENDING)
        .select_related("from_user")
        .order_by("-created_at")
    )


def requests_outgoing(*, user: User) -> QuerySet[ContactRequest]:
    """Return the user's own pending requests, newest first."""
    return (
        ContactRequest.objects.filter(from_user=user, status=ContactRequest.Status.PENDING)
        .select_related("to_user")
        .order_by("-created_at")
    )


def blocked_users(*, user: User) -> QuerySet[User]:
    """Return the people the user blocked."""
    return User.objects.filter(blocks_received__blocker=user).order_by("username")


def people_search(*, viewer: User, query: str) -> QuerySet[User]:
    """Return active people whose username or display name starts with the query
    (case-insensitively), by username; none for an empty query.

    People who blocked the viewer are left out: to them the viewer does not exist.
    """
    query = query.strip().lstrip("@")
    if not query:
        return User.objects.none()
    return (
        User.objects.filter(
            Q(username__istartswith=query) | Q(display_name__istartswith=query),
            is_active=True,
        )
        .exclude(pk=viewer.pk)
        .exclude(Exists(Block.objects.filter(blocker=OuterRef("pk"), blocked=viewer)))
        .order_by("username")
    )


def user_search(*, viewer: User, query: str, page: int = 1, per_page: int = 20) -> Page[User]:
    """Return one page of :func:`people_search`."""
    return Paginator(people_search(viewer=viewer, query=query), per_page).get_page(page)
