"""Registrations a web process keeps alive in Redis for its open sockets."""

import asyncio

from messenger import registrations
from messenger.redis_client import key, sync_client
from messenger.registrations import registration_forget, registration_keep, registrations_kept
from tests.conftest import free_port, wait_until


async def eventually(condition) -> None:
    """wait_until in a thread: the rewrites are written by this event loop."""
    await asyncio.to_thread(wait_until, condition, timeout=10)


def score(name: str, member: str) -> float | None:
    return sync_client().zscore(key("test-registrations", name), member)


async def test_the_rewrites_of_many_sockets_are_written_together(settings, monkeypatch) -> None:
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    batches: list[int] = []
    write = registrations._write

    async def counted(batch):
        batches.append(len(batch))
        await write(batch)

    monkeypatch.setattr(registrations, "_write", counted)
    for n in range(50):
        await registration_keep(
            key=key("test-registrations", "many"), member=f"tab-{n}", ttl_seconds=60
        )
    await eventually(lambda: all(score("many", f"tab-{n}") for n in range(50)))
    # One pipeline a second, not one write a socket: the 50 kept within a
    # few milliseconds are due in the same second or the next.
    assert sum(batches[:2]) >= 50
    assert len([size for size in batches[:2] if size]) <= 2
    for n in range(50):
        await registration_forget(key=key("test-registrations", "many"), member=f"tab-{n}")
    assert registrations_kept() == 0
    sync_client().delete(key("test-registrations", "many"))


async def test_forgetting_during_the_write_of_its_rewrite_waits_for_it(
    settings, monkeypatch
) -> None:
    # Else the write, landing after the socket's registration is removed,
    # would register a closed socket again for its whole TTL.
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    started, release = asyncio.Event(), asyncio.Event()
    write = registrations._write

    async def held(batch):
        started.set()
        await release.wait()
        await write(batch)

    monkeypatch.setattr(registrations, "_write", held)
    name = key("test-registrations", "held")
    await registration_keep(key=name, member="closing", ttl_seconds=60)
    await asyncio.wait_for(started.wait(), timeout=10)
    forgetting = asyncio.create_task(registration_forget(key=name, member="closing"))
    done, _ = await asyncio.wait([forgetting], timeout=0.2)
    assert not done  # It waits for the write…
    release.set()
    await asyncio.wait_for(forgetting, timeout=10)
    sync_client().zrem(name, "closing")
    assert score("held", "closing") is None  # …so the removal after it sticks.


async def test_while_redis_is_away_each_rewrite_is_logged_and_tried_again(settings, caplog) -> None:
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    name = key("test-registrations", "away")
    await registration_keep(key=name, member="tab", ttl_seconds=60)
    failed = "could not rewrite 1 socket registrations"
    await eventually(lambda: caplog.text.count(failed) >= 2)
    assert registrations_kept() == 1
    await registration_forget(key=name, member="tab")
    assert registrations_kept() == 0


async def test_rewrites_go_on_after_redis_forgets_the_script(settings) -> None:
    # A restarted Redis has no scripts loaded: the rewrite loads it again.
    settings.SOCKET_REGISTRATION_REFRESH_SECONDS = 1
    name = key("test-registrations", "flushed")
    await registration_keep(key=name, member="tab", ttl_seconds=60)
    await eventually(lambda: score("flushed", "tab") is not None)
    sync_client().script_flush()
    sync_client().delete(name)
    await eventually(lambda: score("flushed", "tab") is not None)
    await registration_forget(key=name, member="tab")
    sync_client().delete(name)
