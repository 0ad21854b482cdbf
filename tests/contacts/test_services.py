"""Contact requests, contacts and blocks: every rule of who may ask whom."""

import json

import pytest
from django.conf import settings
from kafka import KafkaConsumer

from contacts import services
from contacts.models import Block, Contact, ContactRequest
from contacts.services import ContactError
from messenger.kafka.events import ContactRequestAccepted, ContactRequestReceived
from messenger.kafka.producer import get_producer
from messenger.kafka.topics import Topic, topic_name
from tests.factories import UserFactory, make_contacts

pytestmark = pytest.mark.django_db


def refused(code: str, action, **kwargs) -> ContactError:
    with pytest.raises(ContactError) as error:
        action(**kwargs)
    assert error.value.code == code
    assert error.value.message
    return error.value


def test_a_request_is_sent_accepted_and_both_become_contacts() -> None:
    ann, ben = UserFactory(), UserFactory()
    request = services.contact_request_send(sender=ann, recipient=ben, message=" hi! ")
    assert (request.status, request.message) == (ContactRequest.Status.PENDING, "hi!")
    services.contact_request_accept(user=ben, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == ContactRequest.Status.ACCEPTED
    assert request.responded_at is not None
    assert set(Contact.objects.values_list("owner_id", "contact_id")) == {
        (ann.pk, ben.pk),
        (ben.pk, ann.pk),
    }


def test_a_request_can_be_declined_or_cancelled_and_nothing_else_changes() -> None:
    ann, ben = UserFactory(), UserFactory()
    first = services.contact_request_send(sender=ann, recipient=ben)
    services.contact_request_decline(user=ben, request_id=first.pk)
    second = services.contact_request_send(sender=ann, recipient=ben)
    services.contact_request_cancel(user=ann, request_id=second.pk)
    assert list(ContactRequest.objects.order_by("pk").values_list("status", flat=True)) == [
        "declined",
        "cancelled",
    ]
    assert not Contact.objects.exists()


def test_nobody_requests_themselves() -> None:
    ann = UserFactory()
    refused("self", services.contact_request_send, sender=ann, recipient=ann)
    assert not ContactRequest.objects.exists()


def test_a_duplicate_request_is_refused() -> None:
    ann, ben = UserFactory(), UserFactory()
    services.contact_request_send(sender=ann, recipient=ben)
    refused("duplicate", services.contact_request_send, sender=ann, recipient=ben)
    assert ContactRequest.objects.count() == 1


def test_a_crossing_request_says_to_accept_theirs_instead() -> None:
    ann, ben = UserFactory(), UserFactory()
    services.contact_request_send(sender=ann, recipient=ben)
    error = refused("crossing", services.contact_request_send, sender=ben, recipient=ann)
    assert "accept" in error.message
    assert ContactRequest.objects.count() == 1


def test_contacts_are_not_requested_again() -> None:
    ann, ben = UserFactory(), UserFactory()
    make_contacts(ann, ben)
    refused("already_contacts", services.contact_request_send, sender=ann, recipient=ben)


def test_a_deactivated_person_cannot_be_requested() -> None:
    ann, gone = UserFactory(), UserFactory(is_active=False)
    refused("unavailable", services.contact_request_send, sender=ann, recipient=gone)


def test_blocks_stop_requests_both_ways_without_revealing_the_block() -> None:
    ann, ben = UserFactory(), UserFactory()
    services.block_create(user=ben, other=ann)
    error = refused("unavailable", services.contact_request_send, sender=ann, recipient=ben)
    assert "block" not in error.message.lower()
    refused("you_blocked", services.contact_request_send, sender=ben, recipient=ann)
    assert not ContactRequest.objects.exists()


def test_only_the_recipient_answers_and_only_the_sender_withdraws() -> None:
    ann, ben, eve = UserFactory(), UserFactory(), UserFactory()
    request = services.contact_request_send(sender=ann, recipient=ben)
    for user in (ann, eve):
        refused("not_found", services.contact_request_accept, user=user, request_id=request.pk)
        refused("not_found", services.contact_request_decline, user=user, request_id=request.pk)
    for user in (ben, eve):
        refused("not_found", services.contact_request_cancel, user=user, request_id=request.pk)
    refused("not_found", services.contact_request_accept, user=ben, request_id=999_999)
    request.refresh_from_db()
    assert request.status == ContactRequest.Status.PENDING
    assert not Contact.objects.exists()


def test_an_answered_request_cannot_be_answered_again() -> None:
    ann, ben = UserFactory(), UserFactory()
    request = services.contact_request_send(sender=ann, recipient=ben)
    services.contact_request_decline(user=ben, request_id=request.pk)
    refused("not_found", services.contact_request_accept, user=ben, request_id=request.pk)
    assert not Contact.objects.exists()


def test_removing_a_contact_removes_both_sides() -> None:
    ann, ben = UserFactory(), UserFactory()
    make_contacts(ann, ben)
    services.contact_remove(user=ben, other=ann)
    assert not Contact.objects.exists()
    refused("not_contacts", services.contact_remove, user=ben, other=ann)


def test_a_block_ends_the_contact_and_open_requests_and_can_be_lifted() -> None:
    ann, ben = UserFactory(), UserFactory()
    make_contacts(ann, ben)
    pending = ContactRequest.objects.create(from_user=ben, to_user=ann)
    services.block_create(user=ann, other=ben)
    assert not Contact.objects.exists()
    pending.refresh_from_db()
    assert pending.status == ContactRequest.Status.CANCELLED
    refused("already_blocked", services.block_create, user=ann, other=ben)
    refused("self", services.block_create, user=ann, other=ann)
    services.block_remove(user=ann, other=ben)
    assert not Block.objects.exists()
    assert not Contact.objects.exists()
    refused("not_blocked", services.block_remove, user=ann, other=ben)


def test_sending_requests_is_rate_limited(settings) -> None:
    settings.CONTACT_REQUEST_RATE_LIMIT = 2
    ann = UserFactory()
    for _ in range(2):
        services.contact_request_send(sender=ann, recipient=UserFactory())
    refused("rate_limited", services.contact_request_send, sender=ann, recipient=UserFactory())
    assert ContactRequest.objects.count() == 2


def test_a_long_request_message_is_refused() -> None:
    ann, ben = UserFactory(), UserFactory()
    refused(
        "message_too_long",
        services.contact_request_send,
        sender=ann,
        recipient=ben,
        message="x" * 201,
    )


def notification_events(count: int) -> list[dict]:
    get_producer().flush(timeout=10)
    consumer = KafkaConsumer(
        topic_name(Topic.NOTIFICATIONS),
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    found = []
    try:
        for record in consumer:
            found.append({"key": record.key, **json.loads(record.value)})
            if len(found) >= count:
                break
    finally:
        consumer.close()
    return found


@pytest.mark.django_db(transaction=True)
def test_requests_and_acceptances_are_announced_on_the_notifications_topic(kafka_topics) -> None:
    ann, ben = UserFactory(), UserFactory()
    request = services.contact_request_send(sender=ann, recipient=ben, message="hello")
    services.contact_request_accept(user=ben, request_id=request.pk)
    # Keyed by recipient, so the two may sit on different partitions.
    events = {event["type"]: event for event in notification_events(2)}
    received = events[ContactRequestReceived.event_type]
    accepted = events[ContactRequestAccepted.event_type]
    assert received["key"] == str(ben.pk).encode()
    assert received["type"] == ContactRequestReceived.event_type
    assert received["payload"] == {
        "recipient_id": ben.pk,
        "request_id": request.pk,
        "from_user_id": ann.pk,
        "message": "hello",
    }
    assert accepted["key"] == str(ann.pk).encode()
    assert accepted["type"] == ContactRequestAccepted.event_type
    assert accepted["payload"] == {
        "recipient_id": ann.pk,
        "request_id": request.pk,
        "by_user_id": ben.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_a_refused_request_announces_nothing(kafka_topics) -> None:
    ann = UserFactory()
    refused("self", services.contact_request_send, sender=ann, recipient=ann)
    ben = UserFactory()
    services.contact_request_send(sender=ann, recipient=ben)
    [only] = notification_events(1)
    assert only["payload"]["recipient_id"] == ben.pk
