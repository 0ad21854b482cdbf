"""Prometheus metrics of every Messenger process, and their exposition.

Several processes (daphne, ``run_kafka_consumers``) run side by side on one
host.  When ``PROMETHEUS_MULTIPROC_DIR`` is set in their environment,
prometheus-client writes each process's samples to memory-mapped files in that
directory and :func:`metrics_render` aggregates every process's files, so any
web process's ``/metrics`` shows the whole host: counters and histograms are
summed, the open-socket gauge is summed over live processes, and a lag gauge
keeps the most recently written value.  The directory must be emptied before
the processes of a host start (``scripts/run.sh`` does); without the variable
each process reports only itself.  See docs/operations.md.
"""

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

from messenger.kafka.topics import topic_from_name

# From a few milliseconds (a quiet system) to the producer's delivery timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

KAFKA_PRODUCED = Counter(
    "messenger_kafka_produced_total", "Events Kafka acknowledged, per topic.", ["topic"]
)
KAFKA_PRODUCE_ERRORS = Counter(
    "messenger_kafka_produce_errors_total", "Events Kafka did not take, per topic.", ["topic"]
)
KAFKA_CONSUMED = Counter(
    "messenger_kafka_consumed_total", "Records processed (stored), per topic.", ["topic"]
)
KAFKA_HANDLER_ERRORS = Counter(
    "messenger_kafka_handler_errors_total",
    "Exceptions raised by a topic's handler (batch or single event).",
    ["topic"],
)
KAFKA_DEAD_LETTERED = Counter(
    "messenger_kafka_dead_lettered_total",
    "Records moved to the dead-letter topic, per topic and reason.",
    ["topic", "reason"],
)
KAFKA_BATCH_RETRIES = Counter(
    "messenger_kafka_batch_retries_total",
    "Batches retried after a transient database or broker error.",
    ["topic"],
)
KAFKA_BATCH_SECONDS = Histogram(
    "messenger_kafka_batch_seconds",
    "Time to apply one poll's batch of a topic and send its offset commit.",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)
KAFKA_CONSUMER_LAG = Gauge(
    "messenger_kafka_consumer_lag",
    "Records behind the partition's high watermark, as seen by the consumer that owns it.",
    ["topic", "partition"],
    # After a rebalance the new owner writes newer values than the old one.
    multiprocess_mode="livemostrecent",
)
MESSAGE_LATENCY = Histogram(
    "messenger_message_latency_seconds",
    "From a message accepted on the socket (the event's time) to its push to the recipients.",
    buckets=LATENCY_BUCKETS,
)
WEBSOCKETS_OPEN = Gauge(
    "messenger_websockets_open", "Open WebSocket connections.", multiprocess_mode="livesum"
)
HTTP_REQUESTS = Counter(
    "messenger_http_requests_total",
    "HTTP requests answered, per method, route pattern and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "messenger_http_request_duration_seconds",
    "Time to answer an HTTP request, per method and route pattern.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)


def topic_label(name: str) -> str:
    """Return the logical topic of a physical name, so labels stay few and stable."""
    try:
        return topic_from_name(name).value
    except (KeyError, ValueError):
        return name


def kafka_produce_observe(*, topic: str, ok: bool) -> None:
    """Count one event Kafka took (or did not take)."""
    (KAFKA_PRODUCED if ok else KAFKA_PRODUCE_ERRORS).labels(topic_label(topic)).inc()


def message_latency_observe(*, accepted_at: float) -> float:
    """Record and return the seconds from acceptance (a Unix timestamp) to now."""
    latency = max(0.0, time.time() - accepted_at)
    MESSAGE_LATENCY.observe(latency)
    return latency


def websocket_opened() -> None:
    """Count an accepted socket."""
    WEBSOCKETS_OPEN.inc()


def websocket_closed() -> None:
    """Count a socket that was accepted and is now closed."""
    WEBSOCKETS_OPEN.dec()


def multiprocess_enabled() -> bool:
    """Return whether samples are shared between the processes of this host."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def metrics_registry() -> CollectorRegistry:
    """Return a registry with the host's samples (every process) or this process's."""
    if not multiprocess_enabled():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def metrics_render() -> tuple[bytes, str]:
    """Return the text exposition of every metric and its content type."""
    return generate_latest(metrics_registry()), CONTENT_TYPE_LATEST


def metrics_serve(*, address: str) -> tuple[str, int]:
    """Serve the exposition on HOST:PORT from a daemon thread; return where it listens."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    server, _ = start_http_server(int(port), addr=host, registry=metrics_registry())
    bound_host, bound_port = server.server_address[:2]
    return str(bound_host), int(bound_port)


def process_exited(pid: int) -> None:
    """Drop a finished process's live gauges (open sockets, lag) from the shared files."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)
