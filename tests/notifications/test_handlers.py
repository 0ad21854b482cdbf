"""Notification events reach the recipient's open sockets through the real pipeline."""

import pytest
from channels.db import database_sync_to_async

from contacts import services
from messenger.kafka.topics import Topic
from tests.conftest import receive_until, socket_connect
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_contact_request_and_its_acceptance_show_up_live(
    kafka_topics, start_consumer
) -> None:
    start_consumer(topics=[Topic.NOTIFICATIONS])
    ann = await database_sync_to_async(UserFactory)(display_name="Ann <i>")
    ben = await database_sync_to_async(UserFactory)(display_name="Ben")
    ann_socket, _, _ = await socket_connect(ann)
    ben_socket, _, _ = await socket_connect(ben)

    request = await database_sync_to_async(services.contact_request_send)(
        sender=ann, recipient=ben, message="coffee?"
    )
    received = (await receive_until(ben_socket, "notification"))["notification"]
    assert received["kind"] == "contact.request.received"
    assert received["text"] == "Ann <i> wants to add you as a contact."
    assert received["detail"] == "coffee?"
    assert received["url"] == "/contacts/"

    await database_sync_to_async(services.contact_request_accept)(user=ben, request_id=request.pk)
    accepted = (await receive_until(ann_socket, "notification"))["notification"]
    assert (accepted["kind"], accepted["text"]) == (
        "contact.request.accepted",
        "Ben accepted your contact request.",
    )
    await ann_socket.disconnect()
    await ben_socket.disconnect()
