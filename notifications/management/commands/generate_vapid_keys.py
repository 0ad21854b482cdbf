"""Print a new VAPID key pair for web push, as environment variable lines."""

from typing import Any

from django.core.management.base import BaseCommand

from notifications.push import vapid_keys_generate


class Command(BaseCommand):
    help = (
        "Generate a VAPID key pair for web push and print it as WEBPUSH_VAPID_PUBLIC_KEY "
        "and WEBPUSH_VAPID_PRIVATE_KEY lines for the environment. Keep the private key "
        "secret; changing the pair invalidates every browser subscription."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        public, private = vapid_keys_generate()
        self.stdout.write(f"WEBPUSH_VAPID_PUBLIC_KEY={public}")
        self.stdout.write(f"WEBPUSH_VAPID_PRIVATE_KEY={private}")
