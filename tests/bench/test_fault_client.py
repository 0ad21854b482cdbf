"""The fault matrix's client catches up from before a gap: a push the channel
layer dropped is fetched even when later pushes arrived."""

import asyncio
import json
from typing import Any

from bench.fault_matrix import Person, _background

CHAT = 10


class RecordingSocket:
    """Stand in for the client's end of a WebSocket: keep what it sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, raw: str) -> None:
        self.sent.append(json.loads(raw))


def message_new(sequence: int) -> dict[str, Any]:
    return {
        "type": "message.new",
        "message": {
            "id": 100 + sequence,
            "conversation": CHAT,
            "sequence": sequence,
            "client_id": f"c{sequence}",
        },
    }


def sync_done(last_sequence: int, *, more: bool = False) -> dict[str, Any]:
    return {"type": "sync.done", "conversation": CHAT, "last_sequence": last_sequence, "more": more}


async def settled(person: Person, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    socket = RecordingSocket()
    person.ws = socket
    for frame in frames:
        person._handle(frame)
    await asyncio.gather(*_background)  # catch-up requests are sent by tasks
    return socket.sent


def person() -> Person:
    someone = Person(1, "sessionid=x", [1], {})
    someone.last_sequence[CHAT] = 0
    return someone


def catch_up_from(sequence: int) -> dict[str, Any]:
    return {"type": "sync", "conversations": {str(CHAT): sequence}}


async def test_messages_in_order_need_no_catch_up() -> None:
    someone = person()
    assert await settled(someone, [message_new(1), message_new(2)]) == []
    assert someone.last_sequence[CHAT] == 2


async def test_a_gap_starts_one_catch_up_from_before_it() -> None:
    someone = person()
    sent = await settled(someone, [message_new(1), message_new(3), message_new(4)])
    assert sent == [catch_up_from(1)]
    assert someone.last_sequence[CHAT] == 1
    assert someone.gap_catch_ups == 1


async def test_the_missed_message_closes_the_gap() -> None:
    someone = person()
    sent = await settled(
        someone, [message_new(1), message_new(3), message_new(2), sync_done(3), message_new(4)]
    )
    assert sent == [catch_up_from(1)]
    assert someone.last_sequence[CHAT] == 4


async def test_a_sequence_the_server_does_not_have_is_stepped_over() -> None:
    someone = person()
    await settled(someone, [message_new(1), message_new(3), sync_done(3)])
    assert someone.last_sequence[CHAT] == 3


async def test_a_gap_left_after_a_catch_up_starts_another_at_the_next_message() -> None:
    # 4 was stored after the server read for the catch-up, and its push was lost too.
    someone = person()
    sent = await settled(
        someone,
        [
            message_new(1),
            message_new(3),
            message_new(2),
            message_new(5),
            sync_done(3),
            message_new(6),
        ],
    )
    assert sent == [catch_up_from(1), catch_up_from(3)]
    assert someone.last_sequence[CHAT] == 3


async def test_more_to_come_asks_again_from_the_last_one_shown() -> None:
    someone = person()
    sent = await settled(someone, [message_new(1), message_new(2), sync_done(2, more=True)])
    assert sent == [catch_up_from(2)]
