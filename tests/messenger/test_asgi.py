"""The real web server (daphne) in front of the ASGI application.

What only the server enforces is tested here against a daphne process started
the way the Procfile starts it: the frame size limit and handshake refusals.
"""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import websockets
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from tests.conftest import session_cookie
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def daphne(transactional_db) -> Iterator[str]:
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "messenger.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--websocket-max-message-size",
            "65536",
            "--websocket-max-frame-size",
            "65536",
            "messenger.asgi:application",
        ],
        cwd=settings.BASE_DIR,
        env=env,
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


async def open_socket(address: str, cookie: str | None, origin: str = "http://localhost"):
    headers = {"Cookie": cookie} if cookie else {}
    return await websockets.connect(
        f"ws://{address}/ws/", origin=origin, additional_headers=headers
    )


async def test_an_anonymous_handshake_is_refused_with_403(daphne) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_socket(daphne, None)
    assert refused.value.response.status_code == 403


async def test_a_foreign_origin_is_refused_with_403(daphne) -> None:
    cookie = await database_sync_to_async(session_cookie)(
        await database_sync_to_async(UserFactory)()
    )
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_socket(daphne, cookie, origin="https://evil.example")
    assert refused.value.response.status_code == 403


async def test_an_oversized_frame_drops_only_that_socket(daphne) -> None:
    alice = await database_sync_to_async(UserFactory)()
    bob = await database_sync_to_async(UserFactory)()
    greedy = await open_socket(daphne, await database_sync_to_async(session_cookie)(alice))
    bystander = await open_socket(daphne, await database_sync_to_async(session_cookie)(bob))
    await greedy.send("x" * 70_000)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(greedy.recv(), timeout=10)
    # daphne (autobahn) fails such a connection by dropping it: no close
    # frame arrives, which browsers report as 1006.
    assert closed.value.rcvd is None
    await bystander.send('{"type": "ping"}')
    assert await asyncio.wait_for(bystander.recv(), timeout=10) == '{"type": "pong"}'
    await bystander.close()
