"""Pushes through the channel layer: sockets reconnect after Redis dropped some."""

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from pytest_django.fixtures import Settings as SettingsWrapper

from messenger.realtime import (
    CLOSE_RECONNECT,
    _Probes,
    _probes_receive,
    frames_push,
    frames_push_nowait,
)
from tests.conftest import free_port, receive_until, socket_connect, wait_until, wait_until_async
from tests.factories import DirectConversationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


class PrivateRedis:
    """A redis-server of the test's own, which it may restart (the shared one it may not)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is installed by scripts/services.sh"
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: self._answers(), timeout=30)

    def _answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def private_redis(settings: SettingsWrapper) -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    url = f"redis://127.0.0.1:{redis.port}/0"
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": settings.CHANNEL_LAYERS["default"]["BACKEND"],
            "CONFIG": {"hosts": [url], "prefix": "realtime-test"},
        }
    }
    settings.CHANNEL_LAYER_CHECK_MS = 100
    yield redis
    redis.stop()


async def closed_with(communicator: Any) -> int:
    """Return the close code the server sends, skipping frames before it."""
    while True:
        output = await communicator.receive_output(timeout=20)
        if output["type"] == "websocket.close":
            return output["code"]


async def test_a_redis_restart_makes_open_sockets_reconnect_and_sync(alice, private_redis) -> None:
    # The fault matrix's Redis restart: pushes published while the process's
    # subscription was down were dropped, and open sockets never caught up.
    communicator, connected, _ = await socket_connect(alice)
    assert connected
    await asyncio.to_thread(private_redis.restart)
    assert await closed_with(communicator) == CLOSE_RECONNECT
    await communicator.wait()


async def test_a_push_nobody_waits_for_goes_out_once_redis_is_back(private_redis, caplog) -> None:
    # Dropped, it would reach no socket: the recipients' watcher may already
    # have had them reconnect and sync before this push was refused.
    await asyncio.to_thread(private_redis.stop)
    pushed: list[str] = []
    frames_push_nowait(
        [("user.retry-test", {"type": "frame", "n": 1})], then=lambda: pushed.append("sent")
    )
    await wait_until_async(
        lambda: any("refused 1 frames" in r.getMessage() for r in caplog.records), timeout=15
    )
    assert pushed == []
    await asyncio.to_thread(private_redis.start)

    await wait_until_async(lambda: pushed == ["sent"], timeout=15)


async def test_late_probes_are_not_a_loss_but_a_probe_after_a_gap_is() -> None:
    # One channel's messages arrive in order: a probe that arrives after one
    # that never did means the layer dropped it.  Late probes (pushes queued
    # behind each other under load) must not close every socket.
    layer = get_channel_layer()
    channel = await layer.new_channel("probe.")
    probes = _Probes(sent=3)
    receiver = asyncio.create_task(_probes_receive(layer, channel, probes))
    try:
        for n in (1, 2, 3):
            await layer.send(channel, {"type": "probe", "n": n})
        await wait_until_async(lambda: probes.seen == 3)
        assert not probes.gap

        probes.sent = 5
        await layer.send(channel, {"type": "probe", "n": 5})  # 4 was dropped
        await wait_until_async(lambda: probes.seen == 5)
        assert probes.gap
    finally:
        receiver.cancel()


async def test_a_frame_that_meets_redis_away_is_answered_unavailable(alice, settings) -> None:
    # Under load a web process's Redis pool can have no connection free in
    # time; the client is told to retry, not that the server broke.
    chat = await database_sync_to_async(
        lambda: DirectConversationFactory(members=[alice, UserFactory()])
    )()
    communicator, connected, _ = await socket_connect(alice)
    assert connected
    real_url = settings.REDIS_URL
    # Nothing listens there; the Redis clients made from now on connect there.
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    try:
        await communicator.send_json_to({"type": "focus", "conversation": chat.pk})
        error = await receive_until(communicator, "error", timeout=30)
    finally:
        settings.REDIS_URL = real_url

    assert error["code"] == "unavailable"
    await communicator.disconnect()


async def _group_receiver(group: str) -> tuple[Any, str]:
    layer = get_channel_layer()
    channel = await layer.new_channel("pushes.")
    await layer.group_add(group, channel)
    return layer, channel


async def test_pushes_nobody_waits_for_go_out_in_order_with_the_waited_ones() -> None:
    # A member's frames must arrive in the order they were pushed, whichever
    # thread pushed them and whether it waited.
    layer, channel = await _group_receiver("user.order-test")
    pushed: list[int] = []
    for n in range(1, 41):
        frame = ("user.order-test", {"type": "frame", "n": n})
        if n % 10:
            frames_push_nowait([frame], then=lambda n=n: pushed.append(n))
        else:
            assert await asyncio.to_thread(frames_push, [frame])

    received = [(await layer.receive(channel))["n"] for _ in range(40)]

    assert received == list(range(1, 41))
    # ``then`` ran for each unwaited push, after its frames went out.
    await wait_until_async(lambda: len(pushed) == 36)
    assert pushed == [n for n in range(1, 41) if n % 10]


async def test_a_push_that_fails_is_logged_and_the_next_ones_still_go_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer, channel = await _group_receiver("user.after-failure")
    # A frame the layer cannot serialise fails the push it is in.
    frames_push_nowait([("user.after-failure", {"type": "frame", "n": object()})])
    frames_push_nowait([("user.after-failure", {"type": "frame", "n": 2})])

    assert (await layer.receive(channel))["n"] == 2
    assert "pushing 1 frames through the channel layer failed" in caplog.text
