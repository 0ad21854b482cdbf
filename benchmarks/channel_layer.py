"""Compare the two channels-redis layers on a plain group broadcast.

For each layer: RECEIVERS channels join one group; one sender group_sends
MESSAGES messages as fast as it can while the receivers read.  Prints the
broadcast rate (messages/s sent through the group) and what was lost.

Usage: ``python benchmarks/channel_layer.py [--receivers 10] [--messages 2000]``
"""

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings.local")

import django

django.setup()

from channels_redis.core import RedisChannelLayer  # noqa: E402
from channels_redis.pubsub import RedisPubSubChannelLayer  # noqa: E402
from django.conf import settings  # noqa: E402

LAYERS = {
    "RedisChannelLayer (classic)": RedisChannelLayer,
    "RedisPubSubChannelLayer": RedisPubSubChannelLayer,
}


async def broadcast(layer_class, receivers: int, messages: int) -> tuple[float, int]:
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    sender = layer_class(hosts=[settings.REDIS_URL], prefix=prefix)
    listeners = [layer_class(hosts=[settings.REDIS_URL], prefix=prefix) for _ in range(receivers)]
    group = "room"
    channels = []
    for listener in listeners:
        channel = await listener.new_channel()
        await listener.group_add(group, channel)
        channels.append(channel)
    received = [0] * receivers

    async def receive(i: int) -> None:
        while received[i] < messages:
            await listeners[i].receive(channels[i])
            received[i] += 1

    tasks = [asyncio.create_task(receive(i)) for i in range(receivers)]
    started = time.perf_counter()
    for n in range(messages):
        await sender.group_send(group, {"type": "message.new", "n": n, "body": "x" * 200})
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    except TimeoutError:
        for task in tasks:
            task.cancel()
    elapsed = time.perf_counter() - started
    lost = receivers * messages - sum(received)
    for listener in [sender, *listeners]:
        close = getattr(listener, "flush", None)
        if close is not None:
            await close()
    return messages / elapsed, lost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receivers", type=int, default=10)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    print(f"{args.receivers} receivers in one group, {args.messages} group_sends each run")
    for name, layer_class in LAYERS.items():
        rate, lost = asyncio.run(broadcast(layer_class, args.receivers, args.messages))
        print(
            f"{name:<30} {rate:8.0f} broadcasts/s  lost {lost} of {args.receivers * args.messages}"
        )


if __name__ == "__main__":
    main()
