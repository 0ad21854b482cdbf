"""The live operations page and its snapshot: staff only, real metrics, real Kafka state."""

import pytest
from django.test import Client

from messenger.kafka.producer import publish_sync
from messenger.kafka.topics import Topic, topic_name
from tests.conftest import wait_until
from tests.factories import DirectConversationFactory, UserFactory, message_sent_envelope

pytestmark = pytest.mark.django_db(transaction=True)


def staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    return client


def test_the_page_and_its_data_are_for_staff_only() -> None:
    member = Client()
    member.force_login(UserFactory())
    for url in ("/admin/operations/", "/admin/operations/data.json"):
        response = member.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
        assert Client().get(url).status_code == 302


def test_the_admin_index_links_to_the_page() -> None:
    response = staff_client().get("/admin/")
    assert b'href="/admin/operations/"' in response.content


def test_the_page_loads_its_charts_and_script() -> None:
    response = staff_client().get("/admin/operations/")
    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("throughput", "latency", "lag", "sockets", "errors"):
        assert f'id="chart-{chart}"' in html
    assert "vendor/uplot/uPlot.iife.min.js" in html
    assert "js/operations.js" in html
    assert '"dataUrl": "/admin/operations/data.json"' in html


def test_the_snapshot_has_counters_latency_sockets_and_kafka_state(
    start_consumer, settings
) -> None:
    running = start_consumer(group_id=settings.KAFKA_CONSUMER_GROUP)
    conversation = DirectConversationFactory()
    metadata = publish_sync(
        message_sent_envelope(conversation=conversation, sender=conversation.members.first())
    )
    wait_until(lambda: running.runner.stats.processed.get("messages", 0) == 1)

    data = staff_client().get("/admin/operations/data.json").json()
    assert data["counters"]["produced"] >= 1
    assert data["counters"]["consumed"] >= 1
    assert data["latency"]["buckets"][-1][0] == "+Inf"
    assert isinstance(data["sockets"], float)
    kafka = data["kafka"]
    assert kafka["error"] == ""
    assert [b["address"] for b in kafka["brokers"]] == settings.KAFKA_BOOTSTRAP_SERVERS
    names = {t["name"]: t for t in kafka["topics"]}
    assert names[topic_name(Topic.MESSAGES)]["partitions"] == settings.KAFKA_TOPIC_PARTITIONS
    assert kafka["group"]["id"] == settings.KAFKA_CONSUMER_GROUP
    row = next(
        r
        for r in kafka["lag"]
        if r["topic"] == topic_name(Topic.MESSAGES) and r["partition"] == metadata.partition
    )
    assert row == {**row, "end": metadata.offset + 1, "committed": metadata.offset + 1, "lag": 0}
    assert row["owner"].startswith("messenger-consumer-")


def test_the_snapshot_reports_kafka_unreachable(settings) -> None:
    settings.KAFKA_BOOTSTRAP_SERVERS = ["127.0.0.1:1"]
    data = staff_client().get("/admin/operations/data.json").json()
    assert data["kafka"]["error"]
    assert "counters" in data
