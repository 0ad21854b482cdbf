"""The one Kafka producer of a process, shared by every thread and coroutine.

kafka-python's producer is thread-based: ``send`` may block while it fetches
metadata, and its futures resolve on the producer's I/O thread.  Coroutines
therefore go through :func:`publish_async`, which never blocks the event loop.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import transaction
from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata, RecordMetadata
from kafka.serializer import Serializer

from messenger.kafka.events import Envelope, envelope_encode
from messenger.kafka.topics import topic_name
from messenger.metrics import kafka_produce_observe

logger = logging.getLogger(__name__)


class PublishError(Exception):
    """Raised when Kafka did not accept an event; the caller must not ack it."""


def producer_config() -> dict[str, Any]:
    """Return the producer settings that decide whether events survive."""
    return {
        "bootstrap_servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "client_id": "messenger-producer",
        # Wait for every in-sync replica, and let the broker drop retried
        # duplicates.  kafka-python silently turns idempotence off when other
        # settings conflict with it, so both are passed explicitly.
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.KAFKA_PRODUCER_LINGER_MS,
        "max_block_ms": settings.KAFKA_PRODUCER_MAX_BLOCK_MS,
        # Creating the producer must not hang longer than a send would.
        "bootstrap_timeout_ms": settings.KAFKA_PRODUCER_MAX_BLOCK_MS,
        "delivery_timeout_ms": settings.KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS,
        "request_timeout_ms": min(10_000, settings.KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS),
        "key_serializer": _KeySerializer(),
    }


class _KeySerializer(Serializer):
    def serialize(
        self, topic: str, headers: list[tuple[str, bytes]], data: str | None
    ) -> bytes | None:
        return None if data is None else data.encode()


_lock = threading.Lock()
_producer: KafkaProducer | None = None
# send() can block up to max_block_ms when the broker is away; a small pool
# keeps that off the event loop and off Django's shared sync thread.
_send_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kafka-send")


def get_producer() -> KafkaProducer:
    """Return the process's producer, creating it on first use."""
    global _producer
    with _lock:
        if _producer is None:
            try:
                _producer = KafkaProducer(**producer_config())
            except KafkaError as exc:
                raise PublishError(f"Kafka is unavailable: {exc}") from exc
        return _producer


def _producer_discard(stuck: KafkaProducer) -> None:
    """Replace a producer that stopped completing sends; the next send makes a new one.

    kafka-python must fail a send once its delivery timeout has passed.  After
    two brokers of three were down, the fault matrix found a producer whose
    sends never completed again, so every message was refused until the web
    process restarted.  It is closed in the background: closing may block.
    """
    global _producer
    with _lock:
        if _producer is not stuck:
            return
        _producer = None
    logger.error("the Kafka producer stopped completing sends; replacing it")
    threading.Thread(
        target=stuck.close, kwargs={"timeout": 0}, name="kafka-producer-close", daemon=True
    ).start()


def producer_close(timeout: float = 10.0) -> None:
    """Flush and close the producer, if one was created."""
    global _producer
    with _lock:
        if _producer is not None:
            _producer.flush(timeout=timeout)
            _producer.close(timeout=timeout)
            _producer = None


def publish(
    envelope: Envelope,
    *,
    key: str | None = None,
    topic: str | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    value: bytes | None = None,
) -> FutureRecordMetadata:
    """Hand an event to the producer and return the future of its delivery."""
    name = topic or topic_name(envelope.topic)
    try:
        future = get_producer().send(
            name,
            key=key if key is not None else envelope.key(),
            value=value if value is not None else envelope_encode(envelope),
            headers=headers,
        )
    except KafkaError as exc:
        kafka_produce_observe(topic=name, ok=False)
        raise PublishError(f"Kafka did not accept the event: {exc}") from exc
    future.add_callback(lambda _: kafka_produce_observe(topic=name, ok=True))
    future.add_errback(lambda _: kafka_produce_observe(topic=name, ok=False))
    return future


def publish_on_commit(envelope: Envelope) -> None:
    """Publish an event once the current transaction commits, without waiting for it.

    For events that announce a change already stored in PostgreSQL: a
    delivery failure is logged, and the stored state stays the truth.
    """

    def send() -> None:
        try:
            publish(envelope).add_errback(
                lambda exc: logger.error(
                    "event %s %s not delivered: %s", envelope.type, envelope.id, exc
                )
            )
        except PublishError:
            logger.exception("event %s %s not published", envelope.type, envelope.id)

    transaction.on_commit(send)


def publish_sync(envelope: Envelope, *, timeout: float | None = None) -> RecordMetadata:
    """Publish an event and wait until Kafka has it."""
    producer = get_producer()
    future = publish(envelope)
    try:
        return future.get(timeout=timeout or _delivery_timeout())
    except KafkaError as exc:
        if timeout is None and not future.is_done:
            _producer_discard(producer)
        raise PublishError(f"Kafka did not store the event: {exc}") from exc


def publish_all_sync(envelopes: Sequence[Envelope]) -> list[RecordMetadata]:
    """Publish events and wait until Kafka has every one; replace a stuck producer."""
    producer = get_producer()
    futures = [publish(envelope) for envelope in envelopes]
    deadline = time.monotonic() + _delivery_timeout()
    delivered = []
    for future in futures:
        try:
            delivered.append(future.get(timeout=max(0.0, deadline - time.monotonic())))
        except KafkaError as exc:
            if not future.is_done:
                _producer_discard(producer)
            raise PublishError(f"Kafka did not store the event: {exc}") from exc
    return delivered


async def publish_async(envelope: Envelope) -> RecordMetadata:
    """Publish an event and await, without blocking the loop, until Kafka has it."""
    loop = asyncio.get_running_loop()
    # One trip to the pool: each hop costs a thread switch on the send path.
    producer, kafka_future = await loop.run_in_executor(_send_pool, _producer_send, envelope)
    done: asyncio.Future[RecordMetadata] = loop.create_future()

    def on_success(metadata: RecordMetadata) -> None:
        loop.call_soon_threadsafe(_resolve, done, metadata, None)

    def on_error(exc: BaseException) -> None:
        loop.call_soon_threadsafe(_resolve, done, None, exc)

    kafka_future.add_callback(on_success)
    kafka_future.add_errback(on_error)
    try:
        return await asyncio.wait_for(done, timeout=_delivery_timeout())
    except TimeoutError as exc:
        # The producer neither delivered nor failed the send in its delivery timeout.
        _producer_discard(producer)
        raise PublishError("Kafka did not answer; the producer is being replaced") from exc
    except KafkaError as exc:
        raise PublishError(f"Kafka did not store the event: {exc}") from exc


def _producer_send(envelope: Envelope) -> tuple[KafkaProducer, FutureRecordMetadata]:
    return get_producer(), publish(envelope)


def _resolve(
    future: "asyncio.Future[RecordMetadata]",
    result: RecordMetadata | None,
    exc: BaseException | None,
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _delivery_timeout() -> float:
    # A little longer than the producer's own delivery timeout, which fails
    # the future first when the broker stays away.
    return settings.KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS / 1000 + 5
