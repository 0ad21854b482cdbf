import asyncio

from messenger.redis_client import ASYNC_POOL_SIZE, async_client, key


async def test_more_commands_in_flight_than_connections_wait_instead_of_failing():
    client = async_client()
    counter = key("test-redis-pool")
    await client.delete(counter)
    callers = ASYNC_POOL_SIZE * 3

    async def count() -> None:
        async with client.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, 60)
            await pipe.execute()

    await asyncio.gather(*(count() for _ in range(callers)))

    assert int(await client.get(counter)) == callers
    await client.delete(counter)
