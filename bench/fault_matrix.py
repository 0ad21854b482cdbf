"""The fault matrix: inject each fault under a steady stream of real messages
and prove nothing is lost, duplicated or reordered.

Starts a stack of its own beside the shared services (never touching them):
a PostgreSQL cluster and a Redis on free ports, and through
``scripts/scale-out.sh`` three KRaft brokers (replication factor 3,
``min.insync.replicas=2``), two daphne and two ``run_kafka_consumers``
processes; state in ``var/<name>/``, logs in ``var/log/<name>-*.log``.
Logged-in people talk over real WebSockets, spread over both web processes;
their clients behave like ``static/js/chat.js``: on every (re)connect they
``sync`` from the last sequence they saw and resend what was never
acknowledged, with the same ``client_id``.  Each fault gets fresh
conversations; afterwards ``bench/fault_check.py`` compares the senders' ack
log with PostgreSQL and with what every member was shown.

Usage: ``python bench/fault_matrix.py [--messages 10000] [--rate 150]
[--faults consumer-kill,web-kill,...] [--json out.json] [--keep]``.
Documented in docs/fault-matrix.md.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fault_check import Sent, Shown, Stored, Verdict, check  # noqa: E402
from bench.load_servers import free_port  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
TOPIC_PREFIX = "faults."
MAX_POLL_INTERVAL_MS = 8_000
# How long brokers-down keeps two brokers of three away.
OUTAGE_SECONDS = 30
FAULTS = (
    "consumer-kill",
    "broker-kill",
    "broker-restart",
    "redis-restart",
    "postgres-restart",
    "web-kill",
    "consumer-stall",
    "poison",
    "brokers-down",
    "negative-control",
)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# ------------------------------------------------------------------ stack ---


class Stack:
    """The processes of one run: PostgreSQL, Redis, and scale-out.sh's layout."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = ROOT / "var" / name
        # The processes run a copy of the tree taken at the start: engineers
        # editing the shared tree mid-run would otherwise change the code a
        # restarted process runs (and its schema) between two faults.
        self.src = self.state / "src"
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.broker_ports = [free_port(also_free=100) for _ in range(3)]
        self.web_ports = [free_port() for _ in range(2)]
        self.redis: subprocess.Popen[bytes] | None = None
        self.broken: list[subprocess.Popen[bytes]] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "messenger.settings.local",
            "DEBUG": "0",
            "DATABASE_URL": f"postgres://messenger:messenger@127.0.0.1:{self.pg_port}/messenger",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "KAFKA_BOOTSTRAP_SERVERS": ",".join(f"127.0.0.1:{p}" for p in self.broker_ports),
            "KAFKA_TOPIC_PREFIX": TOPIC_PREFIX,
            "KAFKA_TOPIC_REPLICATION_FACTOR": "3",
            "KAFKA_TOPIC_MIN_INSYNC_REPLICAS": "2",
            # Short, so that a stalled consumer is stalled past it (consumer-stall).
            "KAFKA_MAX_POLL_INTERVAL_MS": str(MAX_POLL_INTERVAL_MS),
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "MESSAGE_RATE_LIMIT": "1000000",
            "LOG_TRACE_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "SCALE_NAME": name,
            "SCALE_BROKER_PORTS": ",".join(map(str, self.broker_ports)),
            "SCALE_WEB_PORTS": ",".join(map(str, self.web_ports)),
            "SCALE_SKIP_MIGRATE": "1",
            "KAFKA_HEAP_OPTS": "-Xms96m -Xmx384m",
            "SERVICES_TIMEOUT": "240",
        }

    # PostgreSQL runs as the postgres user when we are root (it refuses root),
    # like scripts/services.sh does.
    def _as_postgres(self, *cmd: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return list(cmd)

    @staticmethod
    def _pg_bin(tool: str) -> str:
        found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), key=lambda p: p.parts)
        if found:
            return str(found[-1])
        path = shutil.which(tool)
        if path is None:
            raise SystemExit(f"{tool} not found: run scripts/services.sh up (installs PostgreSQL)")
        return path

    @property
    def pg_data(self) -> Path:
        return self.state / "postgres"

    def pg_start(self) -> None:
        subprocess.run(
            self._as_postgres(
                self._pg_bin("pg_ctl"),
                "-D",
                str(self.pg_data),
                "-l",
                # Inside the data directory: the postgres user may write there.
                str(self.pg_data / "postgres.log"),
                "-w",
                "-t",
                "120",
                "start",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def pg_stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._as_postgres(
                self._pg_bin("pg_ctl"), "-D", str(self.pg_data), "-m", mode, "-w", "stop"
            ),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def pg_up(self) -> None:
        self.pg_data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.pg_data, "postgres", "postgres")
        subprocess.run(
            self._as_postgres(
                self._pg_bin("initdb"),
                "-D",
                str(self.pg_data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth=trust",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with (self.pg_data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.pg_port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.pg_data}'\nmax_connections = 200\n"
            )
        self.pg_start()
        psql = [self._pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres"]
        subprocess.run(
            [*psql, "-q", "-c", "CREATE ROLE messenger LOGIN CREATEDB PASSWORD 'messenger'"],
            check=True,
        )
        subprocess.run([*psql, "-q", "-c", "CREATE DATABASE messenger OWNER messenger"], check=True)

    def redis_start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise SystemExit("redis-server not found: run scripts/services.sh up (installs Redis)")
        (self.state / "redis").mkdir(parents=True, exist_ok=True)
        self.redis = subprocess.Popen(
            [server, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.state / "redis")],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def redis_stop(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(timeout=30)
            self.redis = None

    def scale(self, *args: str, timeout: float = 400) -> str:
        result = subprocess.run(
            [str(self.src / "scripts" / "scale-out.sh"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"scale-out.sh {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def pid(self, process: str) -> int:
        return int((self.src / "var" / "run" / f"{self.name}-{process}.pid").read_text())

    def snapshot(self) -> None:
        """Copy the tree's files (tracked or not ignored) into var/<name>/src."""
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for name in filter(None, files):
            source = ROOT / os.fsdecode(name)
            if source.is_file():
                target = self.src / os.fsdecode(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        (self.src / ".venv").symlink_to(ROOT / ".venv")
        (self.src / "var").mkdir()
        # The broker jars (resolved by scripts/services.sh) are shared.
        (ROOT / "var" / "kafka").mkdir(parents=True, exist_ok=True)
        (self.src / "var" / "kafka").symlink_to(ROOT / "var" / "kafka")
        (self.src / "var" / "log").symlink_to(ROOT / "var" / "log")

    def up(self) -> None:
        """Start everything; afterwards this process runs Django from the snapshot too."""
        (ROOT / "var" / "log").mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True)
        self.snapshot()
        self.pg_up()
        self.redis_start()
        os.environ.update(self.env)
        sys.path.insert(0, str(self.src))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.scale("up")

    def in_sync(self, timeout: float = 180) -> None:
        """Wait until every partition of every topic has all three replicas in sync."""
        from kafka.admin import KafkaAdminClient

        deadline = time.monotonic() + timeout
        while True:
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"].split(",")
                )
                try:
                    topics = admin.describe_topics()
                finally:
                    admin.close()
                if all(
                    len(p["isr_nodes"]) == 3 and p["leader_id"] >= 0
                    for t in topics
                    for p in t["partitions"]
                ):
                    return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replicas not in sync: {exc}") from exc
            if time.monotonic() > deadline:
                raise TimeoutError("replicas not in sync")
            time.sleep(1)

    def group_owned_by(self, members: int, timeout: float = 180) -> None:
        """Wait until the consumer group is stable with this many members owning partitions."""
        from kafka.admin import KafkaAdminClient

        deadline = time.monotonic() + timeout
        admin = KafkaAdminClient(bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"].split(","))
        try:
            while True:
                group = admin.describe_groups(["messenger"])["messenger"]
                owners = [
                    m
                    for m in group.get("members", [])
                    if (m.get("member_assignment") or {}).get("assigned_partitions")
                ]
                if group.get("group_state") == "Stable" and len(owners) == members:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the group did not settle on {members} members: {group}")
                time.sleep(0.5)
        finally:
            admin.close()

    def broken_start(self, count: int) -> None:
        env = {**self.env, "LOG_FORMAT": "json"}
        for n in range(count):
            out = (ROOT / "var" / "log" / f"{self.name}-broken{n + 1}.log").open("ab")
            self.broken.append(
                subprocess.Popen(
                    [PYTHON, str(self.src / "bench" / "fault_broken_consumer.py")],
                    cwd=self.src,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )

    def broken_stop(self) -> None:
        for process in self.broken:
            if process.poll() is None:
                process.terminate()
        for process in self.broken:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.broken.clear()

    def down(self, *, keep: bool) -> None:
        self.broken_stop()
        with contextlib.suppress(Exception):
            self.scale("down", timeout=200)
        self.redis_stop()
        self.pg_stop()
        if not keep:
            shutil.rmtree(self.state, ignore_errors=True)
            for path in (ROOT / "var" / "log").glob(f"{self.name}-*.log"):
                path.unlink()


# ----------------------------------------------------------------- people ---


@dataclass
class Pending:
    """A message its sender's client still shows as unsent."""

    conversation_id: int
    body: str
    failed_at: float | None = None


class Person:
    """One logged-in person's client: one socket, reconnecting, catching up, resending."""

    def __init__(self, user_id: int, cookie: str, ports: list[int], ledger: dict[str, Sent]):
        self.user_id = user_id
        self.cookie = cookie
        self.ports = ports
        self.port_index = 0
        self.ledger = ledger
        # Per conversation, the sequence up to which every message was shown:
        # a catch-up starts there.  Sequences shown beyond a gap wait in ``ahead``.
        self.last_sequence: dict[int, int] = {}
        self.ahead: dict[int, set[int]] = {}
        self.catching_up: set[int] = set()
        self.shown: list[Shown] = []
        self.shown_ids: set[int] = set()
        self.shown_clients: set[str] = set()
        self.pending: dict[str, Pending] = {}
        self.ws: Any = None
        self.connects = 0
        self.gap_catch_ups = 0  # catch-ups started by a sequence gap (a missed push)

    async def run(self) -> None:
        import websockets
        from websockets.typing import Origin

        while True:
            port = self.ports[self.port_index % len(self.ports)]
            try:
                ws = await websockets.connect(
                    f"ws://127.0.0.1:{port}/ws/",
                    origin=Origin(f"http://127.0.0.1:{port}"),
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=10,
                    close_timeout=2,
                    max_queue=None,
                )
            except (OSError, TimeoutError, websockets.WebSocketException):
                self.port_index += 1  # the load balancer tries the other web process
                await asyncio.sleep(0.2 + random.random() * 0.3)
                continue
            self.ws = ws
            self.connects += 1
            try:
                if self.last_sequence:
                    self.catching_up.update(self.last_sequence)
                    await self._send(
                        {
                            "type": "sync",
                            "conversations": {str(c): s for c, s in self.last_sequence.items()},
                        }
                    )
                for client_id in list(self.pending):
                    await self.transmit(client_id)
                async for raw in ws:
                    self._handle(json.loads(raw))
            except (OSError, websockets.WebSocketException):
                pass
            finally:
                self.ws = None
            await asyncio.sleep(0.1 + random.random() * 0.3)

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.ws is not None:
            await self.ws.send(json.dumps(frame))

    async def submit(self, conversation_id: int, body: str) -> str:
        client_id = str(uuid.uuid4())
        self.ledger[client_id] = Sent(
            client_id=client_id,
            sender_id=self.user_id,
            conversation_id=conversation_id,
            first_sent=time.monotonic(),
        )
        self.pending[client_id] = Pending(conversation_id, body)
        await self.transmit(client_id)
        return client_id

    async def transmit(self, client_id: str) -> None:
        entry = self.pending.get(client_id)
        ws = self.ws
        if entry is None or ws is None:
            return  # sent on the next connect
        record = self.ledger[client_id]
        record.attempts += 1
        record.last_sent = time.monotonic()
        entry.failed_at = None
        frame = {
            "type": "message.send",
            "conversation": entry.conversation_id,
            "client_id": client_id,
            "body": entry.body,
        }
        with contextlib.suppress(Exception):
            await ws.send(json.dumps(frame))

    async def retry_failed(self, *, after: float = 1.0, silent_after: float = 30.0) -> None:
        """Resend what got an error frame (after a second), or no answer at all for long."""
        now = time.monotonic()
        for client_id, entry in list(self.pending.items()):
            record = self.ledger[client_id]
            if (entry.failed_at is not None and now - entry.failed_at > after) or (
                entry.failed_at is None and now - record.last_sent > silent_after
            ):
                await self.transmit(client_id)

    def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        now = time.monotonic()
        if kind == "message.ack":
            client_id = frame["client_id"]
            record = self.ledger.get(client_id)
            if record is not None and record.acked_at is None:
                record.acked_at = now
            self.pending.pop(client_id, None)
        elif kind == "error":
            client_id = frame.get("client_id")
            if isinstance(client_id, str) and client_id in self.pending:
                self.pending[client_id].failed_at = now
                self.ledger[client_id].errors += 1
        elif kind == "message.new":
            message = frame["message"]
            conversation_id = message["conversation"]
            if conversation_id not in self.last_sequence or message["id"] in self.shown_ids:
                return  # another run's conversation, or a repeat: shown once
            self.shown_ids.add(message["id"])
            self.shown_clients.add(message["client_id"])
            self.shown.append(
                Shown(
                    message_id=message["id"],
                    conversation_id=conversation_id,
                    client_id=message["client_id"],
                    sequence=message["sequence"],
                    arrived_at=now,
                )
            )
            self._sequence_shown(conversation_id, message["sequence"])
        elif kind == "sync.done":
            conversation_id = frame["conversation"]
            if conversation_id not in self.last_sequence:
                return
            # The server sent every message it had up to last_sequence.
            self._sequence_shown(conversation_id, frame["last_sequence"], through=True)
            self.catching_up.discard(conversation_id)
            if frame.get("more"):
                self._catch_up(conversation_id)

    def _sequence_shown(
        self, conversation_id: int, sequence: int, *, through: bool = False
    ) -> None:
        """Move the conversation's catch-up point; a gap means a missed push: catch up."""
        last = self.last_sequence[conversation_id]
        ahead = self.ahead.setdefault(conversation_id, set())
        if through:
            last = max(last, sequence)
        elif sequence > last:
            ahead.add(sequence)
        while last + 1 in ahead:
            last += 1
        ahead -= {s for s in ahead if s <= last}
        self.last_sequence[conversation_id] = last
        if ahead and conversation_id not in self.catching_up:
            self.gap_catch_ups += 1
            self._catch_up(conversation_id)

    def _catch_up(self, conversation_id: int) -> None:
        self.catching_up.add(conversation_id)
        frame = {
            "type": "sync",
            "conversations": {str(conversation_id): self.last_sequence[conversation_id]},
        }
        task = asyncio.get_running_loop().create_task(self._send(frame))
        _background.add(task)
        task.add_done_callback(_background.discard)


_background: set["asyncio.Task[None]"] = set()


# ---------------------------------------------------------------- the run ---


def _fresh_connections() -> None:
    """Drop this thread's database connections: PostgreSQL may have restarted."""
    from django.db import connections

    connections.close_all()


# What a fault's phase returns: its client ids, notes for the table, and
# whether its own checks (beyond the checker's) passed.
Outcome = tuple[list[str], list[str], bool]


@dataclass
class Row:
    """One line of the table."""

    fault: str
    verdict: Verdict
    notes: list[str] = field(default_factory=list)
    passed: bool = True


class Matrix:
    """People, conversations and the phases of one run."""

    def __init__(self, stack: Stack, args: argparse.Namespace) -> None:
        self.stack = stack
        self.args = args
        self.people: dict[int, Person] = {}
        self.ledger: dict[str, Sent] = {}
        self.rows: list[Row] = []
        self.offered_rate = 0.0

    # -- data (the ORM runs in threads: the loop must not block) --

    def _people_create(self, count: int) -> list[tuple[int, str]]:
        from django.conf import settings
        from django.test import Client

        from accounts.models import User

        _fresh_connections()
        made = []
        for n in range(count):
            user = User.objects.create(username=f"fault{n}", display_name=f"Fault {n}")
            client = Client()
            client.force_login(user)
            made.append((user.pk, client.cookies[settings.SESSION_COOKIE_NAME].value))
        return made

    def _conversations_create(self, fault: str, count: int) -> dict[int, set[int]]:
        from conversations.models import Conversation, Membership

        _fresh_connections()
        ids = list(self.people)
        made: dict[int, set[int]] = {}
        for n in range(count):
            members = set(random.sample(ids, random.choice((2, 3, 4))))
            conversation = Conversation.objects.create(
                kind=Conversation.Kind.GROUP, title=f"{fault} {n}"
            )
            Membership.objects.bulk_create(
                Membership(user_id=uid, conversation=conversation) for uid in members
            )
            made[conversation.pk] = members
        return made

    @staticmethod
    def _stored(conversation_ids: list[int]) -> list[Stored]:
        from conversations.models import Message

        _fresh_connections()

        return [
            Stored(message_id=pk, conversation_id=c, sender_id=s, client_id=str(cid), sequence=q)
            for pk, c, s, cid, q in Message.objects.filter(
                conversation_id__in=conversation_ids
            ).values_list("pk", "conversation_id", "sender_id", "client_id", "sequence")
        ]

    # -- driving --

    async def start(self) -> None:
        made = await asyncio.to_thread(self._people_create, self.args.users)
        for n, (user_id, cookie) in enumerate(made):
            ports = list(self.stack.web_ports)
            if n % 2:
                ports.reverse()  # half the people start on each web process
            self.people[user_id] = Person(user_id, f"sessionid={cookie}", ports, self.ledger)
        self.tasks = [asyncio.create_task(p.run()) for p in self.people.values()]
        self.tasks.append(asyncio.create_task(self._retrier()))
        await self._until(
            lambda: all(p.ws is not None for p in self.people.values()), "everyone connected", 60
        )

    async def _retrier(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for person in self.people.values():
                await person.retry_failed()

    @staticmethod
    async def _until(predicate: Callable[[], bool], what: str, timeout: float) -> float:
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"timed out waiting for {what}")
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    async def traffic(
        self,
        fault: str,
        members: dict[int, set[int]],
        count: int,
        *,
        at: float = 0.3,
        inject: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> list[str]:
        """Send ``count`` messages at the configured rate; start ``inject`` at ``at`` of them."""
        pairs = [(uid, c) for c, uids in members.items() for uid in uids]
        sent: list[str] = []
        fault_task: asyncio.Task[None] | None = None
        started = time.monotonic()
        for n in range(count):
            if inject is not None and n == int(count * at):
                fault_task = asyncio.create_task(inject())
            delay = started + n / self.args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            user_id, conversation_id = random.choice(pairs)
            body = f"{fault} {n} " + "x" * 60
            sent.append(await self.people[user_id].submit(conversation_id, body))
        self.offered_rate = count / max(time.monotonic() - started, 1e-9)
        if fault_task is not None:
            await fault_task
        return sent

    async def settle(self, client_ids: list[str], members: dict[int, set[int]]) -> None:
        """Wait until every message is acknowledged and shown to every member, or
        nothing has moved for a while (then the checker reports what is missing)."""

        def missing() -> tuple[int, int]:
            unacked = undelivered = 0
            for client_id in client_ids:
                record = self.ledger[client_id]
                if record.acked_at is None:
                    unacked += 1
                    continue
                for uid in members[record.conversation_id]:
                    if client_id not in self.people[uid].shown_clients:
                        undelivered += 1
                        break
            return unacked, undelivered

        last, moved = missing(), time.monotonic()
        while last != (0, 0) and time.monotonic() - moved < self.args.quiet:
            await asyncio.sleep(0.5)
            now = missing()
            if now != last:
                last, moved = now, time.monotonic()
        if last != (0, 0):
            log(f"  settled with {last[0]} unacknowledged, {last[1]} not shown to everyone")

    async def phase(self, fault: str) -> None:
        log(f"fault {fault}: starting")
        members = await asyncio.to_thread(
            self._conversations_create, fault, self.args.conversations
        )
        for conversation_id, uids in members.items():
            for uid in uids:
                self.people[uid].last_sequence[conversation_id] = 0
        runner: Callable[[dict[int, set[int]]], Awaitable[Outcome]]
        runner = getattr(self, "fault_" + fault.replace("-", "_"))
        started = time.monotonic()
        gaps_before = sum(p.gap_catch_ups for p in self.people.values())
        client_ids, notes, passed = await runner(members)
        gaps = sum(p.gap_catch_ups for p in self.people.values()) - gaps_before
        if gaps:
            notes.append(f"{gaps} catch-ups after a missed push")
        rows = await asyncio.to_thread(self._stored, list(members))
        verdict = check(
            sent=[self.ledger[c] for c in client_ids],
            stored=rows,
            members=members,
            shown={uid: p.shown for uid, p in self.people.items()},
        )
        expected_loss = fault == "negative-control"
        passed = passed and (verdict.lost > 0 if expected_loss else verdict.clean)
        row = Row(fault=fault, verdict=verdict, notes=notes, passed=passed)
        self.rows.append(row)
        log(
            f"fault {fault}: {'PASS' if passed else 'FAIL'} in {time.monotonic() - started:.0f} s "
            f"{asdict(verdict)} {notes}"
        )
        await self.healthy()

    async def healthy(self) -> None:
        """Wait until every partition has its three replicas in sync again."""
        await asyncio.to_thread(self.stack.in_sync)

    # -- the faults: each returns (client ids, notes, passed-so-far) --

    async def _standard(
        self,
        fault: str,
        members: dict[int, set[int]],
        inject: Callable[[], Coroutine[Any, Any, None]],
    ) -> Outcome:
        sent = await self.traffic(fault, members, self.args.messages, inject=inject)
        await self.settle(sent, members)
        return sent, [f"sent at {self.offered_rate:.0f}/s"], True

    async def _scale(self, *args: str) -> None:
        await asyncio.to_thread(self.stack.scale, *args)

    async def fault_consumer_kill(self, members: dict[int, set[int]]) -> Outcome:
        async def inject() -> None:
            await self._scale("kill", "consumer1")
            await self._scale("start", "consumer1")

        return await self._standard("consumer-kill", members, inject)

    async def fault_broker_kill(self, members: dict[int, set[int]]) -> Outcome:
        async def inject() -> None:
            await self._scale("kill", "broker2")

        result = await self._standard("broker-kill", members, inject)
        await self._scale("start", "broker2")
        return result

    async def fault_broker_restart(self, members: dict[int, set[int]]) -> Outcome:
        async def inject() -> None:
            await self._scale("stop", "broker3")
            await self._scale("start", "broker3")

        return await self._standard("broker-restart", members, inject)

    async def fault_redis_restart(self, members: dict[int, set[int]]) -> Outcome:
        async def inject() -> None:
            await asyncio.to_thread(self.stack.redis_stop)
            await asyncio.sleep(2)
            await asyncio.to_thread(self.stack.redis_start)

        return await self._standard("redis-restart", members, inject)

    async def fault_postgres_restart(self, members: dict[int, set[int]]) -> Outcome:
        async def inject() -> None:
            # immediate: a crash (no checkpoint), then recovery from the WAL.
            await asyncio.to_thread(self.stack.pg_stop, "immediate")
            await asyncio.sleep(2)
            await asyncio.to_thread(self.stack.pg_start)

        return await self._standard("postgres-restart", members, inject)

    async def fault_web_kill(self, members: dict[int, set[int]]) -> Outcome:
        async def inject() -> None:
            await self._scale("kill", "web1")

        result = await self._standard("web-kill", members, inject)
        await self._scale("start", "web1")
        return result

    async def fault_consumer_stall(self, members: dict[int, set[int]]) -> Outcome:
        stalled = MAX_POLL_INTERVAL_MS / 1000 + 6

        async def inject() -> None:
            pid = self.stack.pid("consumer1")
            os.kill(pid, signal.SIGSTOP)
            await asyncio.sleep(stalled)
            os.kill(pid, signal.SIGCONT)

        sent, notes, passed = await self._standard("consumer-stall", members, inject)
        return sent, [*notes, f"consumer1 stopped {stalled:.0f} s"], passed

    async def fault_poison(self, members: dict[int, set[int]]) -> Outcome:
        poison: dict[str, tuple[int, int]] = {}

        async def inject() -> None:
            poison.update(await asyncio.to_thread(self._poison_write, list(members)))

        sent, notes, passed = await self._standard("poison", members, inject)
        found = await asyncio.to_thread(self._dead_letters, poison)
        moved = await asyncio.to_thread(self._committed_past, poison)
        for kind, reason in sorted(found.items()):
            notes.append(f"{kind}→DLQ ({reason[:50]})")
        missing = sorted(set(poison) - set(found))
        if missing:
            notes.append(f"not dead-lettered: {missing}")
        if not moved:
            notes.append("a poisoned partition's committed offset did not move past it")
        return sent, notes, passed and not missing and moved

    def _poison_write(self, conversation_ids: list[int]) -> dict[str, tuple[int, int]]:
        from kafka import KafkaProducer
        from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

        from messenger.kafka.events import Envelope, MessageSent, envelope_encode

        topic = f"{TOPIC_PREFIX}messages"
        bootstrap = self.stack.env["KAFKA_BOOTSTRAP_SERVERS"].split(",")
        # Kafka refuses records over 1 MB by default: let this topic take the
        # 2 MB one, so that it reaches the consumer.
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            admin.alter_configs(
                [
                    ConfigResource(
                        ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": "4194304"}
                    )
                ]
            )
        finally:
            admin.close()
        valid = envelope_encode(
            Envelope(
                payload=MessageSent(
                    conversation_id=10**12,
                    sender_id=next(iter(self.people)),
                    client_id=uuid.uuid4(),
                    body="to nowhere",
                )
            )
        )
        records = {
            "bad JSON": b'{"v": 1, "type": "message.sent", "payload": {',
            "unknown conversation": valid,
            "2 MB": b'{"v": 1, "type": "message.sent", "payload": {"body": "'
            + b"x" * (2 * 1024 * 1024)
            + b'"}}',
            "invalid UTF-8": b'{"v": 1, "type": "message.sent", "body": "\xff\xfe\xfa"}',
        }
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024
        )
        try:
            written = {}
            for n, (kind, value) in enumerate(records.items()):
                # Keyed like a live conversation: the poison sits in its partition.
                key = str(conversation_ids[n % len(conversation_ids)]).encode()
                meta = producer.send(topic, key=key, value=value).get(timeout=30)
                written[kind] = (meta.partition, meta.offset)
        finally:
            producer.close()
        return written

    def _dead_letters(self, poison: dict[str, tuple[int, int]]) -> dict[str, str]:
        from kafka import KafkaConsumer

        wanted = {v: k for k, v in poison.items()}
        consumer = KafkaConsumer(
            f"{TOPIC_PREFIX}dead-letter",
            bootstrap_servers=self.stack.env["KAFKA_BOOTSTRAP_SERVERS"].split(","),
            auto_offset_reset="earliest",
            consumer_timeout_ms=5000,
            fetch_max_bytes=8 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        found = {}
        try:
            for record in consumer:
                headers = {k: v.decode() for k, v in record.headers}
                key = (int(headers["original-partition"]), int(headers["original-offset"]))
                if key in wanted:
                    found[wanted[key]] = headers.get("reason", "")
        finally:
            consumer.close()
        return found

    def _committed_past(self, poison: dict[str, tuple[int, int]]) -> bool:
        from kafka import TopicPartition
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=self.stack.env["KAFKA_BOOTSTRAP_SERVERS"].split(",")
        )
        try:
            committed = admin.list_group_offsets("messenger")["messenger"]
        finally:
            admin.close()
        topic = f"{TOPIC_PREFIX}messages"
        return all(
            committed.get(TopicPartition(topic, partition)) is not None
            and committed[TopicPartition(topic, partition)].offset > offset
            for partition, offset in poison.values()
        )

    async def fault_brokers_down(self, members: dict[int, set[int]]) -> Outcome:
        """Two brokers of three down for a while: nothing may be acknowledged
        meanwhile; what was refused is resent and stored exactly once."""
        window: dict[str, float] = {}

        async def inject() -> None:
            await asyncio.gather(self._scale("kill", "broker2"), self._scale("kill", "broker3"))
            window["down"] = time.monotonic()
            await asyncio.sleep(OUTAGE_SECONDS)
            window["up"] = time.monotonic()
            await asyncio.gather(self._scale("start", "broker2"), self._scale("start", "broker3"))

        sent = await self.traffic("brokers-down", members, self.args.messages, inject=inject)
        await self.settle(sent, members)
        # Acks already on their way when the brokers died may land just after.
        down, up = window["down"] + 2, window["up"]
        during = [c for c in sent if down <= (self.ledger[c].acked_at or 0) <= up]
        refused = sum(1 for c in sent if self.ledger[c].errors)
        unacked = sum(1 for c in sent if self.ledger[c].acked_at is None)
        notes = [
            f"sent at {self.offered_rate:.0f}/s",
            f"{len(during)} acked while down ({up - window['down']:.0f} s)",
            f"{refused} refused and resent",
            f"{unacked} never acknowledged after the brokers came back",
        ]
        return sent, notes, not during and refused > 0 and not unacked

    async def fault_negative_control(self, members: dict[int, set[int]]) -> Outcome:
        """A consumer that commits before storing, killed mid-batch: must lose messages."""
        await asyncio.gather(self._scale("stop", "consumer1"), self._scale("stop", "consumer2"))
        await asyncio.to_thread(self.stack.broken_start, 2)
        await asyncio.to_thread(self.stack.group_owned_by, 2)
        log_path = ROOT / "var" / "log" / f"{self.stack.name}-broken1.log"

        async def inject() -> None:
            # Killed right after it committed a batch it has not stored yet;
            # then the real consumers take over the rest of the stream.
            seen = log_path.read_text().count("before storing them")
            await self._until(
                lambda: log_path.read_text().count("before storing them") > seen,
                "the broken consumer to commit a batch",
                60,
            )
            victim = self.stack.broken[0]
            victim.send_signal(signal.SIGKILL)
            await asyncio.to_thread(victim.wait)
            await asyncio.to_thread(self.stack.broken_stop)
            await asyncio.gather(
                self._scale("start", "consumer1"), self._scale("start", "consumer2")
            )

        sent = await self.traffic(
            "negative-control", members, self.args.messages, at=0.1, inject=inject
        )
        await self.settle(sent, members)
        return sent, ["consumers commit before storing (expected to lose)"], True

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for person in self.people.values():
            if person.ws is not None:
                with contextlib.suppress(Exception):
                    await person.ws.close()


# ------------------------------------------------------------------ table ---


def table(rows: list[Row]) -> str:
    """Render the matrix as a Markdown table."""
    head = (
        "| fault | sent | acknowledged | stored | delivered | lost | duplicated | reordered "
        "| phantom | recovery | result | notes |"
    )
    lines = [head, "|" + "---|" * 12]
    for row in rows:
        v = row.verdict
        recovery = "never" if v.recovery_seconds is None else f"{v.recovery_seconds:.1f} s"
        result = "PASS" if row.passed else "FAIL"
        if row.fault == "negative-control":
            result += " (loss detected)" if row.passed else " (loss NOT detected)"
        lines.append(
            f"| {row.fault} | {v.sent} | {v.acknowledged} | {v.stored} | {v.delivered} "
            f"| {v.lost} | {v.duplicated} | {v.reordered} | {v.phantom} | {recovery} "
            f"| {result} | {'; '.join(row.notes)} |"
        )
    return "\n".join(lines)


async def run(stack: Stack, args: argparse.Namespace) -> list[Row]:
    matrix = Matrix(stack, args)
    await matrix.start()
    try:
        await matrix.healthy()
        for fault in args.faults:
            await matrix.phase(fault)
    finally:
        await matrix.stop()
    return matrix.rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400, help="messages per fault")
    parser.add_argument("--rate", type=float, default=100, help="messages per second")
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--conversations", type=int, default=16, help="new ones per fault")
    parser.add_argument(
        "--faults",
        type=lambda s: [f for f in s.split(",") if f],
        default=list(FAULTS),
        help=f"comma-separated, in order (default all: {','.join(FAULTS)})",
    )
    parser.add_argument(
        "--quiet", type=float, default=30, help="seconds without progress before giving up"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep var/<name> and the logs")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults {sorted(unknown)}; known: {', '.join(FAULTS)}")
    random.seed(args.seed)
    # The checker reports what the brokers' absence did; kafka-python's own
    # connection errors (the admin and poison clients) would drown it.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    stack = Stack(f"faults-{uuid.uuid4().hex[:8]}")
    log(f"stack {stack.name}: PostgreSQL :{stack.pg_port}, Redis :{stack.redis_port}, "
        f"brokers {stack.broker_ports}, web {stack.web_ports}")  # fmt: skip
    started = time.monotonic()
    try:
        stack.up()
        log(f"stack up in {time.monotonic() - started:.0f} s")
        rows = asyncio.run(run(stack, args))
    finally:
        stack.down(keep=args.keep)
    print(table(rows))
    print(f"total {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {"fault": r.fault, "passed": r.passed, "notes": r.notes, **asdict(r.verdict)}
                    for r in rows
                ],
                indent=2,
            )
        )
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
