"""The scaled-out layout on one machine, driven through scripts/scale-out.sh.

Three Kafka brokers (replication factor 3, min.insync.replicas=2), two daphne
processes and two consumer processes, all real.  Alice talks through one web
process and Bob through the other; one consumer process is stopped mid-stream
(the group rebalances), then one broker (traffic keeps flowing); nothing is
lost or stored twice, /metrics adds up every process, and one event id is
found in the JSON logs of the web and the consumer process that carried it.
"""

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from kafka.admin import KafkaAdminClient
from kafka.partitioner.default import murmur2

from bench.load_servers import free_port
from conversations.models import Conversation, Message
from tests.conftest import RUN_PREFIX, session_cookie
from tests.factories import DirectConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = str(settings.BASE_DIR / "scripts" / "scale-out.sh")
PARTITIONS = settings.KAFKA_TOPIC_PARTITIONS
TOKEN = "scale-test-token"


class Layout:
    """The processes of one scale-out run, started and stopped by the script."""

    def __init__(self) -> None:
        self.name = f"scale-test-{uuid.uuid4().hex[:8]}"
        self.broker_ports = [free_port(also_free=100) for _ in range(3)]
        self.web_ports = [free_port() for _ in range(2)]
        self.bootstrap = [f"127.0.0.1:{p}" for p in self.broker_ports]
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "SCALE_NAME": self.name,
            "SCALE_BROKER_PORTS": ",".join(map(str, self.broker_ports)),
            "SCALE_WEB_PORTS": ",".join(map(str, self.web_ports)),
            "SCALE_SKIP_MIGRATE": "1",
            "DJANGO_SETTINGS_MODULE": "messenger.settings.test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            ),
            "KAFKA_TOPIC_PREFIX": f"{RUN_PREFIX}-scale.",
            "METRICS_TOKEN": TOKEN,
            "KAFKA_HEAP_OPTS": "-Xms96m -Xmx384m",
            # Brokers start in ~10 s here, but a JVM on a busy machine is slow.
            "SERVICES_TIMEOUT": "240",
        }

    def run(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [SCRIPT, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"scale-out.sh {args}: {result.stdout}\n{result.stderr}"
        return result.stdout

    async def run_async(self, *args: str) -> str:
        return await asyncio.to_thread(self.run, *args)

    def log(self, process: str) -> list[dict[str, Any]]:
        path = settings.BASE_DIR / "var" / "log" / f"{self.name}-{process}.log"
        lines = []
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines

    def admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10_000)

    def cleanup(self) -> None:
        shutil.rmtree(settings.BASE_DIR / "var" / self.name, ignore_errors=True)
        for log in (settings.BASE_DIR / "var" / "log").glob(f"{self.name}-*.log"):
            log.unlink()


@pytest.fixture
def layout(transactional_db) -> Iterator[Layout]:
    layout = Layout()
    started = time.monotonic()
    try:
        layout.run("up")
        print(f"\nscale-out up in {time.monotonic() - started:.1f} s")
        yield layout
    finally:
        layout.run("down", timeout=120)
        layout.cleanup()


class Peer:
    """A person's socket on one web process, read continuously."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.sent: dict[str, float] = {}
        self.acks: dict[str, tuple[str, float]] = {}
        self.received: dict[int, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self.synced: list[dict[str, Any]] = []
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int, cookie: str) -> "Peer":
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": cookie},
        )
        return cls(ws)

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame["type"] == "message.ack":
                self.acks[frame["client_id"]] = (frame["event_id"], time.monotonic())
            elif frame["type"] == "message.new":
                self.received[frame["message"]["id"]] = frame["message"]
            elif frame["type"] == "error":
                self.errors.append(frame)
            elif frame["type"] == "sync.done":
                self.synced.append(frame)

    async def send(self, conversation: int, body: str) -> str:
        client_id = str(uuid.uuid4())
        self.sent[client_id] = time.monotonic()
        await self.ws.send(
            json.dumps(
                {
                    "type": "message.send",
                    "conversation": conversation,
                    "client_id": client_id,
                    "body": body,
                }
            )
        )
        return client_id

    def ack_ms(self, client_ids: list[str]) -> list[float]:
        return [(self.acks[c][1] - self.sent[c]) * 1000 for c in client_ids]

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


async def until(predicate: Callable[[], bool], what: str, timeout: float = 60) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def conversations_on_every_partition(alice, bob) -> list[Conversation]:
    """Create conversations until every partition of the messages topic has one."""
    chats: dict[int, Conversation] = {}
    while len(chats) < PARTITIONS:
        chat = DirectConversationFactory(members=[alice, bob])
        partition = (murmur2(str(chat.pk).encode()) & 0x7FFFFFFF) % PARTITIONS
        chats.setdefault(partition, chat)
    return list(chats.values())


def scrape(port: int) -> dict[str, str]:
    """Return the samples of a web process's /metrics, by name and labels."""
    text = subprocess.run(
        ["curl", "-s", "-H", f"Authorization: Bearer {TOKEN}", f"http://127.0.0.1:{port}/metrics"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def group_assignment(layout: Layout) -> dict[str, list[int]]:
    admin = layout.admin()
    try:
        group = admin.describe_groups([settings.KAFKA_CONSUMER_GROUP])[
            settings.KAFKA_CONSUMER_GROUP
        ]
    finally:
        admin.close()
    if group.get("group_state") != "Stable":
        return {}
    assignment = {}
    for member in group["members"]:
        partitions = []
        for assigned in (member.get("member_assignment") or {}).get("assigned_partitions", []):
            if assigned["topic"].endswith(".messages"):
                partitions.extend(assigned["partitions"])
        assignment[member["client_id"]] = sorted(partitions)
    return assignment


def stored_is_exact(chats: list[Conversation], expected: int) -> None:
    """Every conversation holds 1..n with no gap and no duplicate; n add up to expected."""
    total = 0
    for chat in chats:
        sequences = list(
            Message.objects.filter(conversation=chat)
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        assert sequences == list(range(1, len(sequences) + 1))
        total += len(sequences)
    assert total == expected
    assert Message.objects.values("sender", "client_id").distinct().count() == expected


# About a minute on an idle 2-core machine; the cluster's start and stop
# take longer when the machine is busy.
@pytest.mark.timeout(600)
async def test_two_web_two_consumers_three_brokers_survive_a_consumer_and_a_broker_stop(
    layout: Layout, alice, bob
) -> None:
    chats = await database_sync_to_async(conversations_on_every_partition)(alice, bob)
    ids = [c.pk for c in chats]
    alice_cookie = await database_sync_to_async(session_cookie)(alice)
    bob_cookie = await database_sync_to_async(session_cookie)(bob)
    web1, web2 = layout.web_ports
    await until(
        lambda: sorted(len(p) for p in group_assignment(layout).values()) == [1, 2],
        "both consumers to own partitions",
    )
    a = await Peer.connect(web1, alice_cookie)
    b = await Peer.connect(web2, bob_cookie)

    # 1. Across web processes, both ways, every partition and so both consumers.
    for n in range(30):
        await a.send(ids[n % len(ids)], f"a{n}")
        await b.send(ids[n % len(ids)], f"b{n}")
    waited = await until(lambda: len(b.received) == 60 and len(a.received) == 60, "phase 1")
    print(f"phase 1: 60 messages across web1/web2 delivered in {waited:.2f} s")

    def appliers() -> dict[str, int]:
        return {
            name: sum(
                1
                for line in layout.log(name)
                if line.get("message") == "event applied" and line["event_type"] == "message.sent"
            )
            for name in ("consumer1", "consumer2")
        }

    # Both processes did work (each owns partitions); their lines follow the push.
    await until(lambda: sum(appliers().values()) == 60, "the consumers' log lines", timeout=10)
    assert all(appliers().values()), appliers()

    # The metrics of every process add up on either web process.  Offsets
    # (and so the consumed counter) are committed just after the push.
    deadline = time.monotonic() + 30
    while True:
        samples = await asyncio.to_thread(scrape, web2)
        if float(samples.get('messenger_kafka_consumed_total{topic="messages"}', 0)) == 60:
            break
        assert time.monotonic() < deadline, samples
        await asyncio.sleep(0.2)
    assert float(samples["messenger_websockets_open"]) == 2  # one on each web process
    assert float(samples['messenger_kafka_produced_total{topic="messages"}']) == 60

    # 2. Stop one consumer process mid-stream: the group rebalances, nothing is lost.
    phase2 = []
    stopping = None
    for n in range(150):
        phase2.append(await a.send(ids[n % len(ids)], f"c{n}"))
        if n == 40:
            stopping = asyncio.create_task(layout.run_async("stop", "consumer1"))
        await asyncio.sleep(0.01)
    assert stopping is not None
    await stopping
    waited = await until(lambda: len(b.received) == 210, "phase 2 deliveries")
    print(
        f"phase 2: consumer1 stopped mid-stream; all 150 delivered {waited:.2f} s after the last send"
    )
    await until(lambda: list(group_assignment(layout).values()) == [[0, 1, 2]], "the rebalance")
    await database_sync_to_async(stored_is_exact)(chats, 210)

    # 3. Stop the broker that leads the most partitions while traffic flows.
    admin = layout.admin()
    try:
        topic = admin.describe_topics([f"{layout.env['KAFKA_TOPIC_PREFIX']}messages"])[0]
    finally:
        admin.close()
    leaders = [p["leader_id"] for p in topic["partitions"]]
    victim = max(set(leaders), key=leaders.count)
    # One message at a time (a socket handles its frames in order, so a
    # burst would measure the queue, not Kafka): each ack is Kafka's answer.
    phase3 = []
    stopping = None
    for n in range(150):
        client_id = await a.send(ids[n % len(ids)], f"d{n}")
        phase3.append(client_id)
        if n == 30:
            stopping = asyncio.create_task(layout.run_async("stop", f"broker{victim}"))
        await until(lambda c=client_id: c in a.acks or bool(a.errors), "an ack", timeout=30)
    assert stopping is not None
    await stopping
    waited = await until(lambda: len(b.received) == 360, "phase 3 deliveries")
    assert a.errors == []
    acks = a.ack_ms(phase3)
    print(
        f"phase 3: broker{victim} (leader of {leaders.count(victim)}/{len(leaders)} partitions) "
        f"stopped mid-stream; 150 messages one at a time, ack p50 {statistics.median(acks):.0f} ms, "
        f"p95 {statistics.quantiles(acks, n=20)[-1]:.0f} ms, max {max(acks):.0f} ms; "
        f"all delivered {waited:.2f} s after the last send"
    )
    after = []
    for n in range(30):
        after.append(await a.send(ids[n % len(ids)], f"e{n}"))
    await until(lambda: len(b.received) == 390, "deliveries with two brokers")
    assert a.errors == []
    await database_sync_to_async(stored_is_exact)(chats, 390)
    bodies = sorted(m["body"] for m in b.received.values() if m["sender"]["id"] == alice.pk)
    assert len(bodies) == len(set(bodies)) == 360

    # 4. One message's path in the JSON logs: accepted on web1, applied and
    # pushed by the consumer process that owns its partition now.
    event_id = a.acks[after[-1]][0]

    def path(process: str) -> list[dict[str, Any]]:
        return [line for line in layout.log(process) if line.get("event_id") == event_id]

    await until(lambda: len(path("consumer2")) == 2, "the consumer's trace lines", timeout=10)
    web_lines = path("web1")
    consumer_lines = path("consumer2")
    assert [line["message"] for line in web_lines] == ["message accepted"]
    # The push is not waited for: it may be logged after the batch is applied.
    assert sorted(line["message"] for line in consumer_lines) == ["event applied", "message pushed"]
    applied = next(line for line in consumer_lines if line["message"] == "event applied")
    assert web_lines[0]["offset"] == applied["offset"]

    await a.close()
    await b.close()
