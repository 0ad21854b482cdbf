"""Message bodies: a safe Markdown subset, and an XSS corpus rendered inert."""

from html.parser import HTMLParser

import pytest

from conversations.rendering import ALLOWED_TAGS, body_render, mentioned_usernames


class Elements(HTMLParser):
    """Collect the elements and attributes a browser would build from HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def test_the_markdown_subset() -> None:
    html = body_render("**bold** _it_ `code` ~~gone~~\nnext line")
    assert "<strong>bold</strong>" in html
    assert "<em>it</em>" in html
    assert "<code>code</code>" in html
    assert "<s>gone</s>" in html
    assert "<br>" in html


def test_links_are_auto_detected_and_marked_noopener_nofollow() -> None:
    html = body_render("see https://example.com/a?b=1 and [docs](https://docs.example.org)")
    assert '<a href="https://example.com/a?b=1" rel="noopener nofollow">' in html
    assert '<a href="https://docs.example.org" rel="noopener nofollow">docs</a>' in html


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<a href="javascript:alert(1)">x</a>',
        "<svg onload=alert(1)>",
        "<iframe src=//evil.example>",
        '"><script>alert(1)</script>',
        "![x](https://evil.example/x.png)",
        "<style>body{display:none}</style>",
        "[x](vbscript:msgbox(1))",
        "<a href=' javascript:alert(1)'>x</a>",
    ],
)
def test_an_attack_is_rendered_inert(attack: str) -> None:
    html = body_render(attack, mentionable={"bob"})
    elements = Elements()
    elements.feed(html)
    for tag, attributes in elements.found:
        assert tag in ALLOWED_TAGS, (attack, html)
        for name, value in attributes:
            assert not name.startswith("on"), (attack, html)
            if name == "href":
                assert (value or "").startswith(("http://", "https://", "mailto:")), (attack, html)


def test_mentions_are_marked_only_for_members_and_not_in_addresses() -> None:
    html = body_render("hi @Bob and @eve, mail a@bob.example", mentionable={"bob"})
    assert '<span class="mention">@Bob</span>' in html
    assert "@eve" in html
    assert '<span class="mention">@eve' not in html
    assert mentioned_usernames("hi @Bob and @eve, mail a@bob.example") == {"bob", "eve"}
