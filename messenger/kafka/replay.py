"""Read a topic back from the log, for rebuilding read models.

A reader without a consumer group: it assigns itself the partitions, reads
each from its earliest retained offset up to the end offsets taken when it
started (events produced meanwhile are left to the live consumers), and never
commits anything.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from kafka import KafkaConsumer, TopicPartition

from messenger.kafka.events import Envelope, EventDecodeError, envelope_decode
from messenger.kafka.topics import Topic, topic_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoggedEvent:
    """An event with its place in the log."""

    partition: int
    offset: int
    envelope: Envelope


@dataclass
class ReadStats:
    """What a read went through."""

    records: int = 0
    undecodable: int = 0
    earliest_offsets: dict[int, int] | None = None


def topic_read(
    *, topic: Topic, key: str | None = None, stats: ReadStats | None = None
) -> Iterator[LoggedEvent]:
    """Yield the topic's events, partition by partition, each in log order.

    With ``key``, yield only that key's records.  Every partition is read,
    not only the key's current one: after partitions are added, a key's older
    events stay where they were written.
    """
    stats = stats if stats is not None else ReadStats()
    name = topic_name(topic)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        client_id="messenger-replay",
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=1000,
    )
    try:
        partitions = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name))]
        consumer.assign(partitions)
        end = consumer.end_offsets(partitions)
        start = consumer.beginning_offsets(partitions)
        stats.earliest_offsets = {tp.partition: start[tp] for tp in partitions}
        wanted = key.encode() if key is not None else None
        for tp in partitions:
            if start[tp] >= end[tp]:
                continue
            consumer.assign([tp])
            consumer.seek(tp, start[tp])
            yield from _partition_read(consumer, tp, end[tp], wanted, stats)
    finally:
        consumer.close(autocommit=False)


def _partition_read(
    consumer: KafkaConsumer, tp: TopicPartition, end: int, key: bytes | None, stats: ReadStats
) -> Iterator[LoggedEvent]:
    while consumer.position(tp) < end:
        for record in consumer.poll(timeout_ms=1000).get(tp, []):
            if record.offset >= end:
                return
            stats.records += 1
            if key is not None and record.key != key:
                continue
            try:
                envelope = envelope_decode(record.value)
            except EventDecodeError as exc:
                stats.undecodable += 1
                logger.warning("skipping %s[%d]@%d: %s", tp.topic, tp.partition, record.offset, exc)
                continue
            yield LoggedEvent(partition=tp.partition, offset=record.offset, envelope=envelope)
