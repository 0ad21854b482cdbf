"""Rebuild the stored messages from the Kafka log."""

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.dateparse import parse_datetime

from conversations.replay import messages_replay
from messenger.kafka.replay import ReadStats, topic_read
from messenger.kafka.topics import Topic


def _moment(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None or moment.tzinfo is None:
        raise CommandError(f"{value!r} is not an ISO 8601 time with a time zone")
    return moment


class _DryRun(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Re-insert messages missing from PostgreSQL from the messages topic, with their "
        "original sequence numbers: every message, those sent in [--since, --until), or "
        "one --conversation. Idempotent: stored messages are left as they are. Safe "
        "beside running consumers. Pushes nothing to sockets (clients sync)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=_moment, help="ISO 8601 time, inclusive.")
        parser.add_argument("--until", type=_moment, help="ISO 8601 time, exclusive.")
        parser.add_argument("--conversation", type=int, help="Only this conversation id.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be inserted; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        conversation = options["conversation"]
        stats = ReadStats()
        events = topic_read(
            topic=Topic.MESSAGES,
            key=str(conversation) if conversation is not None else None,
            stats=stats,
        )
        replay = {
            "events": events,
            "since": options["since"],
            "until": options["until"],
            "conversation_id": conversation,
        }
        if options["dry_run"]:
            # One transaction rolled back at the end; a real replay commits
            # chunk by chunk so it never holds a conversation's lock for long.
            try:
                with transaction.atomic():
                    report = messages_replay(**replay)
                    raise _DryRun
            except _DryRun:
                pass
        else:
            report = messages_replay(**replay)
        verb = "would insert" if options["dry_run"] else "inserted"
        self.stdout.write(
            f"read {stats.records} records ({stats.undecodable} undecodable), "
            f"{report.events} message events, {report.in_range} in range: "
            f"{verb} {report.inserted}, already stored {report.already_stored}, "
            f"skipped {report.skipped}, conflicts {report.conflicts}, "
            f"conversations {len(report.conversations)}"
        )
        if stats.earliest_offsets and any(stats.earliest_offsets.values()):
            self.stdout.write(
                "note: retention has removed the start of some partitions "
                f"(earliest offsets {stats.earliest_offsets}); numbering continues from "
                "stored messages"
            )
        if report.conflicts:
            raise CommandError(f"{report.conflicts} sequence numbers were held by other messages")
