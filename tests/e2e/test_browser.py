"""In a real browser (Debian's chromium driven by Playwright): two people sign
up, find each other, become contacts and chat live.

The web process is daphne in a child process; the consumers run in the test
process; every service is real.  Screenshots: var/test-artifacts/e2e/<test>/.
"""

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect

from messenger.kafka.topics import Topic
from tests.e2e.conftest import Screenshots, log_in, sign_up
from tests.factories import UserFactory, make_contacts

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_people_become_contacts_and_chat_live(
    daphne: str, start_consumer, browser: Browser, screenshots: Screenshots, tmp_path: Path
) -> None:
    start_consumer(topics=[Topic.MESSAGES, Topic.NOTIFICATIONS])
    base = f"http://{daphne}"
    ann = sign_up(browser, base, "ann")
    ben = sign_up(browser, base, "ben")

    # Ann sets a display name and an avatar.
    picture = tmp_path / "avatar.png"
    Image.new("RGB", (300, 200), (30, 90, 200)).save(picture)
    ann.goto(f"{base}/people/me/edit/")
    ann.fill("#id_display_name", "Ann <b>A</b>")
    ann.set_input_files("#id_avatar", str(picture))
    ann.click("form.stack button[type=submit]")
    ann.wait_for_url(f"{base}/people/ann/")
    expect(ann.locator(".profile img.avatar")).to_be_visible()

    # Ben cannot write to a stranger.
    ben.fill("#start-username", "ann")
    ben.click("form.start button")
    expect(ben.locator(".flash")).to_contain_text("Add Ann <b>A</b> to your contacts")

    # Ann finds Ben and asks; Ben sees it live and accepts without a reload.
    ben.goto(f"{base}/contacts/")
    ann.goto(f"{base}/contacts/?q=BE")
    ann.locator("form[data-async] button", has_text="Add").click()
    expect(ben.locator("#toasts li")).to_contain_text(
        "Ann <b>A</b> wants to add you", timeout=10_000
    )
    expect(ben.locator("#incoming-heading .badge")).to_have_text("1", timeout=10_000)
    screenshots("contacts-request", ben=ben)
    ben.locator("button", has_text="Accept").click()
    expect(ben.locator("#contacts-heading + ul li")).to_contain_text("Ann <b>A</b>", timeout=10_000)
    expect(ann.locator("#toasts li")).to_contain_text("ben accepted", timeout=10_000)

    # Ann sees Ben online, opens the conversation, and they chat.
    ann.goto(f"{base}/contacts/")
    expect(ann.locator("#contacts-heading + ul li .online")).to_have_text("online")
    ann.locator("#contacts-heading + ul li button", has_text="Message").click()
    ann.wait_for_url(f"{base}/conversations/*/")
    ben.goto(ann.url)
    ann.fill("#composer-body", "Hi <script>alert(1)</script> Ben")
    ann.keyboard.press("Enter")
    expect(ben.locator(".message .body").last).to_have_text(
        "Hi <script>alert(1)</script> Ben", timeout=10_000
    )
    expect(ben.locator(".message img.avatar").last).to_be_visible()
    ben.fill("#composer-body", "Hello Ann")
    ben.keyboard.press("Enter")
    expect(ann.locator(".message .body").last).to_have_text("Hello Ann", timeout=10_000)
    expect(ann.locator(".message.pending")).to_have_count(0)
    screenshots("chat", ann=ann, ben=ben)

    # Ben blocks Ann: her next message is refused, and she can't see him.
    ben.goto(f"{base}/contacts/")
    ben.locator("#contacts-heading + ul li button", has_text="Block").click()
    expect(ben.locator("#blocked-heading + ul li")).to_contain_text("Ann <b>A</b>", timeout=10_000)
    ann.fill("#composer-body", "are you there?")
    ann.keyboard.press("Enter")
    expect(ann.locator(".message.failed time")).to_contain_text(
        "can't send messages", timeout=10_000
    )
    assert ann.request.get(f"{base}/people/ben/").status == 404


@pytest.fixture
def trio(transactional_db: None) -> None:
    """Ann, with Ben and Cat as contacts (made before the browser starts its loop)."""
    ann, ben, cat = (UserFactory(username=n, display_name=n.title()) for n in ("ann", "ben", "cat"))
    make_contacts(ann, ben)
    make_contacts(ann, cat)


@pytest.mark.usefixtures("trio")
def test_a_group_chat_with_replies_edits_reactions_receipts_and_typing(
    daphne: str, start_consumer, browser: Browser, screenshots: Screenshots
) -> None:
    start_consumer(topics=[Topic.MESSAGES, Topic.ACTIVITY, Topic.NOTIFICATIONS])
    base = f"http://{daphne}"
    a, b = log_in(browser, base, "ann"), log_in(browser, base, "ben")

    # Ann creates a group with Ben and Cat; the creation is in its history.
    a.click("details.new-group summary")
    a.fill("#group-title", "Trip <planning>")
    a.check("input[name=members][value=ben]")
    a.check("input[name=members][value=cat]")
    a.click("details.new-group button[type=submit]")
    a.wait_for_url(f"{base}/conversations/*/")
    expect(a.locator(".message.system .body").first).to_have_text(
        "Ann created the group “Trip <planning>”.", timeout=10_000
    )
    group_url = a.url
    b.goto(group_url)
    for page in (a, b):
        expect(page.locator("html")).to_have_attribute("data-socket", "open", timeout=10_000)

    # Ben types; Ann sees it.  Ann writes Markdown; Ben sees it rendered.
    b.fill("#composer-body", "typing…")
    expect(a.locator("#typing")).to_have_text("Ben is typing…", timeout=10_000)
    b.fill("#composer-body", "")
    a.fill("#composer-body", "Shall we go **north**? @ben")
    a.keyboard.press("Enter")
    last_b = b.locator(".message:not(.system)").last
    expect(last_b.locator(".body strong")).to_have_text("north", timeout=10_000)
    expect(last_b.locator(".body .mention")).to_have_text("@ben")
    # Ben has it on screen: Ann's message shows "Seen by 1".
    expect(a.locator("#seen")).to_have_text("Seen by 1", timeout=10_000)

    # Ben replies with a quote and reacts; Ann sees both live.
    last_b.hover()
    last_b.locator("button[data-action=reply]").click()
    b.fill("#composer-body", "Yes!")
    b.keyboard.press("Enter")
    expect(a.locator(".message .quote").last).to_have_text(
        "Ann: Shall we go **north**? @ben", timeout=10_000
    )
    first_a = a.locator(".message.mine").first
    last_b = b.locator(".message:not(.system)").filter(has_text="north").first
    last_b.hover()
    last_b.locator("button[data-action=react]").first.click()
    expect(first_a.locator(".reaction")).to_have_text("👍 1", timeout=10_000)

    # Ann edits her message; Ben sees the edit.
    a.once("dialog", lambda dialog: dialog.accept("Shall we go **south**?"))
    first_a.hover()
    first_a.locator("button[data-action=edit]").click()
    expect(b.locator(".message").filter(has_text="south").locator(".edited")).to_have_text(
        "edited", timeout=10_000
    )
    screenshots("group", ann=a, ben=b)
