"""The fault matrix's negative control: a consumer that commits before it stores.

Deliberately wrong, and only here (never in the product): each partition's
batch has its offsets committed first, then waits ``--store-delay`` seconds (2)
(a slow store), then is stored.  Killed with SIGKILL in that window, the
batch is committed but never stored: the matrix must report it lost.

Run only by ``bench/fault_matrix.py`` with the stack's environment.
"""

import argparse
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings.local")

import django  # noqa: E402

django.setup()

from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from kafka.consumer.fetcher import ConsumerRecord  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402

from messenger.kafka.consumer import ConsumerRunner  # noqa: E402
from messenger.kafka.topics import Topic  # noqa: E402


class CommitFirstRunner(ConsumerRunner):
    """A runner that commits a batch's offsets before storing it (the bug under test)."""

    def __init__(self, *, store_delay: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store_delay = store_delay

    def _process_batch(
        self,
        consumer: KafkaConsumer,
        topic: Topic,
        parts: Mapping[TopicPartition, Sequence[ConsumerRecord]],
    ) -> None:
        # Synchronously: the real runner's commit does not wait for the
        # broker, and a kill right after it could land before the commit did,
        # so this control would lose nothing.
        consumer.commit(
            {tp: OffsetAndMetadata(part[-1].offset + 1, "", -1) for tp, part in parts.items()}
        )
        count = sum(len(part) for part in parts.values())
        # The matrix kills this process when it sees this line.
        print(f"committed {count} records of {topic.value} before storing them", flush=True)
        time.sleep(self.store_delay)
        super()._process_batch(consumer, topic, parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-delay", type=float, default=2.0)
    args = parser.parse_args()
    runner = CommitFirstRunner(store_delay=args.store_delay, topics=[Topic.MESSAGES])
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    runner.run()


if __name__ == "__main__":
    main()
