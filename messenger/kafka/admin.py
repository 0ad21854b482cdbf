"""Create, describe and alter the application's topics to match the settings.

The wanted layout comes from settings (``KAFKA_TOPIC_PARTITIONS``,
``KAFKA_TOPIC_REPLICATION_FACTOR``, ``KAFKA_TOPIC_RETENTION_MS``,
``KAFKA_TOPIC_MIN_INSYNC_REPLICAS``); :func:`topics_describe` compares the
cluster with it and :func:`topics_alter` closes the gaps Kafka can close
online: more partitions, a new retention or ``min.insync.replicas``, and a
replication factor changed by reassigning replicas.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from kafka import TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

from messenger.kafka.topics import TOPICS, topic_name

logger = logging.getLogger(__name__)

# Topic settings that the application manages; others are left as they are.
MANAGED_CONFIGS = ("retention.ms", "min.insync.replicas")


@dataclass(frozen=True)
class TopicLayout:
    """What every application topic should look like."""

    partitions: int
    replication_factor: int
    configs: dict[str, str]


@dataclass(frozen=True)
class PartitionState:
    """One partition as the cluster reports it."""

    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]

    @property
    def under_replicated(self) -> bool:
        """Return whether some replica has fallen out of the in-sync set."""
        return len(self.isr) < len(self.replicas)


@dataclass
class TopicState:
    """A topic as the cluster reports it, and how it differs from the layout."""

    name: str
    exists: bool
    partitions: list[PartitionState] = field(default_factory=list)
    configs: dict[str, str] = field(default_factory=dict)
    drift: list[str] = field(default_factory=list)

    @property
    def replication_factor(self) -> int:
        """Return the smallest replica count among the partitions."""
        return min((len(p.replicas) for p in self.partitions), default=0)


def topic_layout() -> TopicLayout:
    """Return the layout the settings ask for; refuse one that could never take a write."""
    if settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS > settings.KAFKA_TOPIC_REPLICATION_FACTOR:
        raise ImproperlyConfigured(
            "KAFKA_TOPIC_MIN_INSYNC_REPLICAS must not exceed KAFKA_TOPIC_REPLICATION_FACTOR"
        )
    return TopicLayout(
        partitions=settings.KAFKA_TOPIC_PARTITIONS,
        replication_factor=settings.KAFKA_TOPIC_REPLICATION_FACTOR,
        configs={
            "retention.ms": str(settings.KAFKA_TOPIC_RETENTION_MS),
            "min.insync.replicas": str(settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS),
        },
    )


@contextmanager
def admin_client(*, timeout_ms: int = 10_000) -> Iterator[KafkaAdminClient]:
    """Open an admin client that gives up after the timeout, and close it."""
    admin = KafkaAdminClient(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        client_id="messenger-admin",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
    )
    try:
        yield admin
    finally:
        admin.close()


def topic_names() -> list[str]:
    """Return the physical names of every registered topic."""
    return [topic_name(topic) for topic in TOPICS]


def topics_ensure() -> list[str]:
    """Create every registered topic that does not exist yet; return the ones created."""
    layout = topic_layout()
    with admin_client() as admin:
        existing = set(admin.list_topics())
        created: list[str] = []
        for name in topic_names():
            if name in existing:
                continue
            try:
                admin.create_topics(
                    {
                        name: {
                            "num_partitions": layout.partitions,
                            "replication_factor": layout.replication_factor,
                            "configs": layout.configs,
                        }
                    },
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                continue
            created.append(name)
            logger.info("created topic %s", name)
        return created


def topics_describe(*, admin: KafkaAdminClient | None = None) -> list[TopicState]:
    """Describe every registered topic and list where it differs from the layout."""
    if admin is None:
        with admin_client() as own:
            return topics_describe(admin=own)
    layout = topic_layout()
    existing = set(admin.list_topics())
    names = topic_names()
    present = [name for name in names if name in existing]
    described = {t["name"]: t for t in admin.describe_topics(present)} if present else {}
    configs = _topic_configs(admin, present)
    states = []
    for name in names:
        if name not in described:
            states.append(TopicState(name=name, exists=False, drift=["missing"]))
            continue
        state = TopicState(
            name=name,
            exists=True,
            partitions=sorted(
                (
                    PartitionState(
                        partition=p["partition_index"],
                        leader=p["leader_id"],
                        replicas=list(p["replica_nodes"]),
                        isr=list(p["isr_nodes"]),
                    )
                    for p in described[name]["partitions"]
                ),
                key=lambda p: p.partition,
            ),
            configs=configs.get(name, {}),
        )
        state.drift = _drift(state, layout)
        states.append(state)
    return states


def _topic_configs(admin: KafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name, list(MANAGED_CONFIGS)) for name in names
    ]
    result = admin.describe_configs(resources, config_filter="all")
    return {
        name: {key: str(entry["value"]) for key, entry in entries.items()}
        for name, entries in result.get("topic", {}).items()
    }


def _drift(state: TopicState, layout: TopicLayout) -> list[str]:
    drift = []
    if len(state.partitions) < layout.partitions:
        drift.append(f"partitions {len(state.partitions)} < {layout.partitions}")
    elif len(state.partitions) > layout.partitions:
        # Kafka cannot remove partitions; this is reported, never "fixed".
        drift.append(f"partitions {len(state.partitions)} > {layout.partitions} (cannot shrink)")
    if any(len(p.replicas) != layout.replication_factor for p in state.partitions):
        drift.append(
            f"replication factor {state.replication_factor} != {layout.replication_factor}"
        )
    for key, wanted in layout.configs.items():
        if state.configs.get(key) != wanted:
            drift.append(f"{key} {state.configs.get(key)} != {wanted}")
    return drift


def topics_alter(*, dry_run: bool = False) -> list[str]:
    """Bring existing topics to the layout; return the changes made (or to be made)."""
    layout = topic_layout()
    changes: list[str] = []
    with admin_client(timeout_ms=30_000) as admin:
        brokers = sorted(b["broker_id"] for b in admin.describe_cluster()["brokers"])
        if layout.replication_factor > len(brokers):
            raise ValueError(
                f"replication factor {layout.replication_factor} needs as many brokers; "
                f"the cluster has {len(brokers)}"
            )
        for state in topics_describe(admin=admin):
            if not state.exists:
                continue
            changes.extend(_alter_topic(admin, state, layout, brokers, dry_run=dry_run))
    return changes


def _alter_topic(
    admin: KafkaAdminClient,
    state: TopicState,
    layout: TopicLayout,
    brokers: list[int],
    *,
    dry_run: bool,
) -> list[str]:
    changes = []
    if len(state.partitions) < layout.partitions:
        changes.append(f"{state.name}: partitions {len(state.partitions)} -> {layout.partitions}")
        if not dry_run:
            admin.create_partitions({state.name: layout.partitions})
    config_updates = {
        key: wanted for key, wanted in layout.configs.items() if state.configs.get(key) != wanted
    }
    if config_updates:
        changes.extend(
            f"{state.name}: {key} {state.configs.get(key)} -> {value}"
            for key, value in config_updates.items()
        )
        if not dry_run:
            admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, state.name, config_updates)]
            )
    reassignments = _replica_reassignments(state, layout.replication_factor, brokers)
    if reassignments:
        changes.append(
            f"{state.name}: replication factor {state.replication_factor} -> "
            f"{layout.replication_factor} ({len(reassignments)} partitions reassigned)"
        )
        if not dry_run:
            admin.alter_partition_reassignments(reassignments)
    return changes


def _replica_reassignments(
    state: TopicState, replication_factor: int, brokers: list[int]
) -> dict[TopicPartition, list[int]]:
    """Return new replica lists: keep current replicas (leader first), add or drop the rest."""
    reassignments: dict[TopicPartition, list[int]] = {}
    for p in state.partitions:
        if len(p.replicas) == replication_factor:
            continue
        replicas = [r for r in p.replicas if r in brokers][:replication_factor]
        # Spread added replicas round-robin from the partition's index, so
        # partitions do not all land on the same broker.
        candidates = [brokers[(p.partition + i) % len(brokers)] for i in range(len(brokers))]
        for broker in candidates:
            if len(replicas) >= replication_factor:
                break
            if broker not in replicas:
                replicas.append(broker)
        reassignments[TopicPartition(state.name, p.partition)] = replicas
    return reassignments


def topics_summary(states: list[TopicState]) -> list[dict[str, Any]]:
    """Return the states as plain data, for JSON and the operations page."""
    return [
        {
            "name": s.name,
            "exists": s.exists,
            "partitions": len(s.partitions),
            "replication_factor": s.replication_factor,
            "under_replicated": sum(1 for p in s.partitions if p.under_replicated),
            "offline": sum(1 for p in s.partitions if p.leader < 0),
            "configs": s.configs,
            "drift": s.drift,
        }
        for s in states
    ]
