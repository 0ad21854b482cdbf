"""Metrics: each instrument moves when the real thing happens, /metrics is guarded,
and several processes add up through the multiprocess directory."""

import asyncio
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from prometheus_client import REGISTRY

from messenger.kafka.producer import publish_sync
from tests.conftest import receive_until, socket_connect, wait_until
from tests.factories import DirectConversationFactory, UserFactory, message_sent_envelope
from tests.messenger.test_consumer import raw_send

pytestmark = pytest.mark.django_db(transaction=True)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_producer_counts_what_kafka_acknowledged(kafka_topics) -> None:
    before = sample("messenger_kafka_produced_total", topic="messages")
    conversation = DirectConversationFactory()
    publish_sync(message_sent_envelope(conversation=conversation, sender=UserFactory()))
    wait_until(lambda: sample("messenger_kafka_produced_total", topic="messages") == before + 1)


def test_the_consumer_counts_batches_dead_letters_and_lag(start_consumer) -> None:
    consumed = sample("messenger_kafka_consumed_total", topic="messages")
    batches = sample("messenger_kafka_batch_seconds_count", topic="messages")
    dead = sample("messenger_kafka_dead_lettered_total", topic="messages", reason="undecodable")
    start_consumer()
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    raw_send(b"{not json", key=str(conversation.pk).encode())
    metadata = publish_sync(message_sent_envelope(conversation=conversation, sender=sender))

    wait_until(lambda: sample("messenger_kafka_consumed_total", topic="messages") >= consumed + 2)
    assert sample("messenger_kafka_batch_seconds_count", topic="messages") > batches
    assert (
        sample("messenger_kafka_dead_lettered_total", topic="messages", reason="undecodable")
        == dead + 1
    )
    assert (
        sample("messenger_kafka_consumer_lag", topic="messages", partition=str(metadata.partition))
        == 0
    )


def test_a_failing_handler_is_counted(start_consumer) -> None:
    errors = sample("messenger_kafka_handler_errors_total", topic="messages")
    start_consumer()
    sender = UserFactory()
    gone = DirectConversationFactory()
    doomed = message_sent_envelope(conversation=gone, sender=sender)
    gone.delete()
    publish_sync(doomed)
    wait_until(
        lambda: (
            sample("messenger_kafka_dead_lettered_total", topic="messages", reason="handler") > 0
            and sample("messenger_kafka_handler_errors_total", topic="messages") > errors
        )
    )


async def test_sockets_and_end_to_end_latency_are_measured(kafka_topics, consumer, alice, bob):
    chat = await database_sync_to_async(DirectConversationFactory)(members=[alice, bob])
    open_before = sample("messenger_websockets_open")
    latencies = sample("messenger_message_latency_seconds_count")
    sender, _, _ = await socket_connect(alice)
    recipient, _, _ = await socket_connect(bob)
    assert sample("messenger_websockets_open") == open_before + 2

    await sender.send_json_to(
        {
            "type": "message.send",
            "conversation": chat.pk,
            "client_id": str(uuid.uuid4()),
            "body": "hi",
        }
    )
    await receive_until(recipient, "message.new")
    # Observed once the push returns, which may be just after it arrives.
    for _ in range(500):
        if sample("messenger_message_latency_seconds_count") > latencies:
            break
        await asyncio.sleep(0.02)
    assert sample("messenger_message_latency_seconds_count") == latencies + 1
    assert sample("messenger_message_latency_seconds_sum") > 0

    await sender.disconnect()
    await recipient.disconnect()
    assert sample("messenger_websockets_open") == open_before


def test_http_requests_are_counted_by_route_pattern() -> None:
    before = sample("messenger_http_requests_total", method="GET", route="/healthz", status="200")
    Client().get("/healthz")
    Client().get("/healthz")
    assert (
        sample("messenger_http_requests_total", method="GET", route="/healthz", status="200")
        == before + 2
    )
    assert (
        sample("messenger_http_request_duration_seconds_count", method="GET", route="/healthz") >= 2
    )


def test_metrics_need_the_token_or_a_staff_session(settings) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    member = Client()
    member.force_login(UserFactory())
    assert member.get("/metrics").status_code == 403

    scraped = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert scraped.status_code == 200
    assert scraped["Content-Type"].startswith("text/plain")
    assert b"messenger_kafka_produced_total" in scraped.content
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    assert staff.get("/metrics").status_code == 200


def test_an_empty_token_lets_no_scraper_in(settings) -> None:
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


CHILD = textwrap.dedent(
    """
    import django, os, sys
    django.setup()
    from messenger import metrics
    for _ in range(int(sys.argv[1])):
        metrics.kafka_produce_observe(topic="x.messages", ok=True)
    metrics.websocket_opened()
    if sys.argv[2] == "render":
        sys.stdout.write(metrics.metrics_render()[0].decode())
    elif sys.argv[2] == "exit":
        pass
    else:
        import time; time.sleep(60)
    """
)


def test_several_processes_add_up_in_multiprocess_mode(tmp_path) -> None:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "messenger.settings.test",
        "KAFKA_TOPIC_PREFIX": "x.",
    }

    def child(*args: str, **kw) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", CHILD, *args],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            **kw,
        )

    # One process exits (its socket gauge goes with it), one stays alive.
    assert child("3", "exit").returncode == 0
    alive = subprocess.Popen(
        [sys.executable, "-c", CHILD, "4", "wait"], cwd=settings.BASE_DIR, env=env
    )
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("gauge_livesum_*.db"))) < 1:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)
        rendered = child("5", "render").stdout
    finally:
        alive.kill()
        alive.wait()
    lines = dict(
        line.rsplit(" ", 1) for line in rendered.splitlines() if line and not line.startswith("#")
    )
    assert float(lines['messenger_kafka_produced_total{topic="messages"}']) == 12
    # Live processes only: the one that stays alive and the renderer.
    assert float(lines["messenger_websockets_open"]) == 2


def test_a_consumer_process_can_serve_its_own_metrics(kafka_topics) -> None:
    from django.db import connection

    from tests.messenger.test_views import closed_port

    port = closed_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "messenger.settings.test",
        "KAFKA_TOPIC_PREFIX": kafka_topics,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_kafka_consumers",
            "--topic",
            "messages",
            "--group",
            f"{kafka_topics}metrics",
            "--metrics-address",
            f"127.0.0.1:{port}",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conversation = DirectConversationFactory()
        publish_sync(message_sent_envelope(conversation=conversation, sender=UserFactory()))
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                if 'messenger_kafka_consumed_total{topic="messages"} 1.0' in text:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the consumer's /metrics never showed the event"
            time.sleep(0.2)
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
