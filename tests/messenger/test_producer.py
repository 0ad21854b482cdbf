"""The producer: settings that decide whether events survive, and a real round trip."""

import json

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from kafka import KafkaConsumer, TopicPartition
from kafka.future import Future
from kafka.producer.future import FutureProduceResult, FutureRecordMetadata

from messenger.kafka import producer
from messenger.kafka.events import Envelope, UserOnline
from messenger.kafka.producer import (
    PublishError,
    get_producer,
    producer_config,
    publish_all_sync,
    publish_async,
    publish_sync,
)
from messenger.kafka.topics import Topic, topic_name
from tests.factories import DirectConversationFactory, UserFactory, message_sent_envelope


def test_record_batches_are_checksummed_in_c() -> None:
    # kafka-python falls back to a pure-Python CRC-32C, silently, when the
    # crc32c package is missing: every batch produced and consumed pays it.
    from kafka.record import util

    assert util.crc32c_c is not None
    assert util.calc_crc32c(memoryview(b"123456789")) == 0xE3069283


def test_the_producer_waits_for_all_replicas_and_is_idempotent() -> None:
    config = producer_config()
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is True
    assert 0 <= config["linger_ms"] <= 2


def read_back(partition: int, offset: int) -> tuple[bytes, bytes]:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS, enable_auto_commit=False
    )
    try:
        tp = TopicPartition(topic_name(Topic.MESSAGES), partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        records = consumer.poll(timeout_ms=10_000, max_records=1)[tp]
        return records[0].key, records[0].value
    finally:
        consumer.close()


@pytest.mark.django_db
def test_a_published_event_is_on_the_topic_as_json_keyed_by_conversation(kafka_topics: str) -> None:
    conversation = DirectConversationFactory()
    envelope = message_sent_envelope(conversation=conversation, sender=UserFactory(), body="hi")
    metadata = publish_sync(envelope)
    key, value = read_back(metadata.partition, metadata.offset)
    assert key == str(conversation.pk).encode()
    data = json.loads(value)
    assert (data["v"], data["type"], data["id"]) == (1, "message.sent", str(envelope.id))
    assert data["payload"]["body"] == "hi"


@pytest.mark.django_db
async def test_publish_async_resolves_once_kafka_has_the_event(kafka_topics: str) -> None:
    conversation = await database_sync_to_async(DirectConversationFactory)()
    sender = await database_sync_to_async(UserFactory)()
    envelope = message_sent_envelope(conversation=conversation, sender=sender)
    metadata = await publish_async(envelope)
    key, value = read_back(metadata.partition, metadata.offset)
    assert key == str(conversation.pk).encode()
    assert json.loads(value)["id"] == str(envelope.id)


@pytest.mark.django_db
async def test_a_producer_whose_sends_never_complete_is_replaced(
    kafka_topics: str, settings, monkeypatch
) -> None:
    # The fault matrix's two brokers down: afterwards the web process's
    # producer neither delivered nor failed any send, and every message was
    # refused until the process restarted.  A send stands in for it here that
    # kafka-python never resolves (it must, within its delivery timeout).
    settings.KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS = 100
    stuck = get_producer()
    envelope = Envelope(payload=UserOnline(user_id=1))
    with monkeypatch.context() as patch:
        patch.setattr(producer, "publish", lambda envelope: Future())
        with pytest.raises(PublishError):
            await publish_async(envelope)
    assert get_producer() is not stuck
    metadata = await publish_async(envelope)
    assert metadata.offset >= 0


@pytest.mark.django_db
def test_a_stuck_producer_is_replaced_for_waiting_publishers_too(
    kafka_topics: str, settings, monkeypatch
) -> None:
    # The consumers publish notifications and wait: after two brokers of
    # three were down, every batch retried on the same stuck producer and
    # nothing more was stored.
    settings.KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS = 100
    stuck = get_producer()
    envelope = Envelope(payload=UserOnline(user_id=1))
    never = FutureRecordMetadata(FutureProduceResult(None), 0, -1, None, 0, 0, 0)
    with monkeypatch.context() as patch:
        patch.setattr(producer, "publish", lambda envelope: never)
        with pytest.raises(PublishError):
            publish_all_sync([envelope])
    assert get_producer() is not stuck
    [metadata] = publish_all_sync([envelope])
    assert metadata.offset >= 0
