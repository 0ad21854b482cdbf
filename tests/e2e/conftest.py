"""Browser tests: Debian's chromium driven by Playwright, signing up and logging
in through it, and screenshots kept as test artifacts.

Screenshots go to ``var/test-artifacts/e2e/<test name>/``: the steps a test
records (``NN-step-<who>.png``) and, when a test fails, every page still open
(``failure-<context>-<page>.png``).  The folder is emptied when the test starts.
"""

import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from accounts.models import User
from conversations.models import Conversation
from tests.factories import PASSWORD, DirectConversationFactory, UserFactory, make_contacts

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "e2e"
SIGN_UP_PASSWORD = "a long pass phrase 1"
_call_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    """Remember whether the test itself failed, for the browser fixture's teardown."""
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_call_failed] = report.failed
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    """Close the database connections the test body opened, where it opened them.

    Under Playwright's sync API a test body's ORM calls get connections of
    their own (Django keeps connections per context), which pytest-django's
    teardown does not see; the test database could not be dropped.
    """
    try:
        return (yield)
    finally:
        # Playwright's event loop counts as running in this thread.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            connections.close_all()


def alice_and_bob_chat() -> tuple[User, Conversation]:
    """Create Alice and Bob as each other's contacts; return Alice and their conversation.

    Called from a test's body (after it allows the ORM beside Playwright's
    event loop), not as a fixture, which would run beside that loop unallowed.
    """
    alice = UserFactory(username="alice", display_name="Alice")
    bob = UserFactory(username="bob", display_name="Bob")
    make_contacts(alice, bob)
    return alice, DirectConversationFactory(members=[alice, bob])


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Return this test's empty screenshot folder."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class Screenshots:
    """Numbered screenshots of the steps of a test, one file per page."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.step = 0

    def __call__(self, name: str, **pages: Page) -> None:
        """Save ``NN-<name>-<who>.png`` for each page, named by keyword."""
        self.step += 1
        for who, page in pages.items():
            page.screenshot(path=self.folder / f"{self.step:02d}-{name}-{who}.png")


@pytest.fixture
def screenshots(artifacts: Path) -> Screenshots:
    return Screenshots(artifacts)


@pytest.fixture
def browser(request: pytest.FixtureRequest, artifacts: Path) -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Debian's chromium is needed: apt-get install chromium (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        # Kafka round trips on a busy shared machine can take seconds.
        expect.set_options(timeout=15_000)
        yield browser
        if request.node.stash.get(_call_failed, False):
            for c, context in enumerate(browser.contexts, start=1):
                for p, page in enumerate(context.pages, start=1):
                    try:
                        page.screenshot(path=artifacts / f"failure-{c}-{p}.png", timeout=5_000)
                    except PlaywrightError:
                        continue  # A crashed or closing page: the others still count.
        browser.close()


def new_page(browser: Browser) -> Page:
    """Open a page in a new browser context (a person of their own)."""
    return browser.new_context(viewport={"width": 1100, "height": 750}).new_page()


def log_in(browser: Browser, base: str, username: str, password: str = PASSWORD) -> Page:
    """Open a new browser context and log the person in with the login form."""
    page = new_page(browser)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/conversations/")
    return page


def sign_up(browser: Browser, base: str, username: str, password: str = SIGN_UP_PASSWORD) -> Page:
    """Open a new browser context and sign the person up with allauth's form."""
    page = new_page(browser)
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=email]", f"{username}@example.com")
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", password)
    page.fill("input[name=password2]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/conversations/")
    return page


def expect_socket_open(page: Page) -> None:
    """Wait for the page's WebSocket to be connected (socket.js marks <html>)."""
    expect(page.locator("html")).to_have_attribute("data-socket", "open")
