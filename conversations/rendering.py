"""Message bodies as safe HTML: a Markdown subset, sanitised, with @mentions.

markdown-it-py renders (no raw HTML, links auto-detected); nh3 then keeps
only the tags of the subset and forces ``rel="noopener nofollow"`` on links,
so whatever a renderer bug lets through, the output stays inert.
"""

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

# A username as Django's default validator allows it, after an "@" that does
# not follow a word character (so e-mail addresses are not mentions).
MENTION = re.compile(r"(?<![\w@.])@([\w.@+-]{1,150})(?<![.])")

ALLOWED_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "s",
    "del",
    "code",
    "pre",
    "a",
    "blockquote",
    "ul",
    "ol",
    "li",
    "span",
}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "span": {"class"}, "code": {"class"}}


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True})
        .enable(["linkify", "strikethrough"])
        .disable(["image", "heading", "lheading", "hr", "table"], ignoreInvalid=True)
    )


def mentioned_usernames(body: str) -> set[str]:
    """Return the lower-cased usernames a body mentions with ``@``."""
    return {name.lower() for name in MENTION.findall(body)}


def body_render(body: str, *, mentionable: set[str] | None = None) -> str:
    """Render a message body to sanitised HTML.

    ``@name`` becomes a mention mark when ``name`` (lower-cased) is in
    ``mentionable`` (the conversation's members).
    """
    html = _markdown().render(body)
    if mentionable:
        html = _mark_mentions(html, mentionable)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        link_rel="noopener nofollow",
        url_schemes={"http", "https", "mailto"},
    )


_TEXT_BETWEEN_TAGS = re.compile(r">([^<]+)<")


def _mark_mentions(html: str, mentionable: set[str]) -> str:
    def mark_text(match: re.Match[str]) -> str:
        text = MENTION.sub(
            lambda m: (
                f'<span class="mention">@{m.group(1)}</span>'
                if m.group(1).lower() in mentionable
                else m.group(0)
            ),
            match.group(1),
        )
        return f">{text}<"

    # Mentions only in text, never inside tags or attribute values; the
    # text is already HTML-escaped by the renderer.
    return _TEXT_BETWEEN_TAGS.sub(mark_text, html)
