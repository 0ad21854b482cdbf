"""Run the Kafka consumer loop: persist, fan out, notify."""

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messenger.kafka.consumer import ConsumerRunner
from messenger.kafka.producer import producer_close
from messenger.kafka.topics import Topic
from messenger.metrics import metrics_serve


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
        parser.add_argument(
            "--metrics-address",
            metavar="HOST:PORT",
            help=(
                "Also serve /metrics (unauthenticated) on this address, for hosts or "
                "containers that run no web process; bind it to an internal interface."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        topics = [Topic(t) for t in options["topic"]] if options["topic"] else None
        runner = ConsumerRunner(topics=topics, group_id=options["group"])
        if options["metrics_address"]:
            try:
                host, port = metrics_serve(address=options["metrics_address"])
            except (ValueError, OSError) as exc:
                raise CommandError(f"--metrics-address: {exc}") from exc
            self.stderr.write(f"serving metrics on http://{host}:{port}/metrics")

        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stderr.write(f"signal {signum}: finishing the batch and stopping")
            runner.stop()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        try:
            runner.run()
        finally:
            producer_close()
