"""The activity topic: presence changes reach contacts; a logout closes that session's sockets."""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from conversations.consumers import CLOSE_SESSION_ENDED
from messenger.kafka.topics import Topic
from tests.conftest import receive_until, socket_connect
from tests.factories import PASSWORD, UserFactory, make_contacts

pytestmark = pytest.mark.django_db(transaction=True)


async def test_contacts_see_someone_come_online_and_go_offline(
    kafka_topics, start_consumer
) -> None:
    start_consumer(topics=[Topic.ACTIVITY])
    ann = await database_sync_to_async(UserFactory)()
    ben = await database_sync_to_async(UserFactory)()
    stranger = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(make_contacts)(ann, ben)
    watcher, _, _ = await socket_connect(ann)
    outsider, _, _ = await socket_connect(stranger)

    ben_socket, _, _ = await socket_connect(ben)
    online = await receive_until(watcher, "presence")
    assert (online["user_id"], online["online"]) == (ben.pk, True)
    await ben_socket.disconnect()
    offline = await receive_until(watcher, "presence")
    assert (offline["user_id"], offline["online"]) == (ben.pk, False)
    ben_after = await database_sync_to_async(User.objects.get)(pk=ben.pk)
    assert ben_after.last_seen is not None
    assert await outsider.receive_nothing(timeout=0.5)  # presence is for contacts only
    await watcher.disconnect()
    await outsider.disconnect()


async def test_logging_out_closes_the_sockets_of_that_session_only(
    kafka_topics, start_consumer
) -> None:
    start_consumer(topics=[Topic.ACTIVITY])
    ann = await database_sync_to_async(UserFactory)(username="ann")
    browser = Client()
    assert await database_sync_to_async(browser.login)(username="ann", password=PASSWORD)
    same_session, connected, _ = await socket_connect(
        None, session_key=browser.cookies[settings.SESSION_COOKIE_NAME].value
    )
    assert connected
    other_device, _, _ = await socket_connect(ann)

    await database_sync_to_async(browser.post)(reverse("account_logout"))
    closed = await same_session.receive_output(timeout=15)
    assert closed == {"type": "websocket.close", "code": CLOSE_SESSION_ENDED}
    await other_device.send_json_to({"type": "ping"})
    assert (await receive_until(other_device, "pong"))["type"] == "pong"
    await other_device.disconnect()
