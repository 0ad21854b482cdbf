"""The registry of which tab shows which conversation."""

from notifications.viewing import viewing_leave, viewing_set, viewing_user_ids


async def test_a_tab_counts_for_the_conversation_it_last_reported() -> None:
    await viewing_set(user_id=1, channel_name="tab-a", conversation_id=10)
    await viewing_set(user_id=2, channel_name="tab-b", conversation_id=11)
    assert viewing_user_ids(conversation_id=10, user_ids=[1, 2]) == {1}

    await viewing_set(user_id=1, channel_name="tab-a", conversation_id=11)
    assert viewing_user_ids(conversation_id=10, user_ids=[1, 2]) == set()
    assert viewing_user_ids(conversation_id=11, user_ids=[1, 2]) == {1, 2}

    await viewing_set(user_id=1, channel_name="tab-a", conversation_id=None)
    await viewing_leave(user_id=2, channel_name="tab-b")
    assert viewing_user_ids(conversation_id=11, user_ids=[1, 2]) == set()
    assert viewing_user_ids(conversation_id=11, user_ids=[]) == set()


async def test_a_report_expires_unless_repeated(settings) -> None:
    settings.VIEWING_TTL_SECONDS = 0
    await viewing_set(user_id=3, channel_name="tab-c", conversation_id=12)
    assert viewing_user_ids(conversation_id=12, user_ids=[3]) == set()
