"""The consumer runner behind ``manage.py run_kafka_consumers``.

One loop polls every registered topic in one consumer group.  For each
partition's batch it decodes the events, hands the valid ones to the topic's
handler, dead-letters what cannot be decoded or handled, and only then commits
the offsets.  The loop never dies on bad data: a record that cannot be parsed
is moved to the dead-letter topic with the reason and counted.
"""

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    close_old_connections,
    connections,
)
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from messenger.kafka.events import Envelope, EventDecodeError, envelope_decode
from messenger.kafka.handlers import Handler, handlers_discover
from messenger.kafka.producer import get_producer
from messenger.kafka.topics import Topic, topic_from_name, topic_name
from messenger.logcontext import log_context, trace_logger
from messenger.metrics import (
    KAFKA_BATCH_RETRIES,
    KAFKA_BATCH_SECONDS,
    KAFKA_CONSUMED,
    KAFKA_CONSUMER_LAG,
    KAFKA_DEAD_LETTERED,
    KAFKA_HANDLER_ERRORS,
)

logger = logging.getLogger(__name__)

# Errors after which the same batch may well succeed later: the database,
# the broker or Redis (pushes, notifications after the commit) is away, or
# the code runs ahead of the schema (a deploy whose migrations have not run
# yet: ProgrammingError, "column does not exist").  The batch is retried,
# never dead-lettered, for them: a stalled partition shows as lag, while
# dead-lettered messages would be acknowledged and never stored.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ProgrammingError,
    KafkaError,
    RedisConnectionError,
    RedisTimeoutError,
)
# A dead letter keeps at most this much of the record's value: the producer
# refuses records over 1 MB, and a partition whose poison cannot be
# dead-lettered would be retried for ever.
DEAD_LETTER_MAX_VALUE_BYTES = 256 * 1024
RETRY_BACKOFF_MAX_SECONDS = 30.0
# How often the lag of idle partitions is refreshed; busy ones are measured
# after every batch.
LAG_REFRESH_SECONDS = 2.0


def consumer_config(group_id: str) -> dict[str, Any]:
    """Return the consumer settings that decide whether events survive."""
    return {
        "bootstrap_servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "group_id": group_id,
        # Host and pid: the operations page shows which process owns a partition.
        "client_id": f"messenger-consumer-{socket.gethostname()}-{os.getpid()}",
        # Auto-commit (and close() with autocommit) would commit records the
        # handlers have not stored yet; offsets are committed by hand after
        # the database transaction.
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.KAFKA_MAX_POLL_RECORDS,
        "max_poll_interval_ms": settings.KAFKA_MAX_POLL_INTERVAL_MS,
        "session_timeout_ms": settings.KAFKA_SESSION_TIMEOUT_MS,
        # How soon a consumer notices partitions it did not know of (a topic
        # created just before it subscribed, or partitions added).
        "metadata_max_age_ms": settings.KAFKA_METADATA_MAX_AGE_MS,
        "heartbeat_interval_ms": max(1_000, settings.KAFKA_SESSION_TIMEOUT_MS // 3),
        "isolation_level": "read_committed",
    }


@dataclass
class RunnerStats:
    """Counters of what the runner has done, per logical topic."""

    processed: dict[str, int] = field(default_factory=dict)
    dead_lettered: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    retries: int = 0

    def count(self, counter: dict[str, int], topic: Topic, n: int = 1) -> None:
        """Add n to a topic's counter."""
        counter[topic.value] = counter.get(topic.value, 0) + n


class ConsumerRunner:
    """Consume the registered topics until :meth:`stop` is called."""

    def __init__(
        self,
        *,
        topics: Iterable[Topic] | None = None,
        group_id: str | None = None,
        poll_timeout_ms: int = 500,
    ) -> None:
        registry = handlers_discover()
        wanted = set(topics) if topics is not None else set(registry)
        unknown = wanted - set(registry)
        if unknown:
            raise ValueError(f"no handler registered for {sorted(t.value for t in unknown)}")
        self.handlers: dict[Topic, Handler] = {t: registry[t]() for t in wanted}
        self.group_id = group_id or settings.KAFKA_CONSUMER_GROUP
        self.poll_timeout_ms = poll_timeout_ms
        self.stats = RunnerStats()
        self._stopping = threading.Event()
        self._consumer: KafkaConsumer | None = None
        # Offsets of stored batches whose commit has not been confirmed yet.
        self._uncommitted: dict[TopicPartition, int] = {}
        self._uncommitted_lock = threading.Lock()
        self.assigned = threading.Event()

    def stop(self) -> None:
        """Ask the loop to finish its batch, commit, close and return."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Return whether a stop was requested."""
        return self._stopping.is_set()

    def _await_partitions(self, consumer: KafkaConsumer, names: list[str]) -> None:
        """Wait until this client's metadata knows every topic's partitions.

        A member that joins before then can be handed an empty assignment
        ("No partition metadata") and kafka-python does not always rejoin when
        the partitions appear; the group would then idle with the topics
        unconsumed.  Missing topics are logged and waited for, not skipped.
        """
        backoff = 0.1
        while not self.stopping:
            missing = [name for name in names if not consumer.partitions_for_topic(name)]
            if not missing:
                return
            logger.warning("no partitions known yet for %s; waiting", ", ".join(missing))
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, RETRY_BACKOFF_MAX_SECONDS)

    def run(self) -> None:
        """Run the poll loop until stopped."""
        consumer = KafkaConsumer(**consumer_config(self.group_id))
        self._consumer = consumer
        names = sorted(topic_name(t) for t in self.handlers)
        self._await_partitions(consumer, names)
        consumer.subscribe(names)
        logger.info("consuming %s as group %s", ", ".join(names), self.group_id)
        lag_measured = 0.0
        try:
            while not self.stopping:
                batches = consumer.poll(timeout_ms=self.poll_timeout_ms)
                if consumer.assignment():
                    self.assigned.set()
                by_topic: dict[Topic, dict[TopicPartition, list[ConsumerRecord]]] = {}
                for tp, records in batches.items():
                    by_topic.setdefault(topic_from_name(tp.topic), {})[tp] = records
                for topic, parts in by_topic.items():
                    self._process_batch(consumer, topic, parts)
                if time.monotonic() - lag_measured > LAG_REFRESH_SECONDS:
                    self._lag_measure(consumer)
                    lag_measured = time.monotonic()
        finally:
            self._commit_last(consumer)
            # autocommit=False: close() must not commit anything unprocessed.
            consumer.close(autocommit=False)
            connections.close_all()
            logger.info("consumer stopped: %s", self.stats)

    def _process_batch(
        self,
        consumer: KafkaConsumer,
        topic: Topic,
        parts: Mapping[TopicPartition, Sequence[ConsumerRecord]],
    ) -> None:
        """Apply one poll's records of a topic, from all its partitions, as one batch.

        One transaction, one push and one offset commit for the whole poll:
        per partition, they were most of a busy consumer's time.  Each
        partition's records stay in order (a conversation lives in one).
        """
        records = [record for part in parts.values() for record in part]
        started = time.monotonic()
        backoff = 0.5
        while True:
            try:
                handled = self._apply(topic, records)
                break
            except TRANSIENT_ERRORS as exc:
                # The database or the broker is away: retry the same batch
                # (handlers ignore what they already applied) and never
                # commit past it.  The connection is checked, and replaced
                # when broken, only then: checked before every batch, the
                # health check's round trip was on every message's way.
                close_old_connections()
                self.stats.retries += 1
                KAFKA_BATCH_RETRIES.labels(topic.value).inc()
                logger.warning("%s batch failed, retrying in %.1fs: %s", topic.value, backoff, exc)
                if self._stopping.wait(backoff):
                    return  # Leave the offsets for whoever owns the partitions next.
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX_SECONDS)
        self._commit(consumer, {tp: part[-1].offset + 1 for tp, part in parts.items()})
        for tp, part in parts.items():
            self._lag_record(consumer, tp, part[-1].offset + 1)
        KAFKA_BATCH_SECONDS.labels(topic.value).observe(time.monotonic() - started)
        KAFKA_CONSUMED.labels(topic.value).inc(len(records))
        self.stats.batches += 1
        self.stats.count(self.stats.processed, topic, handled)
        logger.info(
            "%s %d events of %d partitions (%s) in %.1f ms",
            topic.value,
            len(records),
            len(parts),
            ", ".join(f"{tp.partition}@{part[-1].offset}" for tp, part in parts.items()),
            (time.monotonic() - started) * 1000,
        )

    def _apply(self, topic: Topic, records: Sequence[ConsumerRecord]) -> int:
        """Decode and handle a batch, dead-lettering what fails for good."""
        handler = self.handlers[topic]
        decoded: list[tuple[ConsumerRecord, Envelope]] = []
        for record in records:
            try:
                decoded.append((record, envelope_decode(record.value)))
            except EventDecodeError as exc:
                self._dead_letter(record, topic, f"undecodable: {exc}", kind="undecodable")
        if not decoded:
            return 0
        try:
            handler.handle_batch([envelope for _, envelope in decoded])
            self._trace(decoded)
            return len(decoded)
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            KAFKA_HANDLER_ERRORS.labels(topic.value).inc()
            logger.exception("%s batch failed; applying its events one by one", topic.value)
        handled = 0
        for record, envelope in decoded:
            with log_context(event_id=str(envelope.id)):
                try:
                    handler.handle_batch([envelope])
                    self._trace([(record, envelope)])
                    handled += 1
                except TRANSIENT_ERRORS:
                    raise
                except Exception as exc:
                    KAFKA_HANDLER_ERRORS.labels(topic.value).inc()
                    logger.exception("%s event %s failed", topic.value, envelope.id)
                    self._dead_letter(
                        record,
                        topic,
                        f"handler failed: {type(exc).__name__}: {exc}",
                        kind="handler",
                    )
        return handled

    @staticmethod
    def _trace(applied: Sequence[tuple[ConsumerRecord, Envelope]]) -> None:
        for record, envelope in applied:
            trace_logger.info(
                "event applied",
                extra={
                    "event_id": str(envelope.id),
                    "event_type": envelope.type,
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                },
            )

    def _dead_letter(self, record: ConsumerRecord, topic: Topic, reason: str, *, kind: str) -> None:
        logger.error(
            "dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason
        )
        headers = [
            ("original-topic", record.topic.encode()),
            ("original-partition", str(record.partition).encode()),
            ("original-offset", str(record.offset).encode()),
            ("reason", reason.encode()[:1000]),
        ]
        value = record.value
        if value is not None and len(value) > DEAD_LETTER_MAX_VALUE_BYTES:
            headers.append(("original-size", str(len(value)).encode()))
            value = value[:DEAD_LETTER_MAX_VALUE_BYTES]
        # Wait for the dead-letter write before the offset is committed, so
        # the record is never lost.
        get_producer().send(
            topic_name(Topic.DEAD_LETTER),
            key=record.key.decode(errors="replace") if record.key is not None else None,
            value=value,
            headers=headers,
        ).get(timeout=30)
        self.stats.count(self.stats.dead_lettered, topic)
        KAFKA_DEAD_LETTERED.labels(topic.value, kind).inc()

    def _lag_record(self, consumer: KafkaConsumer, tp: TopicPartition, position: int) -> None:
        # The high watermark comes with every fetch response: no extra request.
        highwater = consumer.highwater(tp)
        if highwater is not None:
            KAFKA_CONSUMER_LAG.labels(topic_from_name(tp.topic).value, str(tp.partition)).set(
                max(0, highwater - position)
            )

    def _lag_measure(self, consumer: KafkaConsumer) -> None:
        """Refresh the lag of every partition this consumer owns, busy or idle."""
        for tp in consumer.assignment():
            try:
                position = consumer.position(tp, timeout_ms=100)
            except KafkaError:
                continue
            if position is not None:
                self._lag_record(consumer, tp, position)

    def _commit(self, consumer: KafkaConsumer, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit a stored batch's offsets without waiting for the broker's answer.

        Waiting was a fifth of a busy consumer's time.  Not waiting loses
        nothing: the batch is stored before its offsets are sent, a commit
        that fails or never completes only makes whoever reads the partition
        next apply it again (handlers apply nothing twice), and a later
        commit covers it.  Commits go out in order on one connection; the
        last ones are committed synchronously when the loop stops.
        """
        with self._uncommitted_lock:
            self._uncommitted.update(offsets)
        pending = dict(offsets)
        try:
            consumer.commit_async(
                {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()},
                callback=lambda _, response: self._committed(pending, response),
            )
        except KafkaError as exc:
            self._committed(pending, exc)

    def _committed(self, offsets: dict[TopicPartition, int], response: object) -> None:
        if isinstance(response, Exception):
            # The partition moved to another consumer during the batch (a
            # rebalance: CommitFailedError, RebalanceInProgressError), or the
            # group coordinator is away (a broker down).  Raising would end
            # the consumer process; see _commit for why nothing is lost.
            logger.warning("commit of %s failed: %s", offsets, response)
            return
        # Answers may arrive on kafka-python's network thread.
        with self._uncommitted_lock:
            for tp, offset in offsets.items():
                if self._uncommitted.get(tp) == offset:
                    del self._uncommitted[tp]

    def _commit_last(self, consumer: KafkaConsumer) -> None:
        """Wait until the last batches' offsets are committed, before closing."""
        # Only partitions still ours: another member's offsets must not go back.
        assigned = consumer.assignment()
        with self._uncommitted_lock:
            last = {tp: offset for tp, offset in self._uncommitted.items() if tp in assigned}
        if not last:
            return
        try:
            consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in last.items()})
        except KafkaError as exc:
            logger.warning("last commit of %s failed: %s", last, exc)
