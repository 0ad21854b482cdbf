"""The real web server (daphne) in front of the ASGI application.

What only the server enforces is tested here against a daphne process started
the way the Procfile starts it: the frame size limit, handshake refusals and
the close codes an application may send.
"""

import asyncio

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from messenger.realtime import CLOSE_RECONNECT, user_group
from tests.conftest import session_cookie
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


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


async def test_a_reconnect_request_closes_the_socket_with_the_code_clients_reconnect_on(
    daphne,
) -> None:
    # daphne refuses application close codes outside 1000 and 3000-4999: with
    # 1012 the close failed as an exception inside the application.
    alice = await database_sync_to_async(UserFactory)()
    sock = await open_socket(daphne, await database_sync_to_async(session_cookie)(alice))
    await sock.send('{"type": "ping"}')
    assert await asyncio.wait_for(sock.recv(), timeout=10) == '{"type": "pong"}'

    await get_channel_layer().group_send(user_group(alice.pk), {"type": "socket.reconnect"})

    await asyncio.wait_for(sock.wait_closed(), timeout=10)
    assert sock.close_code == CLOSE_RECONNECT
