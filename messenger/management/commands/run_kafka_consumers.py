"""Run the Kafka consumer loop: persist, fan out, notify."""

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from messenger.kafka.consumer import ConsumerRunner
from messenger.kafka.producer import producer_close
from messenger.kafka.topics import Topic


class Command(BaseCommand):
    help = (
        "Consume the registered Kafka topics in one consumer group. Start more "
        "processes to share the partitions; SIGTERM or SIGINT finishes the "
        "current batch, commits and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--topic",
            action="append",
            choices=[t.value for t in Topic if t is not Topic.DEAD_LETTER],
            help="Consume only this topic (repeatable); default: every registered topic.",
        )
        parser.add_argument("--group", help="Consumer group id (default: KAFKA_CONSUMER_GROUP).")

    def handle(self, *args: Any, **options: Any) -> None:
        topics = [Topic(t) for t in options["topic"]] if options["topic"] else None
        runner = ConsumerRunner(topics=topics, group_id=options["group"])

        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stderr.write(f"signal {signum}: finishing the batch and stopping")
            runner.stop()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        try:
            runner.run()
        finally:
            producer_close()
