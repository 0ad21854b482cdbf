"""Liveness and readiness: is the process up, and can it reach what it needs?

Each check opens a fresh, short-lived connection with a short timeout, so a
probe reports the state of the service now, not of a pooled connection, and a
dead service makes the probe fail fast rather than hang.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connections
from kafka.admin import KafkaAdminClient


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one dependency check."""

    name: str
    ok: bool
    duration_ms: float
    error: str = ""


def postgres_check() -> None:
    """Run a trivial query on the default database."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def redis_check() -> None:
    """Ping Redis with a connection of its own."""
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        client.ping()
    finally:
        client.close()


def kafka_check() -> None:
    """Ask the cluster to describe itself; fail when no broker answers."""
    timeout_ms = int(settings.HEALTH_CHECK_TIMEOUT_SECONDS * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        client_id="messenger-health",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
    )
    try:
        cluster = admin.describe_cluster()
    finally:
        admin.close()
    if not cluster.get("brokers"):
        raise RuntimeError("the cluster reports no brokers")


CHECKS: dict[str, Callable[[], None]] = {
    "postgres": postgres_check,
    "redis": redis_check,
    "kafka": kafka_check,
}


def readiness_check() -> list[CheckResult]:
    """Run every dependency check and return their results, in a fixed order."""
    results = []
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:
            results.append(
                CheckResult(
                    name=name,
                    ok=False,
                    duration_ms=(time.monotonic() - started) * 1000,
                    error=_describe(exc),
                )
            )
        else:
            results.append(
                CheckResult(name=name, ok=True, duration_ms=(time.monotonic() - started) * 1000)
            )
    return results


def _describe(exc: BaseException) -> str:
    # Kafka's errors already start with their class name.
    text = str(exc)
    name = type(exc).__name__
    return (text if text.startswith(name) else f"{name}: {text}")[:300]
