import atexit
import os

from django.apps import AppConfig


class MessengerConfig(AppConfig):
    name = "messenger"
    verbose_name = "Messenger platform"

    def ready(self) -> None:
        """Drop this process's live gauges from the shared metric files when it exits."""
        from messenger.metrics import process_exited

        atexit.register(process_exited, os.getpid())
