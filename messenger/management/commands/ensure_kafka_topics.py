"""Create the Kafka topics the application needs (same as ``kafka_topics create``)."""

from typing import Any

from django.core.management.base import BaseCommand

from messenger.kafka.admin import topics_ensure


class Command(BaseCommand):
    help = "Create the registered Kafka topics that do not exist yet (kafka_topics create)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = topics_ensure()
        if created:
            self.stdout.write(f"Created topics: {', '.join(created)}")
        else:
            self.stdout.write("All topics exist.")
