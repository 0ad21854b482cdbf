"""Measure a message's trip through the real processes and print the figures.

Starts its own daphne and ``run_kafka_consumers`` (with topics of its own on
the configured Kafka), logs two people in over real WebSockets, and measures:

* latency: one message at a time, send → ack (Kafka has it) and send →
  received by the other person (stored in PostgreSQL, pushed through Redis);
* throughput: a burst sent without waiting, until the other person has all.

Usage: ``python benchmarks/message_latency.py [--messages 300] [--burst 2000]``
(``make bench``).  Needs the services of ``scripts/services.sh up``.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings.local")
RUN = uuid.uuid4().hex[:8]
os.environ["KAFKA_TOPIC_PREFIX"] = f"bench-{RUN}."

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from kafka.admin import KafkaAdminClient  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.load_servers import free_port  # noqa: E402
from conversations.services import conversation_direct_get_or_create  # noqa: E402


def person(username: str) -> tuple[User, str]:
    user, _ = User.objects.get_or_create(username=username, defaults={"display_name": username})
    client = Client()
    client.force_login(user)
    return user, client.cookies[settings.SESSION_COOKIE_NAME].value


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<22} n={len(values):<5} p50={percentile(values, 50):7.2f} ms  "
        f"p95={percentile(values, 95):7.2f} ms  p99={percentile(values, 99):7.2f} ms  "
        f"max={max(values):7.2f} ms  mean={statistics.fmean(values):7.2f} ms"
    )


async def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


async def next_of(ws, frame_type: str, client_id: str | None = None) -> dict:
    """Return the next frame of this type (and client id, if given)."""
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "error":
            raise RuntimeError(frame)
        if frame["type"] != frame_type:
            continue
        found = frame.get("client_id") or frame.get("message", {}).get("client_id")
        if client_id is None or found == client_id:
            return frame


async def measure(port: int, conversation_id: int, cookies: tuple[str, str], args) -> None:
    url = f"ws://127.0.0.1:{port}/ws/"
    origin = f"http://127.0.0.1:{port}"
    a_cookie, b_cookie = cookies
    async with (
        websockets.connect(
            url, origin=origin, additional_headers={"Cookie": f"sessionid={a_cookie}"}
        ) as a,
        websockets.connect(
            url, origin=origin, additional_headers={"Cookie": f"sessionid={b_cookie}"}
        ) as b,
    ):
        # Warm up the producer, the consumer's assignment and the push path.
        for _ in range(5):
            await a.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "conversation": conversation_id,
                        "client_id": str(uuid.uuid4()),
                        "body": "warm-up",
                    }
                )
            )
            await next_of(b, "message.new")
        acks, receives = [], []
        for n in range(args.messages):
            client_id = str(uuid.uuid4())
            started = time.perf_counter()
            await a.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "conversation": conversation_id,
                        "client_id": client_id,
                        "body": f"latency {n}",
                    }
                )
            )
            await next_of(a, "message.ack", client_id)
            acks.append((time.perf_counter() - started) * 1000)
            await next_of(b, "message.new", client_id)
            receives.append((time.perf_counter() - started) * 1000)
        print(summary("send → ack", acks))
        print(summary("send → received", receives))

        started = time.perf_counter()
        ids = [str(uuid.uuid4()) for _ in range(args.burst)]

        async def sender() -> None:
            for client_id in ids:
                await a.send(
                    json.dumps(
                        {
                            "type": "message.send",
                            "conversation": conversation_id,
                            "client_id": client_id,
                            "body": "burst",
                        }
                    )
                )

        async def receiver() -> float:
            wanted, seen = set(ids), set()
            while seen != wanted:
                frame = json.loads(await b.recv())
                if frame["type"] == "message.new" and frame["message"]["client_id"] in wanted:
                    seen.add(frame["message"]["client_id"])
            return time.perf_counter() - started

        _, elapsed = await asyncio.gather(sender(), asyncio.wait_for(receiver(), 300))
        print(
            f"burst of {args.burst}: all received in {elapsed:.2f} s = {args.burst / elapsed:.0f} messages/s end to end"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    call_command("ensure_kafka_topics", verbosity=0)
    alice, a_cookie = person(f"bench-a-{RUN}")
    bob, b_cookie = person(f"bench-b-{RUN}")
    conversation = conversation_direct_get_or_create(user=alice, other=bob)

    port = free_port()
    env = {"MESSAGE_RATE_LIMIT": "1000000", "LOG_LEVEL": "WARNING", **os.environ}
    consumer_log = open(os.environ.get("BENCH_CONSUMER_LOG", os.devnull), "w")  # noqa: SIM115
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "messenger.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "manage.py", "run_kafka_consumers", "--group", f"bench-{RUN}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=consumer_log,
        ),
    ]
    try:
        asyncio.run(wait_port(port))
        print(f"channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']}")
        asyncio.run(measure(port, conversation.pk, (a_cookie, b_cookie), args))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        consumer_log.close()
        admin = KafkaAdminClient(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS)
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"bench-{RUN}.")])
        admin.close()


if __name__ == "__main__":
    main()
