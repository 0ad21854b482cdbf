"""The registry of which tab shows which conversation."""

import asyncio

from messenger.redis_client import key, sync_client
from messenger.registrations import registrations_kept
from notifications.viewing import viewers_by_conversation, viewing_leave, viewing_set
from tests.conftest import wait_until


async def test_a_tab_counts_for_the_conversation_it_last_reported() -> None:
    await viewing_set(user_id=1, channel_name="tab-a", conversation_id=10)
    await viewing_set(user_id=2, channel_name="tab-b", conversation_id=11)
    assert viewers_by_conversation(members={10: [1, 2]})[10] == {1}

    await viewing_set(user_id=1, channel_name="tab-a", conversation_id=11)
    assert viewers_by_conversation(members={10: [1, 2]})[10] == set()
    assert viewers_by_conversation(members={11: [1, 2]})[11] == {1, 2}

    await viewing_set(user_id=1, channel_name="tab-a", conversation_id=None)
    await viewing_leave(user_id=2, channel_name="tab-b")
    assert viewers_by_conversation(members={11: [1, 2]})[11] == set()
    assert viewers_by_conversation(members={11: []})[11] == set()


async def test_the_report_of_a_crashed_process_expires(settings) -> None:
    settings.VIEWING_TTL_SECONDS = 0  # Reported already expired: nobody rewrites it.
    await viewing_set(user_id=3, channel_name="tab-c", conversation_id=12)
    assert viewers_by_conversation(members={12: [3]})[12] == set()
    await viewing_leave(user_id=3, channel_name="tab-c")


async def test_an_open_tabs_report_is_kept_alive_until_it_changes(settings) -> None:
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    settings.VIEWING_TTL_SECONDS = 60
    await viewing_set(user_id=4, channel_name="tab-d", conversation_id=13)
    first = expiry(4, 13, "tab-d")
    await asyncio.to_thread(wait_until, lambda: expiry(4, 13, "tab-d") > first + 0.5)

    await viewing_set(user_id=4, channel_name="tab-d", conversation_id=14)
    assert expiry(4, 13, "tab-d") is None
    assert viewers_by_conversation(members={14: [4]})[14] == {4}
    await viewing_leave(user_id=4, channel_name="tab-d")
    assert viewers_by_conversation(members={14: [4]})[14] == set()
    assert registrations_kept() == 0


def expiry(user_id: int, conversation_id: int, channel_name: str) -> float | None:
    return sync_client().zscore(key("viewing", user_id, conversation_id), channel_name)


async def test_the_viewers_of_several_conversations_come_in_one_answer() -> None:
    await viewing_set(user_id=7, channel_name="tab-7", conversation_id=20)
    await viewing_set(user_id=8, channel_name="tab-8", conversation_id=21)

    assert viewers_by_conversation(members={20: [7, 8], 21: [7, 8], 22: [7]}) == {
        20: {7},
        21: {8},
        22: set(),
    }
    await viewing_leave(user_id=7, channel_name="tab-7")
    await viewing_leave(user_id=8, channel_name="tab-8")
