"""The consumer runner: committed offsets, dead-lettering, a loop that never dies."""

import uuid

import pytest
from django.conf import settings
from django.db import OperationalError, ProgrammingError, connection
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from redis.exceptions import ConnectionError as RedisConnectionError

from conversations.handlers import MessagesHandler
from conversations.models import Message
from messenger.kafka.consumer import DEAD_LETTER_MAX_VALUE_BYTES, consumer_config
from messenger.kafka.events import envelope_encode
from messenger.kafka.handlers import HANDLERS
from messenger.kafka.producer import publish_sync
from messenger.kafka.topics import Topic, topic_name
from tests.conftest import wait_until
from tests.factories import DirectConversationFactory, message_sent_envelope

pytestmark = pytest.mark.django_db(transaction=True)


def test_offsets_are_committed_by_hand_from_the_earliest_record() -> None:
    config = consumer_config("group")
    assert config["enable_auto_commit"] is False
    assert config["auto_offset_reset"] == "earliest"
    assert config["max_poll_interval_ms"] >= 60_000


def raw_send(value: bytes, key: bytes) -> None:
    producer = KafkaProducer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS, max_request_size=4 * 1024 * 1024
    )
    try:
        producer.send(topic_name(Topic.MESSAGES), key=key, value=value).get(timeout=10)
    finally:
        producer.close()


def dead_letters(expected: int) -> list:
    consumer = KafkaConsumer(
        topic_name(Topic.DEAD_LETTER),
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    records = []
    try:
        for record in consumer:
            records.append(record)
            if len(records) >= expected:
                break
    finally:
        consumer.close()
    return records


def test_an_unparseable_record_is_dead_lettered_and_the_loop_goes_on(start_consumer) -> None:
    running = start_consumer()
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    raw_send(b"{not json", key=str(conversation.pk).encode())
    publish_sync(message_sent_envelope(conversation=conversation, sender=sender, body="after"))

    wait_until(lambda: Message.objects.filter(conversation=conversation).exists())
    assert Message.objects.get(conversation=conversation).body == "after"
    [record] = dead_letters(1)
    assert record.value == b"{not json"
    headers = dict(record.headers)
    assert headers["original-topic"] == topic_name(Topic.MESSAGES).encode()
    assert headers["reason"].startswith(b"undecodable: invalid envelope")
    assert running.runner.stats.dead_lettered == {"messages": 1}
    assert running.thread.is_alive()


def test_a_record_too_large_to_copy_is_dead_lettered_cut_and_the_partition_moves_on(
    start_consumer,
) -> None:
    # The producer refuses records over 1 MB: copied whole, this one was
    # retried for ever and held up every conversation of its partition.
    admin = KafkaAdminClient(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS)
    try:
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    topic_name(Topic.MESSAGES),
                    configs={"max.message.bytes": str(4 * 1024 * 1024)},
                )
            ]
        )
    finally:
        admin.close()
    running = start_consumer()
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    huge = b'{"v": 1, "type": "message.sent", "payload": {"body": "' + b"x" * 2_000_000 + b'"}}'
    raw_send(huge, key=str(conversation.pk).encode())
    publish_sync(message_sent_envelope(conversation=conversation, sender=sender, body="after"))

    wait_until(lambda: Message.objects.filter(conversation=conversation).exists())
    [record] = dead_letters(1)
    assert record.value == huge[:DEAD_LETTER_MAX_VALUE_BYTES]
    headers = dict(record.headers)
    assert headers["original-size"] == str(len(huge)).encode()
    assert headers["reason"].startswith(b"undecodable: invalid envelope")
    assert running.runner.stats.dead_lettered == {"messages": 1}


def test_an_event_the_handler_cannot_apply_is_dead_lettered_alone(start_consumer) -> None:
    running = start_consumer()
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    gone = DirectConversationFactory()
    doomed = message_sent_envelope(conversation=gone, sender=sender, body="to nowhere")
    gone.delete()
    # Same key as the good one: both land in one partition, one batch.
    raw_send(envelope_encode(doomed), key=str(conversation.pk).encode())
    publish_sync(message_sent_envelope(conversation=conversation, sender=sender, body="kept"))

    wait_until(lambda: Message.objects.filter(conversation=conversation).exists())
    [record] = dead_letters(1)
    assert dict(record.headers)["reason"].startswith(b"handler failed: DoesNotExist")
    assert running.thread.is_alive()


def test_offsets_are_committed_after_the_batch_is_stored(start_consumer) -> None:
    group = f"{settings.KAFKA_TOPIC_PREFIX}commit-{uuid.uuid4().hex[:6]}"
    start_consumer(group_id=group)
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    metadata = publish_sync(message_sent_envelope(conversation=conversation, sender=sender))
    tp = TopicPartition(topic_name(Topic.MESSAGES), metadata.partition)

    def committed() -> int | None:
        admin = KafkaAdminClient(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS)
        try:
            found = admin.list_group_offsets(group)[group].get(tp)
        finally:
            admin.close()
        return None if found is None else found.offset

    # The commit is not waited for: it follows the stored batch.
    wait_until(lambda: committed() == metadata.offset + 1)
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_the_last_batches_offsets_are_committed_when_the_loop_stops(start_consumer) -> None:
    group = f"{settings.KAFKA_TOPIC_PREFIX}stop-{uuid.uuid4().hex[:6]}"
    running = start_consumer(group_id=group)
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    metadata = publish_sync(message_sent_envelope(conversation=conversation, sender=sender))
    wait_until(lambda: running.runner.stats.processed.get("messages", 0) == 1)

    running.stop()

    admin = KafkaAdminClient(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS)
    try:
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    tp = TopicPartition(topic_name(Topic.MESSAGES), metadata.partition)
    assert offsets[tp].offset == metadata.offset + 1


def test_replaying_the_topic_from_the_start_stores_nothing_twice(start_consumer) -> None:
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    for n in range(20):
        publish_sync(message_sent_envelope(conversation=conversation, sender=sender, body=f"m{n}"))
    first = start_consumer()
    wait_until(lambda: Message.objects.filter(conversation=conversation).count() == 20)
    first.stop()

    # A new consumer group starts from the earliest offset: a full replay.
    second = start_consumer()
    wait_until(lambda: second.runner.stats.processed.get("messages", 0) == 20)
    stored = list(Message.objects.filter(conversation=conversation).order_by("sequence"))
    assert [m.sequence for m in stored] == list(range(1, 21))
    assert [m.body for m in stored] == [f"m{n}" for n in range(20)]


@pytest.mark.parametrize(
    "outage",
    [
        OperationalError("connection refused"),
        RedisConnectionError("Error 111 connecting"),
        ProgrammingError('column "last_change" does not exist'),
    ],
    ids=["database", "redis", "schema-behind-code"],
)
def test_a_batch_that_meets_a_database_or_redis_outage_is_retried_not_dead_lettered(
    start_consumer, monkeypatch, outage
) -> None:
    # Redis: the notifications published after the commit need it; the
    # fault matrix's Redis restart had stored messages dead-lettered.  The
    # schema: a consumer restarted on code whose migration had not run yet
    # dead-lettered every message of the fault matrix's run.
    calls = []

    class AwayOnce(MessagesHandler):
        def handle_batch(self, envelopes):
            calls.append(len(envelopes))
            if len(calls) == 1:
                raise outage
            super().handle_batch(envelopes)

    monkeypatch.setitem(HANDLERS, Topic.MESSAGES, AwayOnce)
    running = start_consumer()
    conversation = DirectConversationFactory()
    publish_sync(
        message_sent_envelope(conversation=conversation, sender=conversation.members.first())
    )

    wait_until(lambda: Message.objects.filter(conversation=conversation).exists())
    wait_until(lambda: running.runner.stats.batches == 1)
    assert running.runner.stats.retries == 1
    assert running.runner.stats.dead_lettered == {}
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_a_connection_the_database_dropped_between_batches_is_replaced_on_the_retry(
    start_consumer,
) -> None:
    # The connection is not health-checked before each batch (a round trip
    # on every message's way): a dropped one fails one attempt, is replaced,
    # and the batch is stored on the retry.
    running = start_consumer()
    conversation = DirectConversationFactory()
    sender = conversation.members.first()
    publish_sync(message_sent_envelope(conversation=conversation, sender=sender, body="first"))
    wait_until(lambda: running.runner.stats.batches == 1)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (dropped,) = cursor.fetchone()
    publish_sync(message_sent_envelope(conversation=conversation, sender=sender, body="second"))

    wait_until(lambda: running.runner.stats.batches == 2)
    assert dropped >= 1
    assert running.runner.stats.retries == 1
    assert running.runner.stats.dead_lettered == {}
    assert list(
        Message.objects.filter(conversation=conversation)
        .order_by("sequence")
        .values_list("body", flat=True)
    ) == ["first", "second"]
