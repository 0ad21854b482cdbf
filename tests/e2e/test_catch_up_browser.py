"""In a real browser: a message whose push never came is fetched as soon as a
later one shows the gap, without a reconnect.

daphne runs in a child process, the consumers in the test process.
"""

import pytest
from playwright.sync_api import Browser, expect

from messenger.kafka.producer import publish_sync
from messenger.kafka.topics import Topic
from tests.e2e.conftest import alice_and_bob_chat, log_in
from tests.factories import (
    message_sent_envelope,
)
from tests.notifications.factories import stored_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_gap_in_sequences_fetches_the_missed_message(
    daphne: str, start_consumer, browser: Browser, monkeypatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    start_consumer(topics=[Topic.MESSAGES])
    base = f"http://{daphne}"
    alice, conversation = alice_and_bob_chat()
    page = log_in(browser, base, "bob")
    page.goto(f"{base}/conversations/{conversation.pk}/")
    expect(page.locator("html")).to_have_attribute("data-socket", "open")

    # Stored, and its push lost (the channel layer is at-most-once).
    stored_message(conversation=conversation, sender=alice, body="the lost push")
    publish_sync(message_sent_envelope(conversation=conversation, sender=alice, body="the next"))

    bodies = page.locator(".message .body")
    expect(bodies).to_have_text(["the lost push", "the next"], timeout=15_000)
    expect(page.locator(".message").first).to_have_attribute("data-sequence", "1")
    expect(page.locator(".message").last).to_have_attribute("data-sequence", "2")
