"""Fixtures shared by the whole suite: real Kafka topics, consumers and sockets."""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client
from kafka.admin import KafkaAdminClient
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from bench.load_servers import free_port
from messenger.asgi import application
from messenger.kafka.admin import topics_ensure
from messenger.kafka.consumer import ConsumerRunner
from messenger.kafka.producer import producer_close
from messenger.kafka.topics import Topic
from tests.factories import UserFactory

RUN_PREFIX = f"test-{settings.TEST_RUN_ID}"


@pytest.fixture(scope="session", autouse=True)
def _run_topics() -> Iterator[None]:
    """Create the run's default topics (for events outside a test's own), and
    remove every topic this run created once the run is over."""
    topics_ensure()
    yield
    producer_close()
    admin = KafkaAdminClient(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS)
    try:
        mine = [name for name in admin.list_topics() if name.startswith(RUN_PREFIX)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


@pytest.fixture
def kafka_topics(settings: SettingsWrapper) -> str:
    """Give the test topics of its own (a fresh prefix), created on the real broker."""
    prefix = f"{RUN_PREFIX}-{uuid.uuid4().hex[:8]}."
    settings.KAFKA_TOPIC_PREFIX = prefix
    topics_ensure()
    return prefix


class RunningConsumer:
    """A real consumer runner polling in a thread of the test process."""

    def __init__(self, topics: list[Topic], group_id: str) -> None:
        self.runner = ConsumerRunner(topics=topics, group_id=group_id, poll_timeout_ms=100)
        self.thread = threading.Thread(target=self.runner.run, name="consumer-runner", daemon=True)

    def start(self) -> "RunningConsumer":
        self.thread.start()
        if not self.runner.assigned.wait(timeout=30):
            raise TimeoutError("the consumer was not assigned partitions within 30 s")
        return self

    def stop(self) -> None:
        self.runner.stop()
        self.thread.join(timeout=30)
        if self.thread.is_alive():
            raise TimeoutError("the consumer did not stop within 30 s")


@pytest.fixture
def start_consumer(kafka_topics: str, transactional_db: None) -> Iterator[Any]:
    """Start real consumer runners; each is stopped when the test ends."""
    started: list[RunningConsumer] = []

    def start(topics: list[Topic] | None = None, group_id: str | None = None) -> RunningConsumer:
        consumer = RunningConsumer(
            topics or [Topic.MESSAGES], group_id or f"{kafka_topics}group-{uuid.uuid4().hex[:6]}"
        )
        started.append(consumer.start())
        return consumer

    yield start
    for consumer in started:
        consumer.stop()


@pytest.fixture
def consumer(start_consumer: Any) -> RunningConsumer:
    """One real consumer runner for the ``messages`` topic."""
    return start_consumer()


def wait_until(condition: Callable[[], Any], *, timeout: float = 30) -> Any:
    """Poll a real condition (a database row, a Kafka-driven effect) until it holds.

    Synchronisation on the effect itself, never a fixed sleep; fails the
    test when the condition does not hold within the timeout.
    """
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        _deadline_check(deadline)
        time.sleep(0.02)
    return value


async def wait_until_async(condition: Callable[[], Any], *, timeout: float = 30) -> Any:
    """Poll a real condition, as ``wait_until`` does, letting the event loop run between."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        _deadline_check(deadline)
        await asyncio.sleep(0.02)
    return value


def _deadline_check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise AssertionError("condition not met in time")


def test_database_url() -> str:
    """Return a DATABASE_URL for the test database, for child processes."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def database_sessions() -> int:
    """Return how many sessions are connected to the test database, this one included.

    The suite's CONN_MAX_AGE is 0: every connection but the caller's own is
    closed after use (else the test database can't be dropped at the end).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])


def child_env(prefix: str, **extra: str) -> dict[str, str]:
    """Return the environment of a child process that shares this test's services.

    The venv's ``bin`` leads ``PATH``, so scripts that run ``python`` run this one.
    """
    return {
        **os.environ,
        "PATH": os.pathsep.join(
            [os.path.dirname(sys.executable), os.environ.get("PATH", os.defpath)]
        ),
        "DJANGO_SETTINGS_MODULE": "messenger.settings.test",
        "KAFKA_TOPIC_PREFIX": prefix,
        "DATABASE_URL": test_database_url(),
        **extra,
    }


@pytest.fixture
def daphne(kafka_topics: str, transactional_db: None) -> Iterator[str]:
    """Run the web process as the Procfile does, on a free port; yield host:port."""
    yield from web_process(kafka_topics)


def web_process(prefix: str, **extra: str) -> Iterator[str]:
    """Run ``scripts/web.sh`` (the Procfile's web process) on a free port; yield host:port."""
    port = free_port()
    process = subprocess.Popen(
        [str(settings.BASE_DIR / "scripts" / "web.sh")],
        cwd=settings.BASE_DIR,
        env=child_env(prefix, WEB_HOST="127.0.0.1", WEB_PORT=str(port), **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("daphne did not start") from None
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def session_cookie(user: User) -> str:
    """Log the user in and return the session cookie header value."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def socket_connect(
    user: User | None,
    *,
    origin: bytes = b"http://testserver",
    session_key: str | None = None,
) -> tuple[WebsocketCommunicator, bool, int | str | None]:
    """Open a socket through the full ASGI stack (origin check, session auth).

    With the user's fresh login session, or with the cookie of ``session_key``.
    """
    headers = [(b"origin", origin), (b"host", b"testserver")]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", cookie.encode()))
    elif session_key is not None:
        cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, code = await communicator.connect(timeout=10)
    return communicator, connected, code


async def receive_until(
    communicator: WebsocketCommunicator, frame_type: str, timeout: float = 15
) -> dict[str, Any]:
    """Return the next frame of the given type, skipping others."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] == frame_type:
            return frame


@pytest.fixture
def alice(db: None) -> User:
    return UserFactory(username="alice", display_name="Alice")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(username="bob", display_name="Bob")
