"""Create the application's topics with the configured layout."""

import logging

from django.conf import settings
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from messenger.kafka.topics import TOPICS, topic_name

logger = logging.getLogger(__name__)


def topics_ensure() -> list[str]:
    """Create every registered topic that does not exist yet; return the ones created."""
    admin = KafkaAdminClient(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS, client_id="messenger-admin"
    )
    try:
        existing = set(admin.list_topics())
        replication = settings.KAFKA_TOPIC_REPLICATION_FACTOR
        configs = {"retention.ms": str(settings.KAFKA_TOPIC_RETENTION_MS)}
        if replication > 1:
            # With one replica down, writes with acks=all still succeed; with
            # two down they stop rather than risk a lost message.
            configs["min.insync.replicas"] = str(min(2, replication))
        wanted = [
            NewTopic(
                name=topic_name(topic),
                num_partitions=settings.KAFKA_TOPIC_PARTITIONS,
                replication_factor=replication,
                topic_configs=configs,
            )
            for topic in TOPICS
            if topic_name(topic) not in existing
        ]
        created: list[str] = []
        for new_topic in wanted:
            try:
                admin.create_topics([new_topic], wait_for_metadata=True)
            except TopicAlreadyExistsError:
                continue
            created.append(new_topic.name)
            logger.info("created topic %s", new_topic.name)
        return created
    finally:
        admin.close()
