"""What the live operations page shows: one snapshot of metrics and Kafka state.

The page polls :func:`operations_snapshot` every few seconds and computes
rates and latency percentiles in the browser from the difference between two
snapshots, the way Prometheus's ``rate`` and ``histogram_quantile`` do: the
server keeps no history and any web process can answer.  Lag comes from Kafka
itself (the group's committed offsets against each partition's end), so it is
right whichever host runs the consumers.
"""

import logging
import time
from collections import defaultdict
from typing import Any

from django.conf import settings
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec

from messenger.kafka.admin import admin_client, topics_describe, topics_summary
from messenger.kafka.topics import Topic, topic_name
from messenger.metrics import metrics_registry

logger = logging.getLogger(__name__)

# The sample names the page reads, summed over every label but the one kept.
_COUNTERS = {
    "produced": "messenger_kafka_produced_total",
    "produce_errors": "messenger_kafka_produce_errors_total",
    "consumed": "messenger_kafka_consumed_total",
    "handler_errors": "messenger_kafka_handler_errors_total",
    "dead_lettered": "messenger_kafka_dead_lettered_total",
    "http_requests": "messenger_http_requests_total",
}


def metrics_snapshot() -> dict[str, Any]:
    """Return the host's counters, the latency histogram and the open sockets."""
    counters: dict[str, float] = defaultdict(float)
    buckets: dict[str, float] = defaultdict(float)
    latency = {"count": 0.0, "sum": 0.0}
    sockets = 0.0
    by_name = {name: key for key, name in _COUNTERS.items()}
    for family in metrics_registry().collect():
        for sample in family.samples:
            if sample.name in by_name:
                counters[by_name[sample.name]] += sample.value
                if sample.name == _COUNTERS["http_requests"] and sample.labels.get(
                    "status", ""
                ).startswith("5"):
                    counters["http_5xx"] += sample.value
            elif sample.name == "messenger_message_latency_seconds_bucket":
                buckets[sample.labels["le"]] += sample.value
            elif sample.name == "messenger_message_latency_seconds_count":
                latency["count"] += sample.value
            elif sample.name == "messenger_message_latency_seconds_sum":
                latency["sum"] += sample.value
            elif sample.name == "messenger_websockets_open":
                sockets += sample.value
    return {
        "counters": {key: counters.get(key, 0.0) for key in [*_COUNTERS, "http_5xx"]},
        "latency": {
            **latency,
            # [upper bound, cumulative count], ascending, "+Inf" last (a
            # string: JSON has no infinity).
            "buckets": sorted(
                ([le, count] for le, count in buckets.items()), key=lambda b: float(b[0])
            ),
        },
        "sockets": sockets,
    }


def consumer_lag(*, admin: KafkaAdminClient, group: str, topics: list[str]) -> list[dict[str, Any]]:
    """Return, per partition of the topics, its end offset, the group's offset and the lag."""
    described = admin.describe_topics(topics)
    partitions = [
        TopicPartition(t["name"], p["partition_index"]) for t in described for p in t["partitions"]
    ]
    if not partitions:
        return []
    ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
    committed = admin.list_group_offsets(group).get(group, {})
    owners = _partition_owners(admin, group)
    rows = []
    for tp in sorted(partitions):
        end = ends[tp].offset
        offset = committed[tp].offset if tp in committed else None
        rows.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "end": end,
                "committed": offset,
                # A partition the group never committed is behind by all of it.
                "lag": max(0, end - (offset if offset is not None and offset >= 0 else 0)),
                "owner": owners.get(tp, ""),
            }
        )
    return rows


def _partition_owners(admin: KafkaAdminClient, group: str) -> dict[TopicPartition, str]:
    described = admin.describe_groups([group]).get(group) or {}
    owners = {}
    for member in described.get("members", []):
        who = f"{member['client_id']}@{member['client_host'].lstrip('/')}"
        for assigned in (member.get("member_assignment") or {}).get("assigned_partitions", []):
            for partition in assigned["partitions"]:
                owners[TopicPartition(assigned["topic"], partition)] = who
    return owners


def kafka_snapshot() -> dict[str, Any]:
    """Return brokers, topics and the consumer group's lag, or the error that stopped it."""
    group = settings.KAFKA_CONSUMER_GROUP
    consumed = [topic_name(t) for t in (Topic.MESSAGES, Topic.ACTIVITY, Topic.NOTIFICATIONS)]
    try:
        with admin_client(timeout_ms=3_000) as admin:
            cluster = admin.describe_cluster()
            topics = topics_summary(topics_describe(admin=admin))
            existing = [t["name"] for t in topics if t["exists"] and t["name"] in consumed]
            lag = consumer_lag(admin=admin, group=group, topics=existing)
            state = (admin.describe_groups([group]).get(group) or {}).get("group_state", "")
    except Exception as exc:
        logger.warning("operations page: Kafka unavailable: %s", exc)
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "error": "",
        "cluster_id": cluster.get("cluster_id"),
        "controller": cluster.get("controller_id"),
        "brokers": [
            {
                "id": b["broker_id"],
                "address": f"{b['host']}:{b['port']}",
                "fenced": bool(b.get("is_fenced")),
            }
            for b in cluster.get("brokers", [])
        ],
        "topics": topics,
        "group": {"id": group, "state": state},
        "lag": lag,
    }


def operations_snapshot() -> dict[str, Any]:
    """Return everything the operations page shows, stamped with the time."""
    return {"time": time.time(), **metrics_snapshot(), "kafka": kafka_snapshot()}
