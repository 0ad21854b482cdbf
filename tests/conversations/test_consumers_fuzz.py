"""Fuzz the WebSocket protocol (docs/websocket-protocol.md) with hypothesis.

Whatever a client sends — random JSON, every frame type with each field of a
wrong type, huge or deeply nested frames, escaped NULs and lone surrogates,
invalid UTF-8, binary frames — the consumer answers with documented frames or
an ``error`` frame (never ``internal``, which means an unexpected exception),
or daphne closes that one connection; and a second client keeps sending and
receiving afterwards.

The runs are derandomized (the same cases every run) and bounded; each test
prints how many cases it tried (``pytest -s``) and docs/security.md quotes the
totals.  ``FUZZ_EXAMPLES`` scales them for a longer run.
"""

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conversations.services import messages_store
from tests.conftest import receive_until, session_cookie, socket_connect
from tests.factories import DirectConversationFactory, UserFactory, message_sent_envelope

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "400"))
DAPHNE_EXAMPLES = int(os.environ.get("FUZZ_DAPHNE_EXAMPLES", "120"))

# Frames the server may send a client; an error must carry a documented code.
SERVER_FRAMES = {
    "message.ack",
    "message.new",
    "message.updated",
    "message.change.ack",
    "sync.done",
    "focus.done",
    "pong",
    "typing",
    "receipt",
    "presence",
    "notification",
    "notifications.unread",
    "error",
}
ERROR_CODES = {
    "bad_json",
    "bad_frame",
    "unknown_type",
    "body_empty",
    "body_too_long",
    "forbidden",
    "blocked",
    "not_yours",
    "deleted",
    "bad_emoji",
    "bad_reply",
    "bad_attachment",
    "too_many_attachments",
    "rate_limited",
    "unavailable",
}

# Any text, lone surrogates and NUL included (json.dumps escapes them).
any_text = st.text(st.characters(codec=None, categories=None), max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)

# Placeholders replaced at run time by ids of the test's own objects.
CHAT, FOREIGN_CHAT, MESSAGE, FOREIGN_MESSAGE = "$chat", "$foreign", "$message", "$foreign_message"
ids = st.sampled_from([CHAT, FOREIGN_CHAT, 0, -1, 2**63 - 1, 2**63, 2**64]) | st.integers()
message_ids = st.sampled_from([MESSAGE, FOREIGN_MESSAGE, 0, -1, 2**63]) | st.integers()
client_ids = st.uuids().map(str) | any_text
bodies = st.sampled_from(["hi", "", " ", "x" * 10_001, "a\x00b", "\ud800", "**b** <i>"]) | any_text
emoji = st.sampled_from(["👍", "❤️", "a", "", "\ud83d", "👍" * 17, "\x00"]) | any_text
sync_maps = st.dictionaries(
    st.sampled_from([CHAT, FOREIGN_CHAT, "0", "-1", "²", "٣", "9" * 30, "9" * 5000, "x"])
    | any_text,
    st.integers() | json_values,
    max_size=4,
)

# Every frame type with a plausible value or any JSON value for each field;
# fields may also be missing.
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "message.send": {
        "conversation": ids,
        "client_id": client_ids,
        "body": bodies,
        "reply_to": st.none() | message_ids,
        "attachments": st.lists(st.uuids().map(str) | any_text, max_size=12) | json_values,
    },
    "message.edit": {"message": message_ids, "body": bodies},
    "message.delete": {"message": message_ids},
    "reaction": {"message": message_ids, "emoji": emoji, "added": st.booleans()},
    "read": {"conversation": ids, "sequence": st.integers()},
    "typing": {"conversation": ids},
    "sync": {"conversations": sync_maps},
    "ping": {},
    "focus": {"conversation": st.none() | ids},
}


@st.composite
def typed_frames(draw: st.DrawFn) -> dict[str, Any]:
    frame_type = draw(st.sampled_from(sorted(FIELDS)))
    frame: dict[str, Any] = {"type": frame_type}
    for name, plausible in FIELDS[frame_type].items():
        choice = draw(st.sampled_from(["plausible", "any", "missing"]))
        if choice == "plausible":
            frame[name] = draw(plausible)
        elif choice == "any":
            frame[name] = draw(json_values)
    if draw(st.booleans()):
        frame.update(draw(st.dictionaries(any_text, json_values, max_size=2)))
    return frame


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"type": ' * depth + "1" + "}" * depth


raw_frames = st.one_of(
    # Not JSON, or JSON that is no object.
    any_text,
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    json_values.map(json.dumps),
    # Deeply nested, far past the parser's recursion limit.
    st.builds(nested, st.integers(1, 100_000), st.sampled_from(["list", "dict"])),
    # Huge numbers (past int's 4300-digit parsing limit) and huge frames.
    st.integers(4000, 10_000).map(lambda n: '{"type": "read", "conversation": ' + "9" * n + "}"),
    st.integers(10_000, 300_000).map(
        lambda n: json.dumps({"type": "message.send", "body": "x" * n})
    ),
)


class Barrier:
    """Run one socket's frames on one event loop, each followed by a ping."""

    def __init__(self, runner: asyncio.Runner, socket: Any) -> None:
        self.runner = runner
        self.socket = socket
        self.cases = 0

    def send(self, *, text: str | None = None, data: bytes | None = None) -> list[dict]:
        self.cases += 1
        return self.runner.run(self._send(text, data))

    async def _send(self, text: str | None, data: bytes | None) -> list[dict]:
        # send_input: send_to refuses an empty frame.
        await self.socket.send_input({"type": "websocket.receive", "text": text, "bytes": data})
        await self.socket.send_json_to({"type": "ping"})
        frames = []
        while True:
            frame = await self.socket.receive_json_from(timeout=20)
            if frame["type"] == "pong":
                return frames
            frames.append(frame)


def assert_answers_are_documented(frames: list[dict]) -> None:
    for frame in frames:
        assert frame["type"] in SERVER_FRAMES, frame
        if frame["type"] == "error":
            # "internal" is the catch-all of an unexpected exception.
            assert frame["code"] in ERROR_CODES, frame


def resolve(value: Any, names: dict[str, Any]) -> Any:
    """Replace the placeholders by the test's ids, wherever they are."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    if isinstance(value, dict):
        return {resolve(k, names) if k in names else k: resolve(v, names) for k, v in value.items()}
    return value


@pytest.fixture
def world(kafka_topics: str, alice, bob) -> dict[str, Any]:
    """Alice's chat with Bob (with one of Alice's messages), and a chat of strangers."""
    chat = DirectConversationFactory(members=[alice, bob])
    foreign = DirectConversationFactory(members=[UserFactory(), UserFactory()])
    (message,) = messages_store(envelopes=[message_sent_envelope(conversation=chat, sender=alice)])
    stranger = foreign.members.first()
    (foreign_message,) = messages_store(
        envelopes=[message_sent_envelope(conversation=foreign, sender=stranger)]
    )
    return {
        "chat": chat,
        "names": {
            CHAT: chat.pk,
            FOREIGN_CHAT: foreign.pk,
            MESSAGE: message.pk,
            FOREIGN_MESSAGE: foreign_message.pk,
        },
    }


@pytest.fixture
def barrier(world, alice, bob) -> Iterator[Barrier]:
    """Alice's socket for the fuzz cases, on a loop of its own."""
    with asyncio.Runner() as runner:
        socket, connected, _ = runner.run(socket_connect(alice))
        assert connected
        fuzzed = Barrier(runner, socket)
        yield fuzzed
        # The server is still usable by others: Bob sends, Alice still receives.
        runner.run(_bob_still_chats(world["chat"].pk, bob, socket))
        runner.run(socket.disconnect())


async def _bob_still_chats(conversation_id: int, bob, alice_socket) -> None:
    other, connected, _ = await socket_connect(bob)
    assert connected
    frame = {
        "type": "message.send",
        "conversation": conversation_id,
        "client_id": str(uuid.uuid4()),
        "body": "still here",
    }
    await other.send_json_to(frame)
    assert (await receive_until(other, "message.ack"))["client_id"] == frame["client_id"]
    await other.send_json_to({"type": "typing", "conversation": conversation_id})
    typing = await receive_until(alice_socket, "typing")
    assert typing["user"]["id"] == bob.pk
    await other.disconnect()


def report(name: str, barrier: Barrier) -> None:
    print(f"\nfuzz {name}: {barrier.cases} cases tried")
    assert barrier.cases >= min(EXAMPLES, 50)


FUZZ_SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)


def test_typed_frames_with_wrong_or_missing_fields(barrier, world) -> None:
    @FUZZ_SETTINGS
    @given(frame=typed_frames())
    def case(frame: dict[str, Any]) -> None:
        text = json.dumps(resolve(frame, world["names"]))
        assert_answers_are_documented(barrier.send(text=text))

    case()
    report("typed frames", barrier)


def test_raw_text_frames(barrier) -> None:
    @FUZZ_SETTINGS
    @given(text=raw_frames)
    def case(text: str) -> None:
        assert_answers_are_documented(barrier.send(text=text))

    case()
    report("raw text frames", barrier)


def test_binary_frames(barrier) -> None:
    @FUZZ_SETTINGS
    @given(data=st.binary(max_size=2048) | json_values.map(lambda v: json.dumps(v).encode()))
    def case(data: bytes) -> None:
        frames = barrier.send(data=data)
        assert_answers_are_documented(frames)
        assert [f["code"] for f in frames] == ["bad_json"]

    case()
    report("binary frames", barrier)


# What a real daphne gets on the wire: frames the communicator cannot send.
wire_frames = st.one_of(
    # Text frames that are not UTF-8: the server fails that connection (1007).
    st.binary(min_size=1, max_size=64)
    .filter(lambda b: not _is_utf8(b))
    .map(lambda b: ("invalid-utf8", b)),
    st.binary(max_size=1024).map(lambda b: ("binary", b)),
    # Past WEBSOCKET_MAX_MESSAGE_BYTES: daphne drops that connection.
    st.integers(65_537, 200_000).map(lambda n: ("huge", b"x" * n)),
    raw_frames.filter(lambda t: len(t.encode("utf-8", "surrogatepass")) <= 65_536).map(
        lambda t: ("text", t.encode("utf-8", "surrogatepass"))
    ),
)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class WireFuzzer:
    """One client of a real daphne; reconnects when the server drops it."""

    def __init__(self, runner: asyncio.Runner, address: str, cookie: str) -> None:
        self.runner, self.address, self.cookie = runner, address, cookie
        self.socket: Any = None
        self.cases = self.dropped = 0

    async def connect(self) -> Any:
        return await websockets.connect(
            f"ws://{self.address}/ws/",
            origin="http://localhost",
            additional_headers={"Cookie": self.cookie},
            max_size=None,
        )

    def send(self, kind: str, data: bytes) -> None:
        self.cases += 1
        self.runner.run(self._send(kind, data))

    async def _send(self, kind: str, data: bytes) -> None:
        if self.socket is None:
            self.socket = await self.connect()
        socket = self.socket
        try:
            await socket.send(data, text=kind != "binary")
            await socket.send('{"type": "ping"}')
            while True:
                frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=20))
                if frame["type"] == "pong":
                    break
                assert_answers_are_documented([frame])
        except websockets.ConnectionClosed:
            # Only what the server may not accept ends a connection, and the
            # server ends it; a well-formed frame never does.
            assert kind in {"invalid-utf8", "huge"}, (kind, data[:80])
            self.dropped += 1
            self.socket = None
        else:
            assert kind not in {"invalid-utf8", "huge"}, "the server accepted a bad frame"


def test_a_real_daphne_survives_the_wire_fuzz(daphne, world, alice, bob) -> None:
    with asyncio.Runner() as runner:
        fuzzer = WireFuzzer(runner, daphne, session_cookie(alice))
        watcher = runner.run(fuzzer.connect())
        bob_cookie = session_cookie(bob)

        @hypothesis_settings(FUZZ_SETTINGS, max_examples=DAPHNE_EXAMPLES)
        @given(frame=wire_frames)
        def case(frame: tuple[str, bytes]) -> None:
            fuzzer.send(*frame)

        case()
        print(
            f"\nfuzz daphne wire: {fuzzer.cases} cases tried, {fuzzer.dropped} connections dropped"
        )
        assert fuzzer.dropped > 0  # the bad frames were really tried

        async def others_still_chat() -> None:
            # Bob, on a new connection, sends; Alice's untouched socket hears him type.
            other = await WireFuzzer(runner, daphne, bob_cookie).connect()
            client_id = str(uuid.uuid4())
            await other.send(
                json.dumps(
                    {
                        "type": "message.send",
                        "conversation": world["chat"].pk,
                        "client_id": client_id,
                        "body": "still here",
                    }
                )
            )
            while (frame := json.loads(await asyncio.wait_for(other.recv(), 20)))["type"] != (
                "message.ack"
            ):
                pass
            assert frame["client_id"] == client_id
            await other.send(json.dumps({"type": "typing", "conversation": world["chat"].pk}))
            while (frame := json.loads(await asyncio.wait_for(watcher.recv(), 20)))["type"] != (
                "typing"
            ):
                pass
            assert frame["user"]["id"] == bob.pk
            await other.close()
            await watcher.close()

        runner.run(others_still_chat())
    assert fuzzer.cases >= min(DAPHNE_EXAMPLES, 50)


# The bugs the fuzzing found, pinned as plain examples.
FOUND = [
    # json.loads raised RecursionError (not ValueError): answered "internal".
    ("[" * 100_000 + "]" * 100_000, "bad_json"),
    ('{"a":' * 50_000 + "1" + "}" * 50_000, "bad_json"),
    # str.isdigit() accepts "²", which int() refuses: answered "internal".
    (json.dumps({"type": "sync", "conversations": {"²": 0}}), "bad_frame"),
    # Past int()'s 4300-digit limit: answered "internal".
    (json.dumps({"type": "sync", "conversations": {"9" * 5000: 0}}), "bad_frame"),
    # An unpaired surrogate: pydantic refused the event: answered "internal".
    (json.dumps({"type": "reaction", "message": 1, "emoji": "\ud83d"}), "bad_frame"),
]


@pytest.mark.parametrize(("raw", "code"), FOUND, ids=["list", "dict", "sup2", "digits", "surr"])
async def test_the_frames_the_fuzzer_found_get_their_error(kafka_topics, alice, raw, code) -> None:
    socket, _, _ = await socket_connect(alice)
    await socket.send_to(text_data=raw)
    assert (await receive_until(socket, "error"))["code"] == code
    await socket.disconnect()


@pytest.mark.parametrize("body", ["a\x00b", "a\ud800b"])
async def test_a_body_that_cannot_be_stored_is_refused_before_the_ack(
    kafka_topics, world, alice, body
) -> None:
    # Acknowledged before, then refused by PostgreSQL (NUL) or pydantic
    # (surrogate) in the consumer: an acknowledged message never stored.
    socket, _, _ = await socket_connect(alice)
    frame = {
        "type": "message.send",
        "conversation": world["chat"].pk,
        "client_id": str(uuid.uuid4()),
        "body": body,
    }
    await socket.send_to(text_data=json.dumps(frame))
    error = await receive_until(socket, "error")
    assert (error["code"], error["client_id"]) == ("bad_frame", frame["client_id"])
    await socket.disconnect()
