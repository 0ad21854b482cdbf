"""The whole journey of two new people in a real browser, each in a browser
context of their own: sign up, find each other, become contacts, chat live,
unread counts and the bell, an image, an edit and a reaction, search, log out.

daphne runs in a child process, the consumers (messages, activity,
notifications) in the test process; PostgreSQL, Redis and Kafka are real.
Every step leaves screenshots in var/test-artifacts/e2e/<test name>/.
"""

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect

from messenger.kafka.topics import Topic
from tests.e2e.conftest import Screenshots, expect_socket_open, sign_up

pytestmark = pytest.mark.django_db(transaction=True)


def send(page: Page, text: str) -> None:
    page.fill("#composer-body", text)
    page.keyboard.press("Enter")


def mark_page(page: Page) -> None:
    """Tag the page's window: the tag survives anything but a (re)load."""
    page.evaluate("window.journeyPage = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.journeyPage === true"), f"{page.url} was reloaded"


def test_two_new_people_meet_chat_share_search_and_log_out(
    daphne: str, start_consumer, browser: Browser, screenshots: Screenshots, tmp_path: Path
) -> None:
    start_consumer(topics=[Topic.MESSAGES, Topic.ACTIVITY, Topic.NOTIFICATIONS])
    base = f"http://{daphne}"

    # Both sign up through allauth's page and land on their (empty) conversations.
    ann = sign_up(browser, base, "ann")
    ben = sign_up(browser, base, "ben")
    for page, name in ((ann, "ann"), (ben, "ben")):
        expect(page.locator(".topbar .me")).to_contain_text(name)
        expect(page.locator("#conversation-list")).to_contain_text("No conversations yet.")
        expect(page.locator("#bell-count")).to_be_hidden()
    screenshots("signed-up", ann=ann, ben=ben)

    # Ann searches for Ben and asks; Ben's contacts page shows it live.
    ben.goto(f"{base}/contacts/")
    expect_socket_open(ben)
    ann.goto(f"{base}/contacts/")
    ann.fill("#id_q", "be")
    ann.locator("form[role=search] button").click()
    result = ann.get_by_role("list", name="Search results").locator("li")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("@ben")
    screenshots("search-person", ann=ann)
    result.get_by_role("button", name="Add").click()
    expect(ann.locator("#outgoing-heading + ul li")).to_contain_text("waiting")
    expect(ben.locator("#bell-count")).to_have_text("1")
    expect(ben.locator("#toasts li")).to_contain_text("ann wants to add you")
    expect(ben.locator("#incoming-heading .badge")).to_have_text("1")
    screenshots("request-received", ann=ann, ben=ben)

    # Ben accepts; Ann's bell and contacts change live, and Ben shows online.
    expect_socket_open(ann)
    ben.locator("#incoming-heading + ul li").get_by_role("button", name="Accept").click()
    expect(ben.locator("#contacts-heading + ul li")).to_contain_text("ann")
    expect(ben.locator("#incoming-heading + ul li")).to_have_text("No requests.")
    expect(ann.locator("#bell-count")).to_have_text("1")
    expect(ann.locator("#toasts li")).to_contain_text("ben accepted")
    ann_ben = ann.locator("#contacts-heading + ul li").filter(has_text="ben")
    expect(ann_ben.locator(".presence")).to_have_text("online")
    screenshots("contacts", ann=ann, ben=ben)

    # Ben waits on his conversation list; Ann starts the conversation and
    # writes.  It appears in Ben's list with an unread badge, the count in
    # his title, and his bell goes up.
    ben.goto(f"{base}/conversations/")
    expect_socket_open(ben)
    mark_page(ben)
    ann_ben.get_by_role("button", name="Message").click()
    ann.wait_for_url(re.compile(r"/conversations/\d+/$"))
    conversation_url = ann.url
    expect_socket_open(ann)
    mark_page(ann)
    send(ann, "Hello Ben, lunch on Friday?")
    ben_item = ben.locator("#conversation-list li").filter(has_text="ann")
    expect(ben_item.locator(".unread")).to_have_text("1")
    expect(ben).to_have_title(re.compile(r"^\(1\) Conversations"))
    expect(ben.locator("#bell-count")).to_have_text("2")
    expect(ben.locator("#toasts li")).to_contain_text("ann sent a message")
    send(ann, "There's a new place by the harbour.")
    expect(ben_item.locator(".unread")).to_have_text("2")
    expect(ben).to_have_title(re.compile(r"^\(2\) Conversations"))
    assert_not_reloaded(ben)
    screenshots("unread", ann=ann, ben=ben)

    # Ben opens it: the badge, the title's count and the conversation's
    # notifications clear.  Then they chat both ways, live.
    ben_item.locator("a").click()
    ben.wait_for_url(conversation_url)
    expect_socket_open(ben)
    mark_page(ben)
    expect(ben.locator(".message .body").last).to_have_text("There's a new place by the harbour.")
    expect(ben.locator("#conversation-list .unread")).to_be_hidden()
    expect(ben).not_to_have_title(re.compile(r"^\(\d+\)"))
    expect(ben.locator("#bell-count")).to_have_text("1")
    send(ben, "Friday works. Noon?")
    expect(ann.locator(".message .body").last).to_have_text("Friday works. Noon?")
    send(ann, "Noon it is")
    expect(ben.locator(".message .body").last).to_have_text("Noon it is")
    expect(ann.locator("#seen")).to_have_text("Seen")
    expect(ann.locator(".message.pending")).to_have_count(0)
    expect(ben.locator(".message.pending")).to_have_count(0)
    screenshots("chat", ann=ann, ben=ben)

    # Ann sends a photo: Ben sees its thumbnail inline and can download it.
    photo = tmp_path / "harbour.png"
    image = Image.new("RGB", (800, 600), (40, 110, 190))
    ImageDraw.Draw(image).rectangle((100, 350, 700, 550), fill=(230, 200, 120))
    image.save(photo)
    ann.set_input_files("#composer-file", str(photo))
    expect(ann.locator("#composer-attachments li .state")).to_have_text(
        re.compile(r"\d+ (B|KB|MB)$")
    )
    send(ann, "The place")
    shared = ben.locator(".message").filter(has_text="The place")
    thumbnail = shared.locator(".attachments img")
    expect(thumbnail).to_be_visible()
    expect(thumbnail).to_have_attribute("alt", "harbour.png")
    # decode() settles once the thumbnail's bytes are loaded, and fails on a broken image.
    assert thumbnail.evaluate("img => img.decode().then(() => img.naturalWidth)") == 480
    photo_url = base + shared.locator("a.attachment-image").get_attribute("href")
    download = ben.request.get(photo_url)
    assert download.status == 200
    assert download.headers["content-type"] == "image/png"
    assert download.body() == photo.read_bytes()
    expect(ann.locator(".message.mine").filter(has_text="The place").locator("img")).to_be_visible()
    screenshots("photo", ann=ann, ben=ben)

    # Ann edits a message and Ben reacts to one he saw when the page opened;
    # each sees the other's change live.
    edited = ann.locator(".message.mine").filter(has_text="Noon it is")
    ann.once("dialog", lambda dialog: dialog.accept("Noon it is, at the harbour"))
    edited.hover()
    edited.locator("button[data-action=edit]").click()
    ben_edited = ben.locator(".message").filter(has_text="Noon it is, at the harbour")
    expect(ben_edited.locator(".edited")).to_have_text("edited")
    first = ben.locator(".message").filter(has_text="lunch on Friday")
    first.hover()
    first.locator("button[data-action=react][data-emoji='👍']").click()
    expect(first.locator(".reaction")).to_have_text("👍 1")
    ann_first = ann.locator(".message.mine").filter(has_text="lunch on Friday")
    expect(ann_first.locator(".reaction")).to_have_text("👍 1")
    assert_not_reloaded(ann)
    assert_not_reloaded(ben)
    screenshots("edit-and-reaction", ann=ann, ben=ben)

    # Ben searches the history and opens the result where it was said.
    ben.fill("#sidebar-search", "lunch")
    ben.keyboard.press("Enter")
    ben.wait_for_url(re.compile(r"/conversations/search/\?q=lunch"))
    hits = ben.locator(".search-results li")
    expect(hits).to_have_count(1)
    expect(hits).to_contain_text("ann")
    screenshots("search", ben=ben)
    hits.locator("a").click()
    ben.wait_for_url(re.compile(r"/conversations/\d+/\?around=\d+#m\d+$"))
    found = ben.locator(".message:target")
    expect(found).to_contain_text("Hello Ben, lunch on Friday?")
    expect(found).to_be_in_viewport()
    expect_socket_open(ben)
    screenshots("search-result", ben=ben)

    # Ann, with a second tab open, logs out: that tab's socket is closed
    # and stays closed, Ben sees her go offline, and her pages and files
    # send her to the login page.
    ann_tab = ann.context.new_page()
    ann_tab.goto(conversation_url)
    expect_socket_open(ann_tab)
    ben_contacts = ben.context.new_page()
    ben_contacts.goto(f"{base}/contacts/")
    expect_socket_open(ben_contacts)
    ben_ann = ben_contacts.locator("#contacts-heading + ul li").filter(has_text="ann")
    expect(ben_ann.locator(".presence")).to_have_text("online")
    ann.get_by_role("button", name="Log out").click()
    ann.wait_for_url(re.compile(r"/accounts/login/"))
    expect(ann_tab.locator("html")).to_have_attribute("data-socket", "closed")
    expect(ben_ann.locator(".presence")).to_have_text("offline")
    send(ben, "See you there")
    expect(ben.locator(".message").last).to_contain_text("See you there")
    expect(ben.locator(".message.pending")).to_have_count(0)
    expect(ann_tab.locator(".message").filter(has_text="See you there")).to_have_count(0)
    expect(ann_tab.locator("html")).to_have_attribute("data-socket", "closed")
    screenshots("logged-out", ann=ann, ann_tab=ann_tab, ben=ben_contacts)
    ann_tab.reload()
    expect(ann_tab).to_have_url(re.compile(r"/accounts/login/\?next=/conversations/\d+/$"))
    assert ann.request.get(photo_url).url.startswith(f"{base}/accounts/login/")
