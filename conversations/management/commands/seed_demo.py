"""Create demo people with a conversation, so a newcomer can try the app at once."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from contacts.models import Contact
from conversations.services import conversation_direct_get_or_create

DEMO_PASSWORD = "messenger-demo"
DEMO_PEOPLE = [("alice", "Alice Liddell"), ("bob", "Bob Builder"), ("carol", "Carol Danvers")]


class Command(BaseCommand):
    help = f"Create demo users alice, bob and carol (password {DEMO_PASSWORD!r}) and conversations."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        people = {}
        for username, display_name in DEMO_PEOPLE:
            person, created = User.objects.get_or_create(
                username=username,
                defaults={"display_name": display_name, "email": f"{username}@example.com"},
            )
            if created:
                person.set_password(DEMO_PASSWORD)
                person.save()
            people[username] = person
        for other in ("bob", "carol"):
            # Demo people are contacts already: a conversation needs one.
            Contact.objects.get_or_create(owner=people["alice"], contact=people[other])
            Contact.objects.get_or_create(owner=people[other], contact=people["alice"])
            conversation_direct_get_or_create(user=people["alice"], other=people[other])
        self.stdout.write(
            f"Demo users: {', '.join(people)} — password {DEMO_PASSWORD!r}. "
            "alice has bob and carol as contacts, and a conversation with each."
        )
