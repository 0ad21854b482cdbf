"""The processes under test, and what each costs in CPU and memory (psutil).

Starts daphne (the app, or the baseline broadcast app) and the Kafka consumer
with an environment of the run's own (database, topic prefix, channel-layer
and cache prefixes), and samples the CPU and resident memory of every
process involved: those, the Kafka broker, PostgreSQL (the postmaster's
service processes and the backends connected to the benchmark's database),
Redis and the generator's own processes.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port(*, also_free: int = 0) -> int:
    """Return a loopback port nothing listens on now (and, if asked, its neighbour ``also_free`` above)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + also_free > 65535:
            continue
        if also_free:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + also_free))
                except OSError:
                    continue
        return port


def wait_port(port: int, timeout: float = 60) -> None:
    """Wait until something accepts connections on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def daphne_start(application: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start one daphne process serving the application (module:attribute).

    Through ``scripts/web.sh``, as the Procfile does, so it runs with the same
    flags (keepalive pings, frame limits) as a deployed web process.
    """
    path = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "web.sh"), application],
        cwd=ROOT,
        env={**env, "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port), "PATH": path},
        stdout=subprocess.DEVNULL,
        stderr=log.open("a"),
    )
    wait_port(port)
    return proc


def consumer_start(
    group: str, env: dict[str, str], log: Path, *, topics: Sequence[str] = ()
) -> subprocess.Popen:
    """Start ``run_kafka_consumers`` in its own consumer group (all topics, or these)."""
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_kafka_consumers",
            "--group",
            group,
            *(arg for topic in topics for arg in ("--topic", topic)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("a"),
    )


def stop(procs: list[subprocess.Popen]) -> None:
    """Ask each process to stop (SIGTERM), then wait for it."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def service_processes(database: str) -> dict[str, Callable[[], list[psutil.Process]]]:
    """Return, per shared service, a function listing its processes now."""

    def by_cmdline(needle: str) -> Callable[[], list[psutil.Process]]:
        def find() -> list[psutil.Process]:
            found = []
            for proc in psutil.process_iter(["cmdline", "name"]):
                if needle in " ".join(proc.info["cmdline"] or []):
                    found.append(proc)
            return found

        return find

    def postgres() -> list[psutil.Process]:
        # The postmaster, its service processes and the backends of the
        # benchmark's database; other databases' backends are other
        # engineers' tests, left out.  A backend's title reads
        # "postgres: 15/main: USER DATABASE HOST(PORT) STATE".
        found = []
        for proc in psutil.process_iter(["cmdline", "name"]):
            if proc.info["name"] != "postgres":
                continue
            words = " ".join(proc.info["cmdline"] or []).split()
            is_backend = len(words) > 4 and "(" in words[4]
            if is_backend and words[3] != database:
                continue
            found.append(proc)
        return found

    return {
        "kafka": by_cmdline("kafka.Kafka"),
        "postgresql": postgres,
        "redis": by_cmdline("redis-server"),
    }


@dataclass
class Usage:
    """CPU seconds and peak memory of a group of processes over a window."""

    cpu_seconds: float = 0.0
    peak_rss: int = 0


@dataclass
class Sampler:
    """Sample named groups of processes once a second in a thread."""

    groups: dict[str, Callable[[], list[psutil.Process]]]
    interval: float = 1.0
    usage: dict[str, Usage] = field(default_factory=dict)
    _cpu: dict[tuple[str, int], float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    started: float = 0.0
    elapsed: float = 0.0

    def start(self) -> None:
        """Reset and start sampling."""
        self.usage = {name: Usage() for name in self.groups}
        self._cpu = {}
        self._stop.clear()
        self._sample(first=True)
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Usage]:
        """Stop sampling; return the usage per group over the window."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.elapsed = time.monotonic() - self.started
        return self.usage

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, *, first: bool = False) -> None:
        for name, find in self.groups.items():
            rss = 0
            for proc in find():
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        total = times.user + times.system
                        rss += proc.memory_info().rss
                except psutil.Error:
                    continue
                previous = self._cpu.get((name, proc.pid))
                self._cpu[(name, proc.pid)] = total
                if previous is not None and not first:
                    self.usage[name].cpu_seconds += total - previous
            if not first:
                self.usage[name].peak_rss = max(self.usage[name].peak_rss, rss)


def pids(procs: list[int]) -> Callable[[], list[psutil.Process]]:
    """Return a finder for fixed process ids."""

    def find() -> list[psutil.Process]:
        found = []
        for pid in procs:
            try:
                found.append(psutil.Process(pid))
            except psutil.Error:
                continue
        return found

    return find
