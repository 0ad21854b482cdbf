"""In a real browser: the bell counts live, opening the conversation reads it, and
a conversation shown in a visible tab does not notify.

daphne runs in a child process, the consumers in the test process.
"""

import pytest
from playwright.sync_api import Browser, expect

from messenger.kafka.producer import publish_sync
from messenger.kafka.topics import Topic
from notifications.models import Notification
from tests.conftest import wait_until
from tests.e2e.conftest import alice_and_bob_chat, log_in
from tests.factories import (
    message_sent_envelope,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bell_counts_live_and_the_open_conversation_reads_it(
    daphne: str, start_consumer, browser: Browser, monkeypatch
) -> None:
    # Playwright's sync API keeps an event loop in this thread; the ORM calls
    # here are plain synchronous test code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    consumer = start_consumer(topics=[Topic.MESSAGES, Topic.NOTIFICATIONS])
    base = f"http://{daphne}"
    alice, conversation = alice_and_bob_chat()
    page = log_in(browser, base, "bob")
    page.goto(f"{base}/contacts/")
    expect(page.locator("#bell-count")).to_be_hidden()
    # A locator assertion, as the other browser tests wait for the socket:
    # wait_for_function evaluates a string, which the page's CSP forbids.
    expect(page.locator("html")).to_have_attribute("data-socket", "open")

    publish_sync(message_sent_envelope(conversation=conversation, sender=alice, body="psst"))
    expect(page.locator("#bell-count")).to_have_text("1", timeout=15_000)
    expect(page.locator("#toasts li")).to_contain_text("Alice sent a message.")

    # Opening the conversation (a visible tab) reads its notifications.
    page.goto(f"{base}/conversations/{conversation.pk}/")
    expect(page.locator("#bell-count")).to_be_hidden(timeout=15_000)
    assert wait_until(lambda: not Notification.objects.filter(read_at__isnull=True).exists())

    # While it is shown, new messages there notify nobody.
    processed = consumer.runner.stats.processed.get("messages", 0)
    publish_sync(message_sent_envelope(conversation=conversation, sender=alice, body="live"))
    expect(page.locator(".message .body").last).to_have_text("live", timeout=15_000)
    wait_until(lambda: consumer.runner.stats.processed.get("messages", 0) > processed)
    assert Notification.objects.count() == 1

    page.goto(f"{base}/notifications/")
    expect(page.locator(".notification-list li")).to_have_count(1)
    expect(page.locator(".notification-list li a").first).to_have_text("Alice sent a message.")
