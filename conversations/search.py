"""Full-text search over the messages of one's own conversations.

PostgreSQL does the work: ``Message.search_vector`` is a stored
``to_tsvector('simple', body)`` with a GIN index (``message_group_search``,
the id group and the words of each message), the
query goes through ``websearch_to_tsquery`` (words, ``"quoted phrases"``,
``or``, ``-not``; it never raises a syntax error, whatever is typed), and
``ts_headline`` cuts the snippets.  Results are newest first, as people look
for a message they remember.

The newest messages are searched first (:data:`RECENT_WINDOWS`), the whole
history only when they hold too few matches: a query's cost then depends on
how common its words are, not on how many messages there are in all.  A
window is asked of the index as its id groups, so the index yields the
window's matches only, not every match of the words in the whole history.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery
from django.db import connection, transaction
from django.db.models import Max, QuerySet, Value
from django.db.models.functions import Replace
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from conversations.models import Membership, Message, message_id_buckets_q
from messenger.errors import RuleError

# Private-use characters mark the matches in ts_headline's output; the text
# is HTML-escaped first, then only balanced marks become <mark> elements.
START_SEL = "\ue000"
STOP_SEL = "\ue001"
_MARKED = re.compile(f"{START_SEL}([^{START_SEL}{STOP_SEL}]*){STOP_SEL}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# How many message ids (newest first) each pass looks at before the whole
# history.  A word common enough to be found in the first window is found
# there whatever the history's size; rarer words have few matches anywhere.
RECENT_WINDOWS = (100_000, 1_000_000)


class SearchError(RuleError):
    """A search the rules refuse; the message is shown to the person."""


@dataclass(frozen=True)
class SearchHit:
    """One message found, with its highlighted snippet and where it is."""

    message: Message
    snippet: SafeString
    url: str


def search_query_clean(query: str) -> str:
    """Return the query ready for PostgreSQL, or raise SearchError if it is too long.

    Control characters (NUL included, which PostgreSQL refuses in text) and
    surplus white space go; operators stay, ``websearch_to_tsquery`` reads them.
    """
    limit = settings.SEARCH_MAX_QUERY_LENGTH
    if len(query) > limit:
        raise SearchError("query_too_long", f"A search has at most {limit} characters.")
    return " ".join(_CONTROL.sub(" ", query).split())


def messages_search_queryset(
    *,
    user: User,
    query: str,
    conversation_id: int | None = None,
    sender_id: int | None = None,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = 20,
) -> QuerySet[Message]:
    """Return one pass of :func:`messages_search` (for EXPLAIN and tests).

    ``after_id`` narrows the pass to messages with a greater id; with
    ``before_id`` too, and a window of at most a quarter of the ids below
    ``before_id``, to the whole id groups of the window
    (:func:`~conversations.models.message_id_buckets_q`): a few older
    messages more, never fewer, and the index yields the window's matches only.
    """
    search = SearchQuery(query, search_type="websearch", config="simple")
    memberships = Membership.objects.filter(user=user)
    if conversation_id is not None:
        memberships = memberships.filter(conversation_id=conversation_id)
    # The ids themselves, not a subquery: with them the planner knows how
    # many messages the person's conversations hold (one may hold millions)
    # and picks the GIN index for rare words and a newest-first scan for
    # common ones, instead of reading whole conversations.
    conversation_ids = list(memberships.values_list("conversation_id", flat=True))
    messages = Message.objects.filter(
        search_vector=search,
        conversation_id__in=conversation_ids,
        deleted_at__isnull=True,
        kind=Message.Kind.TEXT,
    )
    if sender_id is not None:
        messages = messages.filter(sender_id=sender_id)
    if before_id is not None:
        # The next page of newest-first results: keyset on the primary key.
        messages = messages.filter(pk__lt=before_id)
    if after_id is not None and before_id is not None and (before_id - after_id) * 4 <= before_id:
        # Whole id groups, as the index holds them, and no exact bound as
        # well: the planner would count the window twice, take a common word
        # for a rare one and fetch its matches instead of walking the newest
        # messages (10m: 20 ms against 0.3 ms).
        messages = messages.filter(
            message_id_buckets_q(first_id=after_id + 1, last_id=before_id - 1)
        )
    elif after_id is not None:
        # A window of most of the history is cheaper read as the words'
        # matches: a group at a time costs more than it skips (1m: 9 ms
        # against 3 ms for the 1,000,000 newest of 1,100,000).
        messages = messages.filter(pk__gt=after_id)
    return (
        messages.annotate(
            # Computed for the returned rows only (after the LIMIT).
            headline=SearchHeadline(
                # Marker characters typed into a message must not mark anything.
                Replace(Replace("body", Value(START_SEL)), Value(STOP_SEL)),
                search,
                config="simple",
                start_sel=START_SEL,
                stop_sel=STOP_SEL,
                max_words=30,
                min_words=12,
            )
        )
        .defer("search_vector")
        # The senders of the page only: a join reads the whole user table
        # for a word with thousands of matches.
        .prefetch_related("sender")
        .order_by("-id")[:limit]
    )


def snippet_html(headline: str) -> SafeString:
    """Return ts_headline's output as safe HTML: escaped text, matches in <mark>."""
    escaped = escape(" ".join(headline.split()))
    marked = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return mark_safe(marked.replace(START_SEL, "").replace(STOP_SEL, ""))  # noqa: S308


def messages_search(
    *,
    user: User,
    query: str,
    conversation_id: int | None = None,
    sender_id: int | None = None,
    before_id: int | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Return the newest messages matching the query in the user's conversations.

    Only conversations the user is a member of are searched (now: leaving a
    conversation ends its search results too); deleted messages and system
    messages are not found.  ``conversation_id`` and ``sender_id`` narrow it;
    ``before_id`` (the last id of a page) continues it.
    """
    cleaned = search_query_clean(query)
    if not cleaned:
        return []
    top = before_id or (Message.objects.aggregate(newest=Max("id"))["newest"] or 0) + 1
    with transaction.atomic(), connection.cursor() as cursor:
        # History pages are in memory or on SSD: with the default (4, for
        # spinning disks) the planner walks a long conversation newest-first
        # for a word in a few thousand messages instead of fetching just
        # those from the GIN index (measured: 1.5 s against 0.5 s under load).
        cursor.execute("SET LOCAL random_page_cost = 1.1")
        found: list[Message] = []
        searched = 0  # the window of the last pass (none yet: nothing is skipped)
        for window in (*RECENT_WINDOWS, None):
            whole = window is None or window >= top
            if window is not None and not whole and 2 * len(found) * window < limit * searched:
                # At the last pass's density this window holds less than half
                # a page: a pass over it would most likely be followed by one
                # over the next (measured: p95 -15% at 1m and 10m).
                continue
            searched = window or 0
            found = list(
                messages_search_queryset(
                    user=user,
                    query=cleaned,
                    conversation_id=conversation_id,
                    sender_id=sender_id,
                    before_id=top,
                    after_id=None if whole else top - window,  # type: ignore[operator]
                    limit=limit,
                )
            )
            if whole or len(found) >= limit:
                break
    return [
        SearchHit(
            message=message,
            snippet=snippet_html(message.headline),  # type: ignore[attr-defined]
            url=message_url(conversation_id=message.conversation_id, sequence=message.sequence),
        )
        for message in found
    ]


def message_url(*, conversation_id: int, sequence: int) -> str:
    """Return the link that opens a message in its conversation, in context."""
    base = reverse("conversations:detail", args=[conversation_id])
    return f"{base}?around={sequence}#m{sequence}"
