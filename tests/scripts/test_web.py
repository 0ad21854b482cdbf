"""scripts/web.sh, the Procfile's web process: daphne's keepalive finds dead peers.

A peer that vanished without closing (a laptop shut, a network gone) is
pinged once it has been silent for WEBSOCKET_PING_INTERVAL_SECONDS and dropped
when no pong comes within WEBSOCKET_PING_TIMEOUT_SECONDS; a live client keeps
its socket.  Both are 1 s here (the defaults are 60 s and 30 s); the pings go
out from the server's timeout scan, every WEB_TIMEOUT_CHECK_SECONDS (the
default 5 s here, as deployed).
"""

import asyncio
import base64
import os
import subprocess
from collections.abc import Iterator

import pytest
import websockets
from channels.db import database_sync_to_async
from django.conf import settings

from tests.conftest import child_env, free_port, session_cookie, web_process
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(kafka_topics: str, transactional_db: None) -> Iterator[str]:
    yield from web_process(
        kafka_topics, WEBSOCKET_PING_INTERVAL_SECONDS="1", WEBSOCKET_PING_TIMEOUT_SECONDS="1"
    )


async def handshake(address: str, cookie: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a WebSocket by hand: a client that will never answer a ping."""
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws/ HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://localhost\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
    )
    status = await asyncio.wait_for(reader.readline(), timeout=10)
    assert status.startswith(b"HTTP/1.1 101"), status
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    return reader, writer


async def test_a_peer_that_stops_answering_is_dropped_and_a_live_one_kept(web) -> None:
    cookie = await database_sync_to_async(session_cookie)(
        await database_sync_to_async(UserFactory)()
    )
    # websockets answers daphne's pings by itself, as a browser does.
    live = await websockets.connect(
        f"ws://{web}/ws/",
        origin="http://localhost",  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie},
        ping_interval=None,
    )
    reader, writer = await handshake(web, cookie)
    received = b""
    try:
        # Read (never answer) until daphne gives up on the socket.
        while chunk := await asyncio.wait_for(reader.read(4096), timeout=20):
            received += chunk
    except ConnectionResetError:
        pass  # Dropped with a reset rather than a FIN: dropped all the same.
    finally:
        writer.close()
    assert b"\x89" in received  # an unmasked ping frame: it was asked first
    # The live socket, open as long, answered its pings and is still there.
    await live.send('{"type": "ping"}')
    assert await asyncio.wait_for(live.recv(), timeout=10) == '{"type": "pong"}'
    await live.close()


def test_a_bad_scan_interval_stops_the_web_process_with_its_reason(kafka_topics: str) -> None:
    # The web process is messenger/web_server.py, which reads its scan
    # intervals from the environment when it makes the server.
    result = subprocess.run(
        [str(settings.BASE_DIR / "scripts" / "web.sh")],
        cwd=settings.BASE_DIR,
        env=child_env(kafka_topics, WEB_PORT=str(free_port()), WEB_TIMEOUT_CHECK_SECONDS="0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "WEB_TIMEOUT_CHECK_SECONDS must be at least 1 second" in result.stderr
