"""Send the emails and web pushes that are due, every few seconds, until stopped."""

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from notifications.emails import email_batches_send
from notifications.push import push_deliveries_send
from notifications.services import sender_wait, sender_wake

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send due notification emails (one per conversation burst) and web pushes, with "
        "retries. Runs beside run_kafka_consumers (see the Procfile); more than one may run: "
        "they share the work. SIGTERM or SIGINT stops it after the current pass."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()
            sender_wake()  # Ends the wait at once.

        if not options["once"]:
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
        if not options["once"]:
            self.stdout.write(
                "sending due notification emails and pushes "
                f"(every {settings.NOTIFICATION_SEND_INTERVAL_SECONDS} s, and when woken)"
            )
        while True:
            close_old_connections()
            try:
                now = timezone.now()
                pushes = push_deliveries_send(now=now)
                emails = email_batches_send(now=now)
                if pushes or emails or options["once"]:
                    self.stdout.write(f"sent {pushes} pushes, {emails} emails")
            except Exception:
                # The database may be away; the next pass tries again.
                logger.exception("sending notifications failed")
                if options["once"]:
                    raise
            if options["once"] or stopping.is_set():
                return
            try:
                # Woken at once when a push is recorded; emails come due
                # with time, found by the next pass.
                sender_wait(timeout=settings.NOTIFICATION_SEND_INTERVAL_SECONDS)
            except Exception:
                logger.exception("waiting for work failed")
                stopping.wait(settings.NOTIFICATION_SEND_INTERVAL_SECONDS)
