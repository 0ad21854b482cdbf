"""Topic management against the real broker: create, describe, alter."""

from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from kafka import TopicPartition

from messenger.kafka.admin import (
    PartitionState,
    TopicState,
    _replica_reassignments,
    topics_alter,
    topics_describe,
)
from messenger.kafka.topics import Topic, topic_name


def command(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("kafka_topics", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_created_topics_match_the_settings(kafka_topics, settings) -> None:
    states = {s.name: s for s in topics_describe()}
    messages = states[topic_name(Topic.MESSAGES)]
    assert messages.exists
    assert len(messages.partitions) == settings.KAFKA_TOPIC_PARTITIONS
    assert messages.configs == {
        "retention.ms": str(settings.KAFKA_TOPIC_RETENTION_MS),
        "min.insync.replicas": "1",
    }
    assert all(not s.drift for s in states.values())
    code, out = command("describe")
    assert code == 0
    assert f"{topic_name(Topic.MESSAGES)}: 3 partitions, replication factor 1" in out


def test_alter_adds_partitions_and_changes_retention_then_describe_agrees(
    kafka_topics, settings
) -> None:
    settings.KAFKA_TOPIC_PARTITIONS = 4
    settings.KAFKA_TOPIC_RETENTION_MS = 3_600_000
    code, out = command("describe")
    assert code == 3
    assert "differs from settings: partitions 3 < 4" in out

    assert "would change" in command("alter", "--dry-run")[1]
    assert command("describe")[0] == 3
    changes = topics_alter()
    assert f"{topic_name(Topic.MESSAGES)}: partitions 3 -> 4" in changes
    assert f"{topic_name(Topic.MESSAGES)}: retention.ms 604800000 -> 3600000" in changes

    code, out = command("describe", "--json")
    assert code == 0
    assert '"partitions": 4' in out
    assert topics_alter() == []


def test_a_replication_factor_above_the_broker_count_is_refused(kafka_topics, settings) -> None:
    settings.KAFKA_TOPIC_REPLICATION_FACTOR = 3
    settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS = 2
    with pytest.raises(CommandError, match="needs as many brokers"):
        command("alter")


def test_min_insync_above_the_replication_factor_is_refused(settings) -> None:
    settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS = 2
    with pytest.raises(ImproperlyConfigured):
        topics_describe()


def test_reassignment_keeps_the_current_replicas_and_spreads_new_ones() -> None:
    state = TopicState(
        name="t",
        exists=True,
        partitions=[
            PartitionState(partition=0, leader=1, replicas=[1], isr=[1]),
            PartitionState(partition=1, leader=2, replicas=[2], isr=[2]),
            PartitionState(partition=2, leader=3, replicas=[3, 1, 2], isr=[3, 1, 2]),
        ],
    )
    grown = _replica_reassignments(state, 3, [1, 2, 3])
    assert grown[TopicPartition("t", 0)][0] == 1
    assert sorted(grown[TopicPartition("t", 0)]) == [1, 2, 3]
    assert grown[TopicPartition("t", 1)][0] == 2
    assert TopicPartition("t", 2) not in grown
    shrunk = _replica_reassignments(state, 2, [1, 2, 3])
    assert shrunk[TopicPartition("t", 2)] == [3, 1]
