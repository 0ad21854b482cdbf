"""Writes of contacts, contact requests and blocks.

Every rule of who may ask whom lives here; views, the API and tests call
these functions.  Requests and acceptances are announced on the
``notifications`` topic once the change is committed.
"""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from contacts import selectors
from contacts.models import Block, Contact, ContactRequest
from messenger.errors import RuleError
from messenger.kafka.events import ContactRequestAccepted, ContactRequestReceived, Envelope
from messenger.kafka.producer import publish_on_commit
from messenger.ratelimit import rate_limit_hit_sync


class ContactError(RuleError):
    """A request the rules refuse; ``code`` names the rule, ``message`` explains it."""


# One answer for "does not exist", "deactivated" and "blocked you": nobody
# learns that they were blocked.
_UNAVAILABLE = "You can't send a contact request to this person."


@transaction.atomic
def contact_request_send(*, sender: User, recipient: User, message: str = "") -> ContactRequest:
    """Ask ``recipient`` to become a contact of ``sender``."""
    message = message.strip()
    if len(message) > 200:
        raise ContactError("message_too_long", "A request message has at most 200 characters.")
    if sender.pk == recipient.pk:
        raise ContactError("self", "You can't add yourself as a contact.")
    if not recipient.is_active:
        raise ContactError("unavailable", _UNAVAILABLE)
    if Block.objects.filter(blocker=sender, blocked=recipient).exists():
        raise ContactError("you_blocked", "You blocked this person; unblock them first.")
    if Block.objects.filter(blocker=recipient, blocked=sender).exists():
        raise ContactError("unavailable", _UNAVAILABLE)
    if selectors.is_contact(user_id=sender.pk, other_id=recipient.pk):
        raise ContactError("already_contacts", f"{recipient.name} is already in your contacts.")
    pending = ContactRequest.objects.filter(status=ContactRequest.Status.PENDING)
    if pending.filter(from_user=recipient, to_user=sender).exists():
        raise ContactError(
            "crossing", f"{recipient.name} already asked you: accept their request instead."
        )
    if pending.filter(from_user=sender, to_user=recipient).exists():
        raise ContactError("duplicate", f"You already asked {recipient.name}.")
    if rate_limit_hit_sync(
        scope="contact-request",
        ident=str(sender.pk),
        limit=settings.CONTACT_REQUEST_RATE_LIMIT,
        window_seconds=settings.CONTACT_REQUEST_RATE_WINDOW_SECONDS,
    ):
        raise ContactError("rate_limited", "You sent too many contact requests; try again later.")
    try:
        with transaction.atomic():
            request = ContactRequest.objects.create(
                from_user=sender, to_user=recipient, message=message
            )
    except IntegrityError:
        # A concurrent identical request won the race.
        raise ContactError("duplicate", f"You already asked {recipient.name}.") from None
    publish_on_commit(
        Envelope(
            payload=ContactRequestReceived(
                recipient_id=recipient.pk,
                request_id=request.pk,
                from_user_id=sender.pk,
                message=message,
            )
        )
    )
    return request


def _pending_request_for_update(*, request_id: int, **who: User) -> ContactRequest:
    request = (
        ContactRequest.objects.select_for_update()
        .select_related("from_user", "to_user")
        .filter(pk=request_id, status=ContactRequest.Status.PENDING, **who)
        .first()
    )
    if request is None:
        # The same answer for "no such request" and "not yours to answer".
        raise ContactError("not_found", "That request does not exist or was already answered.")
    return request


def _request_close(request: ContactRequest, status: str) -> ContactRequest:
    request.status = status
    request.responded_at = timezone.now()
    request.save(update_fields=["status", "responded_at"])
    return request


@transaction.atomic
def contact_request_accept(*, user: User, request_id: int) -> ContactRequest:
    """Accept a request sent to ``user``: both become each other's contacts."""
    request = _pending_request_for_update(request_id=request_id, to_user=user)
    _request_close(request, ContactRequest.Status.ACCEPTED)
    Contact.objects.bulk_create(
        [
            Contact(owner=request.from_user, contact=request.to_user),
            Contact(owner=request.to_user, contact=request.from_user),
        ],
        ignore_conflicts=True,
    )
    publish_on_commit(
        Envelope(
            payload=ContactRequestAccepted(
                recipient_id=request.from_user_id, request_id=request.pk, by_user_id=user.pk
            )
        )
    )
    return request


@transaction.atomic
def contact_request_decline(*, user: User, request_id: int) -> ContactRequest:
    """Decline a request sent to ``user``."""
    request = _pending_request_for_update(request_id=request_id, to_user=user)
    return _request_close(request, ContactRequest.Status.DECLINED)


@transaction.atomic
def contact_request_cancel(*, user: User, request_id: int) -> ContactRequest:
    """Withdraw a request ``user`` sent."""
    request = _pending_request_for_update(request_id=request_id, from_user=user)
    return _request_close(request, ContactRequest.Status.CANCELLED)


@transaction.atomic
def contact_remove(*, user: User, other: User) -> None:
    """Remove ``other`` from ``user``'s contacts, and ``user`` from theirs."""
    deleted, _ = Contact.objects.filter(
        Q(owner=user, contact=other) | Q(owner=other, contact=user)
    ).delete()
    if not deleted:
        raise ContactError("not_contacts", f"{other.name} is not in your contacts.")


@transaction.atomic
def block_create(*, user: User, other: User) -> Block:
    """Block ``other``: no contact, no requests, no messages, no presence either way.

    An existing one-to-one conversation stays readable by both, but neither
    can send into it while the block lasts.
    """
    if user.pk == other.pk:
        raise ContactError("self", "You can't block yourself.")
    block, created = Block.objects.get_or_create(blocker=user, blocked=other)
    if not created:
        raise ContactError("already_blocked", f"You already blocked {other.name}.")
    Contact.objects.filter(Q(owner=user, contact=other) | Q(owner=other, contact=user)).delete()
    ContactRequest.objects.filter(
        Q(from_user=user, to_user=other) | Q(from_user=other, to_user=user),
        status=ContactRequest.Status.PENDING,
    ).update(status=ContactRequest.Status.CANCELLED, responded_at=timezone.now())
    return block


@transaction.atomic
def block_remove(*, user: User, other: User) -> None:
    """Lift ``user``'s block of ``other`` (contacts are not restored)."""
    deleted, _ = Block.objects.filter(blocker=user, blocked=other).delete()
    if not deleted:
        raise ContactError("not_blocked", f"You have not blocked {other.name}.")
