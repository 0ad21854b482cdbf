"""Delete uploads that were never sent with a message (run it from cron)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from conversations.attachments import attachments_unsent_purge


class Command(BaseCommand):
    help = "Delete attachments uploaded but never sent, older than ATTACHMENT_UNSENT_HOURS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hours", type=int, default=settings.ATTACHMENT_UNSENT_HOURS)

    def handle(self, *args: Any, **options: Any) -> None:
        count = attachments_unsent_purge(older_than=timedelta(hours=options["hours"]))
        self.stdout.write(f"deleted {count} unsent attachment(s)")
