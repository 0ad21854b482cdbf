"""Load benchmark: many real WebSocket clients against daphne, Kafka and the consumers.

Usage (``make bench-load``; the services of ``scripts/services.sh up``)::

    python bench/load.py                       # the full run (about 30 minutes)
    python bench/load.py --quick               # short phases, for development
    python bench/load.py --scenarios rate10,rate500 --duration 30

Logged-in users (a real Django session each, in a database of the benchmark's
own, ``messenger_bench_load``) open sockets from several generator processes
(``bench/load_clients.py``) and send 200-character messages at a fixed rate
(open loop: latency is measured from each message's intended send time),
after a warm-up that is left out.  Each scenario runs twice with the same
clients: against a plain Channels group broadcast with no Kafka and no
database (``bench/load_baseline.py``), then against the app (daphne, one
``run_kafka_consumers``, Kafka with ``acks=all``, PostgreSQL with synchronous
commit).  Printed per phase: latency p50/p95/p99 (send → every other
member's socket), acknowledgements, throughput, lost and duplicated
deliveries, and the CPU (% of one core) and peak memory of daphne, the
consumer, Kafka, PostgreSQL, Redis and the generator.  Results also go to
``var/bench/load-<run>.json``.  See docs/load-benchmark.md.
"""

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load_servers  # noqa: E402
from bench.load_clients import worker_main  # noqa: E402

RUN = uuid.uuid4().hex[:8]
APPLICATIONS = {"app": "messenger.asgi:application", "baseline": "bench.load_baseline:application"}
# The topics run_kafka_consumers consumes, for --consumer-per-topic.
CONSUMED_TOPICS = ("messages", "notifications", "activity")
SCENARIOS = ["hops", "rate10", "rate500", "sustained", "groups", "idle", "growth"]
TARGETS = {
    "rate10": "p50 <= 8 ms, p99 <= 25 ms",
    "rate500": "p50 <= 12 ms, p99 <= 50 ms",
    "sustained": "1,000/s for 10 min, flat lag, nothing lost",
    "groups": "3,000 deliveries/s",
}


def percentile(values: Any, p: float) -> float:
    """Return the p-th percentile (nearest rank) of the values, or nan."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Generators:
    """The generator processes and the pipes to them."""

    def __init__(self, count: int, url: str, origin: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.conns = []
        self.procs = []
        for index in range(count):
            parent, child = context.Pipe()
            proc = context.Process(
                target=worker_main, args=(child, index, url, origin), daemon=True
            )
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        """Return the generator processes' ids."""
        return [p.pid for p in self.procs if p.pid is not None]

    def call(self, command: str, args: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send a command to every generator (its own arguments each); gather the answers."""
        for conn, kwargs in zip(self.conns, args, strict=True):
            conn.send((command, kwargs))
        return [conn.recv()[1] for conn in self.conns]

    def close(self) -> None:
        """Close the sockets and end the processes."""
        self.call("close", [{} for _ in self.conns])
        for proc in self.procs:
            proc.join(timeout=30)


@dataclass
class Phase:
    """One measured phase: a load against one server."""

    scenario: str
    server: str  # "baseline" or "app"
    rate: float
    duration: float
    warmup: float
    sent: int = 0
    acked: int = 0
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    unacked_delivered: int = 0
    duplicates: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    ack_latency: dict[str, float] = field(default_factory=dict)
    deliveries_per_second: float = 0.0
    windows: list[dict[str, float]] = field(default_factory=list)
    lag: list[tuple[float, int]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core
    rss_mib: dict[str, float] = field(default_factory=dict)
    server_cpu_ms_per_message: float = 0.0
    max_send_lag_ms: float = 0.0
    connect_seconds: float = 0.0
    sockets: int = 0
    note: str = ""

    def line(self) -> str:
        """Return the phase's figures as a few printable lines."""
        lat = self.latency
        out = [
            f"  {self.server:<8} {self.rate:7.0f} msg/s x {self.duration:.0f} s, {self.sockets} sockets: "
            f"sent {self.sent}, acked {self.acked}, deliveries {self.delivered}/{self.expected} "
            f"({self.deliveries_per_second:.0f}/s), lost {self.lost}, duplicated {self.duplicates}"
            + (f", errors {self.errors}" if self.errors else ""),
            f"           latency ms p50 {lat.get('p50', 0):7.2f}  p95 {lat.get('p95', 0):7.2f}  "
            f"p99 {lat.get('p99', 0):7.2f}  max {lat.get('max', 0):7.2f}   "
            f"(ack p50 {self.ack_latency.get('p50', 0):.2f}, p99 {self.ack_latency.get('p99', 0):.2f}; "
            f"generator late by up to {self.max_send_lag_ms:.0f} ms)",
            "           CPU % of a core: "
            + ", ".join(f"{k} {v:.0f}" for k, v in self.cpu.items())
            + f"; server CPU {self.server_cpu_ms_per_message:.2f} ms/message",
            "           peak RSS MiB: "
            + ", ".join(f"{k} {v:.0f}" for k, v in self.rss_mib.items()),
        ]
        if self.lag:
            lags = [lag for _, lag in self.lag]
            out.append(
                f"           consumer lag ({len(lags)} samples, every 5 s): "
                f"first {lags[0]}, max {max(lags)}, last {lags[-1]}"
            )
        if self.note:
            out.append(f"           {self.note}")
        return "\n".join(out)


class LagMonitor:
    """Sample the consumer group's lag on the messages topic every few seconds."""

    def __init__(self, group: str, topic: str, every: float = 5.0) -> None:
        self.group, self.topic, self.every = group, topic, every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sampling in a thread."""
        from django.conf import settings
        from kafka.admin import KafkaAdminClient

        self.samples = []
        self._stop.clear()
        self.admin = KafkaAdminClient(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS)
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> list[tuple[float, int]]:
        """Stop; return (seconds since start, lag) samples."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.admin.close()
        return self.samples

    def _loop(self) -> None:
        from messenger.operations import consumer_lag

        while not self._stop.wait(self.every):
            try:
                # The operations page's reading: committed offset against each
                # partition's end, a partition never committed behind by all of it.
                rows = consumer_lag(admin=self.admin, group=self.group, topics=[self.topic])
                sample = (round(time.monotonic() - self.started, 1), sum(r["lag"] for r in rows))
                self.samples.append(sample)
                print(f"           lag at {sample[0]:5.1f} s: {sample[1]}", flush=True)
            except Exception as exc:  # a sample missed is not a reason to stop the run
                print(f"lag sample failed: {exc!r}", file=sys.stderr, flush=True)


class Bench:
    """Runs the scenarios and prints and records their figures."""

    def __init__(self, args: argparse.Namespace, world: Any, sessions: list[str]) -> None:
        self.args = args
        self.world = world
        self.sessions = sessions
        self.log = ROOT / "var" / "log" / f"bench-load-{RUN}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "MESSAGE_RATE_LIMIT": "1000000000",
            # BENCH_LOG_LEVEL=INFO logs every consumer batch (topic, size, time).
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "LOG_TRACE_LEVEL": "WARNING",
            "DEBUG": "0",
        }
        self.phases: list[Phase] = []
        self.extra: dict[str, Any] = {}
        self.group = f"load-{RUN}"
        # Web processes per server: clients are spread over them as a load
        # balancer would; pushes cross between them through the channel layer.
        webs = max(1, args.web_processes)
        self.ports = {
            "app": [load_servers.free_port() for _ in range(webs)],
            "baseline": [load_servers.free_port() for _ in range(webs)],
        }
        self.app_port = self.ports["app"][0]
        self.procs: dict[str, subprocess.Popen] = {}
        from django.db import connection

        self.database = connection.settings_dict["NAME"]

    # -- servers ---------------------------------------------------------
    def start(self) -> None:
        """Start the app's daphne and consumer and the baseline's daphne."""
        # Several consumer processes share the topics' partitions as one group.
        for n in range(max(1, self.args.consumers)):
            if self.args.consumer_per_topic:
                for topic in CONSUMED_TOPICS:
                    self.procs[f"consumer{n}-{topic}"] = load_servers.consumer_start(
                        self.group, self.env, self.log, topics=[topic]
                    )
            else:
                self.procs[f"consumer{n}"] = load_servers.consumer_start(
                    self.group, self.env, self.log
                )
        for server, application in APPLICATIONS.items():
            for n, port in enumerate(self.ports[server]):
                self.procs[f"{server}-web{n}"] = load_servers.daphne_start(
                    application, port, self.env, self.log
                )

    def stop(self) -> None:
        """Stop every server process the benchmark started."""
        load_servers.stop(list(self.procs.values()))

    def restart_daphne(self) -> None:
        """Replace the app's daphne with a fresh process (the idle scenario's memory)."""
        load_servers.stop([self.procs["app-web0"]])
        self.procs["app-web0"] = load_servers.daphne_start(
            APPLICATIONS["app"], self.app_port, self.env, self.log
        )

    # -- phases ----------------------------------------------------------
    def clients(
        self, users: list[int], focus: dict[int, int], conversations: dict[int, list[int]]
    ) -> list[dict[str, Any]]:
        """Describe the sockets of these users (indexes into the world)."""
        result = []
        for u in users:
            uid = self.world.user_ids[u]
            convs = ",".join(str(c) for c in conversations.get(u, []))
            result.append(
                {
                    "index": u,
                    "user_id": uid,
                    "session": self.sessions[u],
                    "focus": focus.get(u),
                    "query": f"?user={uid}&conversations={convs}",
                }
            )
        return result

    def phase(
        self,
        scenario: str,
        server: str,
        clients: list[dict[str, Any]],
        sends: list[tuple[int, int, int]],
        rate: float,
        duration: float,
        warmup: float | None = None,
        lag: bool = False,
    ) -> Phase:
        """Connect the clients, send ``rate``/s for ``duration`` s, and measure.

        ``sends`` cycles: (sender's user index, conversation, expected deliveries).
        """
        warmup = self.args.warmup if warmup is None else warmup
        ports = self.ports[server]
        workers = self.args.generators
        generators = Generators(
            workers, f"ws://127.0.0.1:{ports[0]}/ws/", f"http://127.0.0.1:{ports[0]}"
        )
        try:
            per_worker: list[list[dict[str, Any]]] = [[] for _ in range(workers)]
            local: dict[int, tuple[int, int]] = {}
            for n, client in enumerate(clients):
                w = n % workers
                local[client["index"]] = (w, len(per_worker[w]))
                client = {**client, "query": ""} if server == "app" else {**client, "session": ""}
                port = ports[n % len(ports)]
                client["url"] = f"ws://127.0.0.1:{port}/ws/"
                client["origin"] = f"http://127.0.0.1:{port}"
                per_worker[w].append(client)
            connected = generators.call(
                "connect",
                [
                    {"clients": c, "keepalive": self.args.keepalive, "concurrency": 50}
                    for c in per_worker
                ],
            )
            opened = sum(c["opened"] for c in connected)
            failed: Counter = Counter()
            for c in connected:
                failed.update(c["failed"])
            if failed:
                print(f"  {server}: {sum(failed.values())} sockets failed to open: {dict(failed)}")
            work: list[list[tuple[int, int, int]]] = [[] for _ in range(workers)]
            for user, conversation, expected in sends:
                w, i = local[user]
                work[w].append((i, conversation, expected))
            busy = [w for w in range(workers) if work[w]]
            time.sleep(2)  # let focus reports and the joins settle
            start = time.monotonic() + 1.0
            sampler = self.sampler(server, generators.pids)
            monitor = None
            if lag:
                from messenger.kafka.topics import Topic, topic_name

                monitor = LagMonitor(self.group, topic_name(Topic.MESSAGES))
                monitor.start()
            sampler.start()
            results = generators.call(
                "run_phase",
                [
                    {
                        "phase": len(self.phases) + 1,
                        "start": start,
                        "offset": busy.index(w) / rate if w in busy else 0.0,
                        "rate": rate / len(busy) if w in busy else 0.0,
                        "duration": duration if w in busy else 0.0,
                        "warmup": warmup,
                        "sends": work[w] or [(0, 0, 0)],
                    }
                    for w in range(workers)
                ],
            )
            usage = sampler.stop()
            lag_samples = monitor.stop() if monitor else []
        finally:
            generators.close()
        result = self.summarise(scenario, server, rate, duration, warmup, results, usage, sampler)
        result.sockets = opened
        result.connect_seconds = max(c["seconds"] for c in connected)
        result.lag = lag_samples
        self.phases.append(result)
        print(result.line(), flush=True)
        return result

    def sampler(
        self, server: str, generator_pids: list[int], *, only_first_web: bool = False
    ) -> load_servers.Sampler:
        """Return a sampler of every process that takes part in a phase."""
        webs = 1 if only_first_web else len(self.ports[server])
        groups = {
            "daphne": load_servers.pids([self.procs[f"{server}-web{n}"].pid for n in range(webs)]),
        }
        if server == "app":
            groups["consumer"] = load_servers.pids(
                [proc.pid for name, proc in self.procs.items() if name.startswith("consumer")]
            )
        groups.update(load_servers.service_processes(self.database))
        groups["generator"] = load_servers.pids([os.getpid(), *generator_pids])
        return load_servers.Sampler(groups=groups)

    def summarise(
        self,
        scenario: str,
        server: str,
        rate: float,
        duration: float,
        warmup: float,
        results: list[dict[str, Any]],
        usage: dict[str, load_servers.Usage],
        sampler: load_servers.Sampler,
    ) -> Phase:
        """Merge the generators' records into a phase's figures."""
        phase = Phase(scenario=scenario, server=server, rate=rate, duration=duration, warmup=warmup)
        latency, acks = array("d"), array("d")
        windows: dict[int, array] = {}
        acked: dict[int, int] = {}
        expected: dict[int, int] = {}
        received: Counter = Counter()
        errors: Counter = Counter()
        for r in results:
            phase.sent += r["sent"]
            acked.update(r["acked"])
            expected.update(r["expected"])
            received.update(r["received"])
            phase.duplicates += r["duplicates"]
            errors.update(r["errors"])
            latency.frombytes(r["latency"])
            acks.frombytes(r["ack_latency"])
            for w, data in r["windows"].items():
                windows.setdefault(w, array("d")).frombytes(data)
            phase.max_send_lag_ms = max(phase.max_send_lag_ms, r["max_send_lag_ms"])
        phase.acked = len(acked)
        phase.expected = sum(acked.values())
        phase.delivered = sum(received.values())
        phase.lost = sum(max(0, n - received.get(k, 0)) for k, n in acked.items())
        phase.unacked_delivered = sum(1 for k in received if k not in acked)
        phase.errors = dict(errors)
        phase.latency = stats(latency)
        phase.ack_latency = stats(acks)
        phase.deliveries_per_second = len(latency) / max(1e-9, duration - warmup)
        phase.windows = [
            {"from_s": w * 10, **stats(windows[w])} for w in sorted(windows) if windows[w]
        ]
        elapsed = max(sampler.elapsed, 1e-9)
        phase.cpu = {name: u.cpu_seconds / elapsed * 100 for name, u in usage.items()}
        phase.rss_mib = {name: u.peak_rss / 2**20 for name, u in usage.items()}
        server_cpu = sum(u.cpu_seconds for name, u in usage.items() if name != "generator")
        phase.server_cpu_ms_per_message = server_cpu / max(1, phase.sent) * 1000
        return phase

    # -- scenarios -------------------------------------------------------
    def pairs(self, scenario: str, rate: float, duration: float, lag: bool = False) -> None:
        """One-to-one conversations; every user sends about 0.5 messages/s."""
        pairs = max(50, min(len(self.world.pairs), int(rate)))
        users = list(range(2 * pairs))
        focus = {u: self.world.pairs[u // 2] for u in users}
        conversations = {u: [self.world.pairs[u // 2]] for u in users}
        clients = self.clients(users, focus, conversations)
        # Alternate sides so both people of a pair send.
        sends = [(2 * p + (k % 2), self.world.pairs[p], 1) for k in range(2) for p in range(pairs)]
        print(f"{scenario}: {rate:.0f} messages/s in {pairs} one-to-one conversations", flush=True)
        base_duration = min(duration, self.args.duration)
        base = self.phase(scenario, "baseline", clients, sends, rate, base_duration)
        app = self.phase(scenario, "app", clients, sends, rate, duration, lag=lag)
        self.ratio(base, app)

    def groups(self, deliveries: float, duration: float) -> None:
        """Groups of 20: ``deliveries``/s pushed to members' sockets."""
        from bench.load_world import GROUP_SIZE

        rate = deliveries / GROUP_SIZE
        groups = self.world.groups
        users = list(range(len(groups) * GROUP_SIZE))
        focus = {u: groups[u // GROUP_SIZE] for u in users}
        conversations = {u: [groups[u // GROUP_SIZE]] for u in users}
        clients = self.clients(users, focus, conversations)
        sends = [
            (g * GROUP_SIZE + k, groups[g], GROUP_SIZE - 1)
            for k in range(GROUP_SIZE)
            for g in range(len(groups))
        ]
        print(
            f"groups: {rate:.0f} messages/s into {len(groups)} groups of {GROUP_SIZE} "
            f"= {deliveries:.0f} deliveries/s to members' sockets "
            f"({rate * (GROUP_SIZE - 1):.0f}/s to the others, measured)",
            flush=True,
        )
        base = self.phase("groups", "baseline", clients, sends, rate, duration)
        app = self.phase("groups", "app", clients, sends, rate, duration)
        self.ratio(base, app)

    def ratio(self, base: Phase, app: Phase) -> None:
        """Print the app's latency as a multiple of the baseline's."""
        ratios = {
            p: app.latency[p] / base.latency[p]
            for p in ("p50", "p95", "p99")
            if base.latency.get(p) and app.latency.get(p)
        }
        app.note = "vs baseline: " + ", ".join(f"{p} x{r:.1f}" for p, r in ratios.items())
        print(f"           {app.note} (target p50 within x3)", flush=True)

    def idle(self, sockets: int, hold: float) -> None:
        """Many idle sockets on one fresh daphne: its memory and CPU."""
        from bench.load_world import USERS

        print(f"idle: {sockets} sockets on one web process", flush=True)
        self.restart_daphne()
        users = [u % USERS for u in range(sockets)]
        clients = self.clients(users, {}, {})
        workers = self.args.generators
        generators = Generators(
            workers, f"ws://127.0.0.1:{self.app_port}/ws/", f"http://127.0.0.1:{self.app_port}"
        )
        figures: dict[str, Any] = {}
        try:
            before = load_servers.Sampler(
                groups=self.sampler("app", [], only_first_web=True).groups
            )
            before.start()
            time.sleep(2)
            figures["daphne_rss_mib_before"] = before.stop()["daphne"].peak_rss / 2**20
            per_worker = [[{**c, "query": ""} for c in clients[w::workers]] for w in range(workers)]
            # Few handshakes at a time: each waits for daphne's one database
            # thread (the session), and one waiting past daphne's 5 s
            # websocket_connect_timeout is refused; the thread, still busy with
            # the refused ones, then refuses the retries too (on a busy machine
            # 60 at a time stalled at 4,578 sockets).
            connected = generators.call(
                "connect",
                [{"clients": c, "keepalive": 0, "concurrency": 5} for c in per_worker],
            )
            figures["opened"] = sum(c["opened"] for c in connected)
            figures["connect_seconds"] = max(c["seconds"] for c in connected)
            failed: Counter = Counter()
            for c in connected:
                failed.update(c["failed"])
            figures["connect_failures"] = dict(failed)
            print(
                f"  opened {figures['opened']} in {figures['connect_seconds']:.0f} s"
                + (f" (failed attempts, retried: {dict(failed)})" if failed else ""),
                flush=True,
            )
            time.sleep(min(15, hold / 4))  # online announcements and their consumer work
            # The web client sends nothing while idle; clients that ping
            # (and report focus) every 30 s, as it did before, are the second phase.
            for label, keepalive in (("silent", 0.0), ("30 s pings", 30.0)):
                if keepalive:
                    generators.call("keepalive_start", [{"every": keepalive}] * workers)
                    time.sleep(5)
                sampler = self.sampler("app", generators.pids, only_first_web=True)
                sampler.start()
                answers = generators.call("idle", [{"seconds": hold}] * workers)
                usage = sampler.stop()
                elapsed = sampler.elapsed
                figures[label] = {
                    "open": sum(a["open"] for a in answers),
                    "pongs": sum(a["pongs"] for a in answers),
                    "cpu": {k: u.cpu_seconds / elapsed * 100 for k, u in usage.items()},
                    "rss_mib": {k: u.peak_rss / 2**20 for k, u in usage.items()},
                }
                f = figures[label]
                print(
                    f"  {label:<14} {hold:.0f} s: {f['open']} open, {f['pongs']} pongs; "
                    f"daphne RSS {f['rss_mib']['daphne']:.0f} MiB, CPU {f['cpu']['daphne']:.1f}% "
                    f"of a core (target < 1 GiB, < 5%); consumer {f['cpu']['consumer']:.1f}%, "
                    f"redis {f['cpu']['redis']:.1f}%, generator {f['cpu']['generator']:.1f}%",
                    flush=True,
                )
        finally:
            generators.close()
        self.extra["idle"] = figures
        # Leave a fresh process for what follows.
        self.restart_daphne()

    def growth(self, rate: float, duration: float) -> None:
        """Grow users and conversations at a fixed rate: p99 and CPU per message."""
        from bench.load_world import GROWTH_STEPS

        rng = random.Random(7)
        results = []
        for users, conversations in GROWTH_STEPS:
            print(f"growth: {users} users, {conversations} conversations", flush=True)
            convs = self.world.growth[conversations]
            clients = self.clients(list(range(users)), {}, {})
            sends = [(rng.choice((a, b)), cid, 1) for cid, a, b in convs]
            rng.shuffle(sends)
            results.append(self.phase(f"growth-{users}", "app", clients, sends, rate, duration))
        first, last = results[0], results[-1]
        p99 = last.latency.get("p99", 0) / first.latency.get("p99", float("nan"))
        cpu = last.server_cpu_ms_per_message / max(1e-9, first.server_cpu_ms_per_message)
        note = f"growth x100: p99 x{p99:.2f}, server CPU per message x{cpu:.2f} (target <= x1.2)"
        self.extra["growth"] = note
        print(f"  {note}", flush=True)

    def hops(self, samples: int) -> None:
        """Each hop's floor alone, for comparison with the whole path."""
        from django.conf import settings

        from bench import load_hops
        from bench.load_world import database_url

        print("hop floors (one at a time, idle path)", flush=True)
        figures = {
            "kafka produce->consume (acks=all)": load_hops.kafka_floor(
                samples, settings.KAFKA_TOPIC_PREFIX
            )
        }
        pg = load_hops.postgres_floor(samples, database_url())
        figures["postgresql INSERT+COMMIT (synchronous)"] = pg["commit"]
        figures["postgresql SELECT 1"] = pg["select"]
        redis = load_hops.redis_floor(samples, settings.REDIS_URL)
        figures["redis PING"] = redis["ping"]
        figures["redis PUBLISH->subscriber"] = redis["publish"]
        self.extra["hops"] = {k: stats(array("d", v)) for k, v in figures.items()}
        for name, s in self.extra["hops"].items():
            print(f"  {name:<40} p50 {s['p50']:6.2f} ms  p99 {s['p99']:6.2f} ms", flush=True)

    def hops_compare(self) -> None:
        """Compare the app's p50 at 10/s with the sum of the hops' p50."""
        hops = self.extra.get("hops")
        slow = [p for p in self.phases if p.scenario == "rate10" and p.server == "app"]
        if not hops or not slow:
            return
        floor = sum(
            hops[k]["p50"]
            for k in (
                "kafka produce->consume (acks=all)",
                "postgresql INSERT+COMMIT (synchronous)",
                "redis PING",
            )
        )
        whole = slow[0].latency["p50"]
        note = (
            f"whole path p50 at 10/s {whole:.2f} ms vs sum of hop floors {floor:.2f} ms "
            f"(Kafka + PostgreSQL commit + Redis): x{whole / floor:.1f}, {whole - floor:.2f} ms above"
        )
        self.extra["hops_vs_path"] = note
        print(note, flush=True)

    def report(self, path: Path) -> None:
        """Write every figure as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "run": RUN,
                    "args": vars(self.args),
                    "load_before": self.args.load_before,
                    "load_after": os.getloadavg(),
                    "phases": [p.__dict__ for p in self.phases],
                    **self.extra,
                },
                indent=1,
                default=str,
            )
        )
        print(f"figures: {path}")


def stats(values: Any) -> dict[str, float]:
    """Return n, p50, p95, p99, max and mean of latencies (ms)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def prepare() -> tuple[Any, list[str]]:
    """Point Django at the benchmark's database and topics; seed; log everyone in."""
    from bench import load_world

    os.environ["DATABASE_URL"] = load_world.database_url()
    os.environ["KAFKA_TOPIC_PREFIX"] = f"load-{RUN}."
    os.environ["CHANNEL_LAYER_PREFIX"] = f"load-{RUN}"
    os.environ["CACHE_KEY_PREFIX"] = f"load-{RUN}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings.local")
    load_world.database_create()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("ensure_kafka_topics", verbosity=0)
    started = time.monotonic()
    world = load_world.world_seed()
    load_world.sessions_clear()
    sessions = load_world.sessions_login(world.user_ids)
    print(
        f"world: {len(world.user_ids)} users logged in, {len(world.pairs)} pairs, "
        f"{len(world.groups)} groups, growth {sorted(world.growth)} conversations "
        f"({time.monotonic() - started:.0f} s)",
        flush=True,
    )
    return world, sessions


def topics_delete() -> None:
    """Delete the run's topics."""
    from django.conf import settings
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS)
    admin.delete_topics([t for t in admin.list_topics() if t.startswith(f"load-{RUN}.")])
    admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--duration", type=float, default=60, help="seconds per phase")
    parser.add_argument("--sustained", type=float, default=600, help="seconds of the 1,000/s run")
    parser.add_argument(
        "--sustained-rate", type=float, default=1000, help="messages/s of the sustained run"
    )
    parser.add_argument(
        "--growth-rate", type=float, default=500, help="messages/s of each growth step"
    )
    parser.add_argument("--warmup", type=float, default=10, help="seconds left out of latency")
    parser.add_argument("--generators", type=int, default=3, help="client processes")
    parser.add_argument(
        "--consumers", type=int, default=1, help="run_kafka_consumers processes (one group)"
    )
    parser.add_argument(
        "--consumer-per-topic",
        action="store_true",
        help="run each of those as one process per topic (messages, notifications, activity)",
    )
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        help="daphne processes per server (app and baseline); idle uses one",
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=0,
        help="seconds between each socket's ping and focus report (0: none, as the web client)",
    )
    parser.add_argument("--idle-sockets", type=int, default=10_000)
    parser.add_argument("--hop-samples", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="15 s phases, 1,000 idle sockets")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.sustained, args.warmup = 15, 30, 5
        args.idle_sockets, args.hop_samples = 1000, 50
    args.load_before = os.getloadavg()
    wanted = args.scenarios.split(",")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = max(hard, 65536)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(
        f"load benchmark {RUN}: {os.cpu_count()} cores, load average {args.load_before}, "
        f"open files {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}",
        flush=True,
    )
    world, sessions = prepare()
    bench = Bench(args, world, sessions)
    bench.start()
    try:
        if "hops" in wanted:
            bench.hops(args.hop_samples)
        if "rate10" in wanted:
            bench.pairs("rate10", 10, args.duration)
        if "rate500" in wanted:
            bench.pairs("rate500", 500, args.duration)
        if "sustained" in wanted:
            bench.pairs("sustained", args.sustained_rate, args.sustained, lag=True)
        if "groups" in wanted:
            bench.groups(3000, args.duration)
        if "idle" in wanted:
            bench.idle(args.idle_sockets, args.duration)
        if "growth" in wanted:
            bench.growth(args.growth_rate, args.duration)
        bench.hops_compare()
    finally:
        bench.stop()
        print(f"load average after: {os.getloadavg()}")
        bench.report(ROOT / "var" / "bench" / f"load-{RUN}.json")
        topics_delete()


if __name__ == "__main__":
    main()
