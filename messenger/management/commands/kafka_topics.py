"""Create, describe and alter the Kafka topics from the settings."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messenger.kafka.admin import (
    topic_layout,
    topics_alter,
    topics_describe,
    topics_ensure,
    topics_summary,
)


class Command(BaseCommand):
    help = (
        "Manage the application's Kafka topics. create: create the missing ones; "
        "describe: show partitions, replicas, in-sync replicas, retention and "
        "min.insync.replicas, and where they differ from the settings (exit 3 if "
        "they do); alter: bring existing topics to the settings (more partitions, "
        "retention, min.insync.replicas, replication factor by reassignment)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "describe", "alter"])
        parser.add_argument("--json", action="store_true", help="describe: print JSON.")
        parser.add_argument(
            "--dry-run", action="store_true", help="alter: print the changes, make none."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            created = topics_ensure()
            self.stdout.write(
                f"Created topics: {', '.join(created)}" if created else "All topics exist."
            )
        elif action == "describe":
            self._describe(as_json=options["json"])
        else:
            try:
                changes = topics_alter(dry_run=options["dry_run"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            prefix = "would change" if options["dry_run"] else "changed"
            for change in changes:
                self.stdout.write(f"{prefix}: {change}")
            if not changes:
                self.stdout.write("Every topic matches the settings.")

    def _describe(self, *, as_json: bool) -> None:
        states = topics_describe()
        if as_json:
            self.stdout.write(json.dumps(topics_summary(states), indent=2))
        else:
            layout = topic_layout()
            self.stdout.write(
                f"wanted: {layout.partitions} partitions, replication factor "
                f"{layout.replication_factor}, "
                + ", ".join(f"{k}={v}" for k, v in layout.configs.items())
            )
            for state in states:
                if not state.exists:
                    self.stdout.write(f"\n{state.name}: MISSING")
                    continue
                self.stdout.write(
                    f"\n{state.name}: {len(state.partitions)} partitions, replication factor "
                    f"{state.replication_factor}, "
                    + ", ".join(f"{k}={v}" for k, v in sorted(state.configs.items()))
                )
                for p in state.partitions:
                    flag = "  UNDER-REPLICATED" if p.under_replicated else ""
                    self.stdout.write(
                        f"  partition {p.partition}: leader {p.leader} replicas {p.replicas} "
                        f"isr {p.isr}{flag}"
                    )
                for drift in state.drift:
                    self.stdout.write(f"  differs from settings: {drift}")
        if any(state.drift for state in states):
            raise SystemExit(3)
