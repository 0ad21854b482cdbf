"""A corpus of well-known XSS payloads (data/xss_payloads.txt), written
wherever people write text — message bodies (Markdown), display names,
statuses, group titles, notifications in the app and in emails, search — comes
out inert: parsed as HTML, no script, no event handler, no javascript: URL
survives.
"""

from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.services import profile_update
from conversations import groups
from conversations.rendering import body_render
from notifications.emails import email_batches_send
from notifications.services import notifications_handle
from tests.factories import DirectConversationFactory, UserFactory, make_contacts
from tests.notifications.factories import notify_envelope, stored_message

pytestmark = pytest.mark.django_db

PAYLOADS = [
    line
    for line in (Path(__file__).parent / "data" / "xss_payloads.txt").read_text().splitlines()
    if line and not line.startswith("# ")
]
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "xlink:href",
    "background",
    "poster",
}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet", "style"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")


class ActiveContent(HTMLParser):
    """Collect what a browser would run: scripts other than our own static
    files, event handlers, script URLs, frames and the like."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            # Ours: a static file, or a json_script data island (never run;
            # json_script escapes <, > and & inside it).
            data_island = values.get("type") == "application/json"
            self.in_script = not data_island
            if not data_island and not values.get("src", "").startswith("/static/"):
                self.found.append(f"<script {values}>")
        if tag in FORBIDDEN_TAGS:
            self.found.append(f"<{tag}>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.found.append("<meta refresh>")
        for name, value in values.items():
            squeezed = "".join(ch for ch in value if ch > " ").lower()
            if (
                name.startswith("on")
                or name == "srcdoc"
                or (name in URL_ATTRIBUTES and squeezed.startswith(BAD_SCHEMES))
                or (name == "style" and ("javascript:" in squeezed or "expression(" in squeezed))
            ):
                self.found.append(f"{tag} {name}={value!r}")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.found.append(f"inline script {data[:60]!r}")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_checker_finds_what_it_should() -> None:
    # A negative control: the raw payloads are caught.
    caught = [p for p in PAYLOADS if active_content(p)]
    assert len(caught) >= 25
    assert active_content('<script type="module" src="/static/js/chat.js"></script>') == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_rendering_leaves_no_active_content(payload) -> None:
    html = body_render(payload, mentionable={"img"})
    assert active_content(html) == [], html


@pytest.fixture
def people():
    mallory, victim = UserFactory(username="mallory"), UserFactory(username="victim")
    make_contacts(mallory, victim)
    return mallory, victim


def page(user, path: str) -> str:
    client = Client()
    client.force_login(user)
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.content.decode()


def test_messages_on_the_conversation_page_and_in_search_are_inert(people) -> None:
    mallory, victim = people
    chat = DirectConversationFactory(members=[mallory, victim])
    for payload in PAYLOADS:
        stored_message(conversation=chat, sender=mallory, body=payload + " alert")
    for path in (f"/conversations/{chat.pk}/", "/conversations/search/?q=alert"):
        html = page(victim, path)
        assert active_content(html) == [], (path, html[html.find("<script>") - 300 :][:600])
    # The JSON of older pages carries each message's sanitised html.
    client = Client()
    client.force_login(victim)
    older = client.get(f"/conversations/{chat.pk}/history/?before=30").json()["messages"]
    assert older
    for message in older:
        assert active_content(message["html"]) == [], message["html"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_names_statuses_and_group_titles_are_inert_on_every_page_showing_them(
    people, payload
) -> None:
    mallory, victim = people
    profile_update(user=mallory, display_name=payload, status_text=payload)
    group = groups.group_create(creator=mallory, title=payload, members=[victim])
    chat = DirectConversationFactory(members=[mallory, victim])
    stored_message(conversation=chat, sender=mallory, body="hi")
    for path in (
        "/conversations/",
        f"/conversations/{chat.pk}/",
        f"/conversations/{group.pk}/",
        "/contacts/",
        "/people/mallory/",
        "/notifications/settings/",
        f"/conversations/search/?person=mallory&q={payload[:20]}",
    ):
        assert active_content(page(victim, path)) == [], path


def test_notifications_in_the_app_and_in_emails_are_inert(people, settings) -> None:
    settings.NOTIFICATION_EMAIL_DELAY_MINUTES = 1
    mallory, victim = people
    profile_update(user=mallory, display_name=PAYLOADS[1][:80], status_text="")
    chat = DirectConversationFactory(members=[mallory, victim])
    group = groups.group_create(creator=mallory, title=PAYLOADS[2], members=[victim])
    start = timezone.now()
    for i, payload in enumerate(PAYLOADS):
        at = start + timedelta(seconds=i)
        conversation = chat if i % 2 else group
        message = stored_message(conversation=conversation, sender=mallory, body=payload, at=at)
        notifications_handle(
            envelopes=[notify_envelope(message=message, recipient=victim, mention=bool(i % 3))],
            now=at,
        )
    assert active_content(page(victim, "/notifications/")) == []
    assert email_batches_send(now=start + timedelta(hours=1)) >= 1
    assert mail.outbox
    for email in mail.outbox:
        (html, kind) = email.alternatives[0]
        assert kind == "text/html"
        assert active_content(html) == []
        assert "<script>" not in email.subject
