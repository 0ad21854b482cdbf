"""WebSockets authenticated by personal access token, through the full ASGI stack.

Frames and codes are those of docs/websocket-protocol.md ("Connecting").
"""

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.services import token_create, token_revoke
from conversations.consumers import CLOSE_SESSION_ENDED, CLOSE_UNAUTHENTICATED
from messenger.asgi import application
from tests.conftest import receive_until, session_cookie, socket_connect
from tests.factories import DirectConversationFactory, UserFactory, access_token

pytestmark = pytest.mark.django_db(transaction=True)


async def token_socket(
    plaintext: str,
    *,
    via: str = "header",
    origin: bytes | None = None,
    cookie_of: User | None = None,
) -> tuple[WebsocketCommunicator, bool]:
    """Open a socket with a token, as a script does: by default no Origin, no cookie."""
    headers = [(b"host", b"testserver")]
    path = "/ws/"
    if via == "header":
        headers.append((b"authorization", f"Bearer {plaintext}".encode()))
    else:
        path = f"/ws/?token={plaintext}"
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie_of is not None:
        cookie = await database_sync_to_async(session_cookie)(cookie_of)
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    return communicator, connected


async def new_token(user: User, scopes: tuple[str, ...] = ("read", "write")) -> str:
    return await database_sync_to_async(access_token)(user, scopes=scopes)


async def assert_refused(communicator: WebsocketCommunicator, code: str, words: str) -> None:
    """A refused token socket hears why, then is closed with 4401."""
    frame = await communicator.receive_json_from(timeout=10)
    assert frame["type"] == "error"
    assert frame["code"] == code
    assert words in frame["message"]
    closed = await communicator.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


def send_frame(conversation_id: int, body: str) -> dict[str, Any]:
    return {
        "type": "message.send",
        "conversation": conversation_id,
        "client_id": str(uuid.uuid4()),
        "body": body,
    }


async def test_token_sockets_send_and_receive_through_kafka(
    kafka_topics, consumer, alice, bob
) -> None:
    chat = await database_sync_to_async(DirectConversationFactory)(members=[alice, bob])
    # A script: header, no Origin.  A browser page given a token: query, its Origin.
    sender, connected = await token_socket(await new_token(alice))
    assert connected
    receiver, connected = await token_socket(
        await new_token(bob, ("read",)), via="query", origin=b"https://elsewhere.example"
    )
    assert connected
    frame = send_frame(chat.pk, "sent with a token")
    await sender.send_json_to(frame)
    ack = await receive_until(sender, "message.ack")
    assert ack["client_id"] == frame["client_id"]
    pushed = await receive_until(receiver, "message.new")
    assert pushed["message"]["body"] == "sent with a token"
    assert pushed["message"]["sender"]["id"] == alice.pk
    await sender.disconnect()
    await receiver.disconnect()


async def test_a_read_token_receives_but_may_not_change_anything(kafka_topics, alice, bob) -> None:
    chat = await database_sync_to_async(DirectConversationFactory)(members=[alice, bob])
    socket, connected = await token_socket(await new_token(alice, ("read",)))
    assert connected
    frame = send_frame(chat.pk, "not allowed")
    await socket.send_json_to(frame)
    refused = await receive_until(socket, "error")
    assert refused["code"] == "token_scope"
    assert refused["client_id"] == frame["client_id"]
    assert "'write' scope" in refused["message"]
    for change in (
        {"type": "typing", "conversation": chat.pk},
        {"type": "read", "conversation": chat.pk, "sequence": 0},
        {"type": "message.delete", "message": 1},
    ):
        await socket.send_json_to(change)
        assert (await receive_until(socket, "error"))["code"] == "token_scope"
    # Reading frames work.
    await socket.send_json_to({"type": "ping"})
    assert (await receive_until(socket, "pong"))["type"] == "pong"
    await socket.send_json_to({"type": "sync", "conversations": {str(chat.pk): 0}})
    assert (await receive_until(socket, "sync.done"))["last_sequence"] == 0
    stored = await database_sync_to_async(chat.messages.count)()
    assert stored == 0
    await socket.disconnect()


async def test_a_write_only_token_cannot_open_a_socket(kafka_topics, alice) -> None:
    socket, connected = await token_socket(await new_token(alice, ("write",)))
    assert connected  # accepted only to say why, then closed
    await assert_refused(socket, "token_scope", "'read' scope")


async def test_bad_tokens_are_refused_with_a_reason(kafka_topics, alice) -> None:
    def make_bad() -> dict[str, str]:
        expired = token_create(user=alice, name="old", scopes=["read"])
        AccessToken.objects.filter(pk=expired.token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        revoked = token_create(user=alice, name="gone", scopes=["read"])
        token_revoke(user=alice, token_id=revoked.token.pk)
        return {
            "token_expired": expired.plaintext,
            "token_revoked": revoked.plaintext,
            "token_invalid": "msgr_" + "z" * 43,
            "token_malformed": "oops",
        }

    for code, plaintext in (await database_sync_to_async(make_bad)()).items():
        for via in ("header", "query"):
            socket, _ = await token_socket(plaintext, via=via)
            await assert_refused(socket, code, "")


async def test_a_bad_token_is_not_rescued_by_a_session_cookie(kafka_topics, alice) -> None:
    socket, _ = await token_socket("msgr_" + "q" * 43, origin=b"http://testserver", cookie_of=alice)
    await assert_refused(socket, "token_invalid", "not valid")


async def test_a_deactivated_persons_token_is_refused(kafka_topics) -> None:
    gone = await database_sync_to_async(UserFactory)(is_active=False)
    socket, _ = await token_socket(await new_token(gone))
    await assert_refused(socket, "account_inactive", "deactivated")


async def test_two_token_query_parameters_are_refused(kafka_topics, alice) -> None:
    plaintext = await new_token(alice)
    socket = WebsocketCommunicator(
        application, f"/ws/?token={plaintext}&token={plaintext}", headers=[(b"host", b"testserver")]
    )
    await socket.connect(timeout=10)
    await assert_refused(socket, "token_malformed", "one 'token'")


async def test_session_sockets_still_need_our_origin(kafka_topics, alice) -> None:
    _, connected, _ = await socket_connect(alice, origin=b"https://evil.example")
    assert not connected
    # No Origin at all: a cookie alone does not open a socket either.
    cookie = await database_sync_to_async(session_cookie)(alice)
    bare = WebsocketCommunicator(
        application, "/ws/", headers=[(b"host", b"testserver"), (b"cookie", cookie.encode())]
    )
    connected, _ = await bare.connect(timeout=10)
    assert not connected
    socket, connected, _ = await socket_connect(alice)
    assert connected
    await socket.disconnect()


async def test_revoking_the_token_closes_its_sockets_only(kafka_topics, alice) -> None:
    created = await database_sync_to_async(token_create)(user=alice, name="script", scopes=["read"])
    other = await new_token(alice, ("read",))
    doomed, _ = await token_socket(created.plaintext)
    survivor, _ = await token_socket(other)
    browser, _, _ = await socket_connect(alice)
    await database_sync_to_async(token_revoke)(user=alice, token_id=created.token.pk)
    closed = await doomed.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": CLOSE_SESSION_ENDED}
    for still_open in (survivor, browser):
        await still_open.send_json_to({"type": "ping"})
        assert (await receive_until(still_open, "pong"))["type"] == "pong"
        await still_open.disconnect()
    # The revoked token opens no new socket.
    again, _ = await token_socket(created.plaintext)
    await assert_refused(again, "token_revoked", "revoked")


async def test_through_the_real_server_a_script_connects_with_a_token(daphne, alice) -> None:
    plaintext = await new_token(alice, ("read",))
    async with websockets.connect(
        f"ws://{daphne}/ws/", additional_headers={"Authorization": f"Bearer {plaintext}"}
    ) as socket:
        await socket.send('{"type": "ping"}')
        assert json.loads(await asyncio.wait_for(socket.recv(), timeout=10)) == {"type": "pong"}
    async with websockets.connect(f"ws://{daphne}/ws/?token={plaintext}") as socket:
        await socket.send('{"type": "ping"}')
        assert json.loads(await asyncio.wait_for(socket.recv(), timeout=10)) == {"type": "pong"}
    async with websockets.connect(
        f"ws://{daphne}/ws/", additional_headers={"Authorization": "Bearer msgr_" + "n" * 43}
    ) as socket:
        refused = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        assert refused["code"] == "token_invalid"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_UNAUTHENTICATED
