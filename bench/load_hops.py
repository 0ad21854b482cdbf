"""The floor of each hop of a message's path, measured alone on the same machine.

* Kafka: produce one record with the app's producer settings (``acks=all``,
  idempotent) and time until a consumer with the app's consumer settings
  (``read_committed``) has it — one at a time.
* PostgreSQL: one INSERT and COMMIT with ``synchronous_commit = on`` (the
  commit waits for the WAL flush), and a bare ``SELECT 1`` round trip.
* Redis: a PING round trip, and a PUBLISH until a subscriber has it (the
  channel layer's pub/sub hop).
"""

import time
import uuid
from typing import Any


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def kafka_floor(samples: int, prefix: str) -> list[float]:
    """Time produce (acks=all) → consumed, one record at a time."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic

    from messenger.kafka.consumer import consumer_config
    from messenger.kafka.producer import producer_config

    topic = f"{prefix}hops"
    config = producer_config()
    admin = KafkaAdminClient(bootstrap_servers=config["bootstrap_servers"])
    admin.create_topics([NewTopic(topic, 1, 1)])
    producer = KafkaProducer(**{**config, "key_serializer": None})
    consumer_settings = consumer_config(f"{prefix}hops")
    consumer_settings.pop("group_id")
    consumer = KafkaConsumer(**{**consumer_settings, "group_id": None})
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    try:
        # Wait for the topic's leader, and warm both clients up.
        producer.send(topic, b"warm-up").get(timeout=30)
        consumer.seek_to_end(partition)
        consumer.position(partition)
        times = []
        for n in range(samples + 10):
            payload = f"{n}:{uuid.uuid4()}".encode()
            started = time.perf_counter()
            producer.send(topic, payload)
            found = False
            while not found:
                for records in consumer.poll(timeout_ms=1000).values():
                    found = found or any(r.value == payload for r in records)
            if n >= 10:
                times.append(_ms(started))
        return times
    finally:
        producer.close()
        consumer.close()
        admin.delete_topics([topic])
        admin.close()


def postgres_floor(samples: int, url: str) -> dict[str, list[float]]:
    """Time INSERT + COMMIT (synchronous commit) and a SELECT 1 round trip."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = on")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS load_hop (id bigserial PRIMARY KEY, body text NOT NULL)"
        )
        conn.commit()
        commits, selects = [], []
        for n in range(samples + 10):
            started = time.perf_counter()
            conn.execute("INSERT INTO load_hop (body) VALUES (%s)", ["x" * 200])
            conn.commit()
            if n >= 10:
                commits.append(_ms(started))
            started = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            if n >= 10:
                selects.append(_ms(started))
        conn.execute("TRUNCATE load_hop")
        conn.commit()
    return {"commit": commits, "select": selects}


def redis_floor(samples: int, url: str) -> dict[str, list[float]]:
    """Time a PING round trip and PUBLISH → a subscriber has it."""
    import redis

    client = redis.Redis.from_url(url)
    pings = []
    for n in range(samples + 10):
        started = time.perf_counter()
        client.ping()
        if n >= 10:
            pings.append(_ms(started))
    channel = f"load-hop-{uuid.uuid4().hex}"
    pubsub = client.pubsub()
    pubsub.subscribe(channel)
    pubsub.get_message(timeout=5)  # the subscribe confirmation
    published = []
    for n in range(samples + 10):
        started = time.perf_counter()
        client.publish(channel, b"x" * 200)
        message: Any = None
        while message is None or message["type"] != "message":
            message = pubsub.get_message(timeout=5)
        if n >= 10:
            published.append(_ms(started))
    pubsub.close()
    client.close()
    return {"ping": pings, "publish": published}
