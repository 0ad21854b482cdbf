"""A generator process of the load benchmark: many WebSocket clients in one event loop.

The coordinator (``bench/load.py``) starts several of these and talks to each
over a pipe: ``connect`` opens its sockets (a session cookie each, like a
browser), ``run`` sends at a fixed rate and records what arrives, ``idle``
keeps the sockets open doing nothing but what a browser tab does, ``close``
ends.  Imports nothing of Django: it is a client.

Open loop: the i-th message of a run is due at ``start + offset + i / rate``
whatever the server does; its intended time travels inside its ``client_id``
(a UUID whose high 64 bits are that time in monotonic nanoseconds, the same
clock in every process of the machine), so every receiver measures the
latency from when it was meant to be sent, and a server that falls behind
cannot hide the queue.
"""

import asyncio
import json
import random
import time
import uuid
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

BODY = (
    "Load benchmark message: the quick brown fox jumps over the lazy dog while the "
    "consumer stores every word exactly once, in order, and pushes it to each member "
    "of the conversation through the channel layer. Padding to two hundred "
)[:200]
KEY_BITS = 48
KEY_MASK = (1 << 64) - 1
WINDOW_SECONDS = 10.0


@dataclass
class Socket:
    """One client socket: a logged-in user (one tab)."""

    user_id: int
    ws: Any
    focus: int | None
    seen: set[int] = field(default_factory=set)


@dataclass
class Run:
    """What one run has recorded so far in this process."""

    phase: int
    measure_from_ns: int
    start_ns: int
    sent: int = 0
    acked: dict[int, int] = field(default_factory=dict)  # key -> expected deliveries
    expected: dict[int, int] = field(default_factory=dict)  # key -> expected (acked or not)
    ack_latency: array = field(default_factory=lambda: array("d"))
    latency: array = field(default_factory=lambda: array("d"))
    windows: dict[int, array] = field(default_factory=dict)
    received: Counter = field(default_factory=Counter)  # key -> distinct recipients
    duplicates: int = 0
    other_phase: int = 0
    errors: Counter = field(default_factory=Counter)
    max_send_lag_ms: float = 0.0
    last_delivery: float = 0.0


class Generator:
    """The sockets of one process and what they record."""

    def __init__(self, conn: Connection, index: int, url: str, origin: str) -> None:
        self.conn = conn
        self.index = index
        self.url = url
        self.origin = origin
        # Positional (the coordinator addresses sockets by index); None: never opened.
        self.sockets: list[Socket | None] = []
        self.run: Run | None = None
        self.pongs = 0
        self.frames_in = 0
        self.readers: list[asyncio.Task[None]] = []
        self.keepalive: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        """Answer the coordinator's commands until ``close``."""
        loop = asyncio.get_running_loop()
        while True:
            command, args = await loop.run_in_executor(None, self.conn.recv)
            if command == "close":
                await self.close()
                self.conn.send(("closed", {}))
                return
            result = await getattr(self, command)(**args)
            self.conn.send((command, result))

    async def connect(
        self,
        clients: list[dict[str, Any]],
        concurrency: int = 50,
        keepalive: float = 0.0,
    ) -> dict[str, Any]:
        """Open a socket per client (user id, cookie or query, focus); start keepalives."""
        started = time.monotonic()
        limit = asyncio.Semaphore(concurrency)
        failures: Counter = Counter()

        async def open_one(client: dict[str, Any]) -> Socket | None:
            async with limit:
                headers = {"Cookie": f"sessionid={client['session']}"} if client["session"] else {}
                for attempt in range(5):
                    try:
                        ws = await websockets.connect(
                            client.get("url", self.url) + client.get("query", ""),
                            origin=client.get("origin", self.origin),
                            additional_headers=headers,
                            ping_interval=None,
                            compression=None,
                            max_queue=None,
                            open_timeout=60,
                        )
                        break
                    except Exception as exc:
                        # A browser retries too; the failure is counted either way.
                        failures[type(exc).__name__] += 1
                        await asyncio.sleep(1 + attempt)
                else:
                    return None
                socket = Socket(user_id=client["user_id"], ws=ws, focus=client.get("focus"))
                if socket.focus is not None:
                    await self._send(socket, {"type": "focus", "conversation": socket.focus})
                return socket

        self.sockets = list(await asyncio.gather(*(open_one(c) for c in clients)))
        self.readers = [asyncio.create_task(self._read(s)) for s in self.sockets if s]
        if keepalive > 0:
            self.keepalive = asyncio.create_task(self._keepalive(keepalive))
        return {
            "opened": sum(1 for s in self.sockets if s),
            "failed": dict(failures),
            "seconds": time.monotonic() - started,
        }

    async def run_phase(
        self,
        phase: int,
        start: float,
        offset: float,
        rate: float,
        duration: float,
        warmup: float,
        sends: list[tuple[int, int, int]],
        drain: float = 30.0,
        quiet: float = 3.0,
    ) -> dict[str, Any]:
        """Send ``rate``/s for ``duration`` s from ``start`` (monotonic); drain; report.

        ``sends`` cycles: (local socket index, conversation, expected deliveries).
        """
        self.run = run = Run(
            phase=phase,
            start_ns=int(start * 1e9),
            measure_from_ns=int((start + warmup) * 1e9),
        )
        for socket in self.sockets:
            if socket is not None:
                socket.seen.clear()
        total = int(duration * rate)
        interval = 1.0 / rate if rate else 0.0
        for i in range(total):
            intended = start + offset + i * interval
            delay = intended - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                run.max_send_lag_ms = max(run.max_send_lag_ms, -delay * 1000)
                await asyncio.sleep(0)
            local, conversation, expected = sends[i % len(sends)]
            socket = self.sockets[local]
            if socket is None:
                run.errors["not_connected"] += 1
                continue
            key = (phase << 56) | (self.index << KEY_BITS) | i
            client_id = uuid.UUID(int=(int(intended * 1e9) << 64) | key)
            run.expected[key] = expected
            run.sent += 1
            await self._send(
                socket,
                {
                    "type": "message.send",
                    "conversation": conversation,
                    "client_id": str(client_id),
                    "body": BODY,
                },
            )
        # Drain: until nothing has arrived for ``quiet`` seconds, at most ``drain``.
        ends = time.monotonic() + drain
        run.last_delivery = time.monotonic()
        while time.monotonic() < ends and time.monotonic() - run.last_delivery < quiet:
            await asyncio.sleep(0.2)
        self.run = None
        return {
            "sent": run.sent,
            "acked": run.acked,
            "expected": run.expected,
            "received": dict(run.received),
            "duplicates": run.duplicates,
            "other_phase": run.other_phase,
            "errors": dict(run.errors),
            "ack_latency": run.ack_latency.tobytes(),
            "latency": run.latency.tobytes(),
            "windows": {w: a.tobytes() for w, a in run.windows.items()},
            "max_send_lag_ms": run.max_send_lag_ms,
        }

    async def idle(self, seconds: float) -> dict[str, Any]:
        """Keep the sockets open for a while; report how many are still open."""
        pongs, frames = self.pongs, self.frames_in
        await asyncio.sleep(seconds)
        return {
            "open": sum(1 for s in self.sockets if s and s.ws.state.name == "OPEN"),
            "pongs": self.pongs - pongs,
            "frames": self.frames_in - frames,
        }

    async def keepalive_start(self, every: float) -> dict[str, Any]:
        """Start pinging (and repeating focus reports) every ``every`` seconds."""
        if self.keepalive is None:
            self.keepalive = asyncio.create_task(self._keepalive(every))
        return {}

    async def close(self) -> None:
        """Close every socket."""
        if self.keepalive is not None:
            self.keepalive.cancel()
        await asyncio.gather(*(s.ws.close() for s in self.sockets if s), return_exceptions=True)
        for reader in self.readers:
            reader.cancel()

    async def _keepalive(self, every: float) -> None:
        # What the web client did before its process kept it registered (and
        # other clients may do): a ping every ``every`` s and, if it shows a
        # conversation, a focus report; spread so they do not all come at once.
        await asyncio.sleep(random.uniform(0, every))
        sockets = [s for s in self.sockets if s is not None]
        # Spread over the open sockets only: each pings once per ``every``.
        gap = every / max(1, len(sockets))
        while True:
            for socket in sockets:
                await self._send(socket, {"type": "ping"})
                if socket.focus is not None:
                    await self._send(socket, {"type": "focus", "conversation": socket.focus})
                await asyncio.sleep(gap)

    async def _send(self, socket: Socket, frame: dict[str, Any]) -> None:
        try:
            await socket.ws.send(json.dumps(frame))
        except ConnectionClosed:
            if self.run is not None:
                self.run.errors["socket_closed"] += 1

    async def _read(self, socket: Socket) -> None:
        try:
            async for raw in socket.ws:
                now = time.monotonic_ns()
                self.frames_in += 1
                frame = json.loads(raw)
                kind = frame.get("type")
                run = self.run
                if kind == "pong":
                    self.pongs += 1
                if run is None:
                    continue
                if kind == "message.new":
                    message = frame["message"]
                    if message["sender"]["id"] == socket.user_id:
                        continue  # the sender's own copy
                    self._delivered(run, socket, uuid.UUID(message["client_id"]).int, now)
                elif kind == "message.ack":
                    value = uuid.UUID(frame["client_id"]).int
                    key = value & KEY_MASK
                    if key >> 56 == run.phase and key in run.expected:
                        run.acked[key] = run.expected[key]
                        if value >> 64 >= run.measure_from_ns:
                            run.ack_latency.append((now - (value >> 64)) / 1e6)
                elif kind == "error":
                    run.errors[frame.get("code", "?")] += 1
        except ConnectionClosed:
            if self.run is not None:
                self.run.errors["socket_closed"] += 1

    def _delivered(self, run: Run, socket: Socket, value: int, now: int) -> None:
        key = value & KEY_MASK
        if key >> 56 != run.phase:
            run.other_phase += 1
            return
        if key in socket.seen:
            run.duplicates += 1
            return
        socket.seen.add(key)
        run.received[key] += 1
        run.last_delivery = time.monotonic()
        intended = value >> 64
        if intended >= run.measure_from_ns:
            latency = (now - intended) / 1e6
            run.latency.append(latency)
            window = int((intended - run.start_ns) / 1e9 // WINDOW_SECONDS)
            run.windows.setdefault(window, array("d")).append(latency)


def worker_main(conn: Connection, index: int, url: str, origin: str) -> None:
    """Entry point of a generator process."""
    asyncio.run(Generator(conn, index, url, origin).serve())
