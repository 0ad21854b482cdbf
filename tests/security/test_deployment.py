"""The production settings pass Django's deployment checks; every page carries
a Content-Security-Policy that allows our own scripts and styles only, and
the pages need nothing more (no inline script, style or event handler)."""

import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client

from conversations import groups
from tests.factories import DirectConversationFactory, UserFactory, make_contacts

pytestmark = pytest.mark.django_db


def test_the_production_settings_pass_check_deploy_at_warning_level() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "messenger.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "chat.example.com",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


class InlineCode(HTMLParser):
    """Collect inline scripts, style elements, style attributes and handlers:
    what the policy (no 'unsafe-inline') would block in a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and "src" not in values and values.get("type") != "application/json":
            self.in_script = True
        if tag == "style":
            self.found.append("<style>")
        for name in values:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in {"href", "action"} and (values[name] or "").startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.found.append(f"inline script {data.strip()[:40]!r}")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_pages_carry_a_strict_policy_and_need_nothing_it_blocks() -> None:
    ann, ben = UserFactory(), UserFactory(is_staff=True, is_superuser=True)
    make_contacts(ann, ben)
    chat = DirectConversationFactory(members=[ann, ben])
    group = groups.group_create(creator=ben, title="G", members=[ann])
    visitor = Client()
    pages = {"/accounts/login/": visitor.get("/accounts/login/")}
    pages["/accounts/signup/"] = visitor.get("/accounts/signup/")
    browser = Client()
    browser.force_login(ben)
    for path in (
        "/conversations/",
        f"/conversations/{chat.pk}/",
        f"/conversations/{group.pk}/",
        "/conversations/search/?q=x",
        "/contacts/",
        f"/people/{ann.username}/",
        "/people/me/edit/",
        "/notifications/",
        "/notifications/settings/",
        "/accounts/password/change/",
        "/admin/",
        "/admin/operations/",
    ):
        pages[path] = browser.get(path)
    for path, answer in pages.items():
        assert answer.status_code == 200, path
        policy = answer["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        if not path.startswith("/admin/") or path == "/admin/operations/":
            # Django's own admin pages are Django's; ours are checked.
            assert inline_code(answer.content.decode()) == [], path


def test_the_checker_sees_inline_code() -> None:
    assert inline_code('<script>alert(1)</script><p style="x" onclick="y"></p><style></style>')
    assert inline_code('<script src="/static/a.js"></script>') == []
