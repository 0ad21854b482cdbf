"""Message search: PostgreSQL full text over one's own conversations."""

import uuid

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.models import MESSAGE_ID_BUCKET, Message, message_id_buckets_q
from conversations.search import (
    SearchError,
    messages_search,
    messages_search_queryset,
)
from conversations.services import messages_store
from tests.factories import DirectConversationFactory, UserFactory, message_sent_envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(alice, bob):
    return DirectConversationFactory(members=[alice, bob])


def say(conversation, sender, *bodies: str) -> list[Message]:
    return messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=sender, body=body)
            for body in bodies
        ]
    )


def bodies(hits) -> list[str]:
    return [hit.message.body for hit in hits]


def test_finds_words_in_ones_conversations_newest_first(chat, alice, bob) -> None:
    say(chat, alice, "the coffee is ready", "nothing here", "More COFFEE please")
    say(chat, bob, "tea or coffee?")

    hits = messages_search(user=bob, query="coffee")

    assert bodies(hits) == ["tea or coffee?", "More COFFEE please", "the coffee is ready"]
    assert hits[1].url == f"/conversations/{chat.pk}/?around=3#m3"
    assert hits[1].snippet == "More <mark>COFFEE</mark> please"


def test_other_peoples_conversations_are_never_searched(chat, alice) -> None:
    say(chat, alice, "secret plans")
    outsider = UserFactory()
    say(DirectConversationFactory(members=[outsider, UserFactory()]), outsider, "public plans")

    assert bodies(messages_search(user=outsider, query="plans")) == ["public plans"]
    assert bodies(messages_search(user=alice, query="plans")) == ["secret plans"]


def test_deleted_messages_are_not_found(chat, alice) -> None:
    _kept, gone = say(chat, alice, "keep the lemon", "drop the lemon")
    Message.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())

    assert bodies(messages_search(user=alice, query="lemon")) == ["keep the lemon"]


def test_filters_by_conversation_and_by_person(chat, alice, bob) -> None:
    say(chat, alice, "alice says pizza")
    say(chat, bob, "bob says pizza")
    group = DirectConversationFactory(members=[alice, UserFactory()])
    say(group, alice, "pizza elsewhere")

    assert bodies(messages_search(user=alice, query="pizza", conversation_id=chat.pk)) == [
        "bob says pizza",
        "alice says pizza",
    ]
    assert bodies(messages_search(user=alice, query="pizza", sender_id=bob.pk)) == [
        "bob says pizza"
    ]
    # A conversation one is not in gives nothing, not an error.
    assert messages_search(user=bob, query="pizza", conversation_id=group.pk) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"red apple"', ["a red apple"]),
        ("apple -red", ["a green apple"]),
        ("red or green", ["a green apple", "a red apple"]),
        # to_tsquery's operators are punctuation here: "apple & red".
        ("apple & !red | (", ["a red apple"]),
        ("!!! ::: &&& ((( )))", []),
        ("'; DROP TABLE conversations_message; --", []),
        ("apple\x00", ["a green apple", "a red apple"]),  # PostgreSQL refuses NUL in text
    ],
)
def test_operators_work_and_syntax_never_breaks_a_search(chat, alice, query, expected) -> None:
    say(chat, alice, "a red apple", "a green apple")

    hits = messages_search(user=alice, query=query)

    assert sorted(bodies(hits)) == sorted(expected)
    assert Message.objects.count() == 2


def test_a_query_of_ten_thousand_characters_is_refused_clearly(chat, alice) -> None:
    say(chat, alice, "hello")

    with CaptureQueriesContext(connection) as queries, pytest.raises(SearchError) as error:
        messages_search(user=alice, query="hello " * 1667)

    assert error.value.code == "query_too_long"
    assert error.value.message == "A search has at most 500 characters."
    assert len(queries) == 0


def test_an_empty_query_finds_nothing_without_asking_the_database(chat, alice) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert messages_search(user=alice, query="   ") == []
    assert len(queries) == 0


def test_snippets_are_html_escaped_and_only_matches_are_marked(chat, alice) -> None:
    say(
        chat,
        alice,
        '<img src=x onerror="alert(1)"> pasta & "beans" 1 < 2 > 0 a<b <b>bold</b>'
        " \ue000fake\ue001 \ue000",
    )

    (hit,) = messages_search(user=alice, query="pasta")

    # ts_headline drops tag-like tokens; what remains is escaped text.
    assert "<img" not in hit.snippet
    assert "<b>" not in hit.snippet
    assert hit.snippet.startswith(
        "<mark>pasta</mark> &amp; &quot;beans&quot; 1 &lt; 2 &gt; 0 a&lt;b"
    )
    # Marker characters typed into a message mark nothing and never leak.
    assert hit.snippet.count("<mark>") == hit.snippet.count("</mark>") == 1
    assert "\ue000" not in hit.snippet
    assert "\ue001" not in hit.snippet


def test_long_messages_get_a_short_snippet_around_the_match(chat, alice) -> None:
    body = " ".join(["filler"] * 400 + ["needle"] + ["filler"] * 400)
    say(chat, alice, body)

    (hit,) = messages_search(user=alice, query="needle")

    assert "<mark>needle</mark>" in hit.snippet
    assert len(hit.snippet) < 400


def test_the_search_uses_the_gin_index(chat, alice) -> None:
    say(chat, alice, *[f"message number {i}" for i in range(3000)], "a rare zebra")
    queryset = messages_search_queryset(user=alice, query="zebra")
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # New rows wait in the index's pending list until autovacuum moves
        # them in; a short table's long pending list makes GIN look dear.
        cursor.execute("SELECT gin_clean_pending_list('message_group_search')")
        cursor.execute("ANALYZE conversations_message")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "message_group_search" in plan
    assert "websearch_to_tsquery" in str(queryset.query)


def newest_ids_from(first_id: int) -> None:
    """Give the next messages ids from first_id on (sequences ignore rollbacks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('conversations_message', 'id'), %s, false)",
            [first_id],
        )


def test_the_id_groups_of_a_window_are_what_the_search_index_is_asked(chat, alice) -> None:
    # Groups of 65,536 ids: ids 131,070 to 131,073 are in groups 1 and 2.
    newest_ids_from(2 * MESSAGE_ID_BUCKET - 2)
    say(chat, alice, *[f"zebra {n}" for n in range(4)])
    window = Message.objects.filter(
        message_id_buckets_q(first_id=2 * MESSAGE_ID_BUCKET - 2, last_id=2 * MESSAGE_ID_BUCKET + 1),
        search_vector=SearchQuery("zebra", config="simple"),
    )
    sql, params = window.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # Bitmap scans only: what can the search index be asked?
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Bitmap Index Scan on message_group_search" in plan
    # One equality a group, of the index's type (bigint), or GIN could not use it.
    asked = " ".join(line for line in plan.splitlines() if "Index Cond" in line)
    assert "((id / 65536) = '1'::bigint)" in asked, plan
    assert "((id / 65536) = '2'::bigint)" in asked, plan
    assert "'0'::bigint" not in asked
    assert "'3'::bigint" not in asked
    assert sorted(bodies_of(window)) == ["zebra 0", "zebra 1", "zebra 2", "zebra 3"]


def bodies_of(messages) -> list[str]:
    return [message.body for message in messages]


def test_the_planner_knows_how_many_messages_an_id_group_holds() -> None:
    # Migration 0006: without statistics of the index's expression a group
    # looks like 0.5% of the table, and common words look rare in it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_statisticsobjdef_expressions(s.oid),"
            " pg_get_indexdef('message_group_search'::regclass, 1, false)"
            " FROM pg_statistic_ext s WHERE s.stxname = 'message_id_bucket'"
        )
        (statistics, index) = cursor.fetchone()
    # The same expression (an index column's definition adds parentheses),
    # and the index's first column: GIN checks its columns in order.
    assert statistics == ["(id / 65536)"]
    assert index == "((id / 65536))"


def test_passes_over_windows_that_span_id_groups_find_what_one_pass_over_all_finds(
    chat, alice, monkeypatch
) -> None:
    newest_ids_from(3 * MESSAGE_ID_BUCKET - 20)
    say(chat, alice, *[f"old kiwi {n}" for n in range(4)])
    say(chat, alice, *[f"filler {n}" for n in range(30)])
    say(chat, alice, *[f"new kiwi {n}" for n in range(3)])
    monkeypatch.setattr("conversations.search.RECENT_WINDOWS", ())
    whole = bodies(messages_search(user=alice, query="kiwi", limit=5))
    # Windows of 5 and 25 ids, searched as whole groups of ids: the first
    # one is group 3 (196,608 on), the second one reaches into group 2.
    monkeypatch.setattr("conversations.search.RECENT_WINDOWS", (5, 25))

    with CaptureQueriesContext(connection) as captured:
        windowed = bodies(messages_search(user=alice, query="kiwi", limit=5))

    assert (
        windowed == whole == ["new kiwi 2", "new kiwi 1", "new kiwi 0", "old kiwi 3", "old kiwi 2"]
    )
    passes = [q["sql"] for q in captured.captured_queries if "websearch_to_tsquery" in q["sql"]]
    # Ids 196,588 to 196,624: group 3 holds the three new kiwis, the second
    # pass finds the old ones in group 2, and no third pass is needed.
    assert len(passes) == 2
    assert "/ 65536) = (3)::bigint" in passes[0]
    assert "/ 65536) = (2)::bigint" not in passes[0]
    assert "/ 65536) = (2)::bigint OR" in passes[1]
    assert "/ 65536) = (3)::bigint" in passes[1]
    assert '"conversations_message"."id" > ' not in passes[0] + passes[1]


# ------------------------------------------------------------------ page ---


def page(user, **params) -> object:
    client = Client()
    client.force_login(user)
    return client.get(reverse("conversations:search"), params)


def test_the_page_shows_escaped_highlighted_results_linking_into_the_conversation(
    chat, alice, bob
) -> None:
    say(chat, bob, "see you at the station & <b>bring</b> 1 < 2")

    response = page(alice, q="station")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/conversations/{chat.pk}/?around=1#m1"' in html
    assert "see you at the <mark>station</mark> &amp; bring 1 &lt; 2" in html
    assert "1 &lt; 2" in html
    assert "<b>" not in html
    assert "1 message" in html


def test_the_page_filters_by_person_and_conversation(chat, alice, bob) -> None:
    say(chat, alice, "mine: kiwi")
    say(chat, bob, "yours: kiwi")

    html = page(alice, q="kiwi", person="bob", conversation=str(chat.pk)).content.decode()

    assert "yours: <mark>kiwi</mark>" in html
    assert "mine:" not in html


def test_the_page_explains_bad_input_and_changes_nothing(chat, alice) -> None:
    say(chat, alice, "hello")
    before = list(Message.objects.values_list("pk", "body"))

    too_long = page(alice, q="x" * 10_000)
    nobody = page(alice, q="hello", person="nobody-" + uuid.uuid4().hex[:6])
    foreign = page(alice, q="hello", conversation="999999")

    assert too_long.status_code == 400
    assert "A search has at most 500 characters." in too_long.content.decode()
    assert nobody.status_code == 400
    assert "There is nobody called" in nobody.content.decode()
    # A conversation that is not yours is ignored: all of yours are searched.
    assert foreign.status_code == 200
    assert "<mark>hello</mark>" in foreign.content.decode()
    assert list(Message.objects.values_list("pk", "body")) == before


def test_the_page_needs_a_login() -> None:
    response = Client().get(reverse("conversations:search"), {"q": "x"})
    assert response.status_code == 302


def test_the_conversations_page_has_a_search_box(alice) -> None:
    client = Client()
    client.force_login(alice)
    html = client.get(reverse("conversations:index")).content.decode()
    assert f'action="{reverse("conversations:search")}"' in html


def test_the_search_vector_keeps_detailed_statistics() -> None:
    # Migration 0003: rare words must not look common to the planner.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute"
            " WHERE attrelid = 'conversations_message'::regclass AND attname = 'search_vector'"
        )
        assert cursor.fetchone()[0] == 10000


def test_a_window_that_would_hold_too_few_matches_is_skipped(chat, alice, monkeypatch) -> None:
    monkeypatch.setattr("conversations.search.RECENT_WINDOWS", (5, 20))
    monkeypatch.setattr("conversations.models.MESSAGE_ID_BUCKET", 1)
    say(chat, alice, *[f"old kiwi {n}" for n in range(6)])
    say(chat, alice, *[f"filler {n}" for n in range(30)])

    with CaptureQueriesContext(connection) as captured:
        found = bodies(messages_search(user=alice, query="kiwi", limit=5))

    assert found == ["old kiwi 5", "old kiwi 4", "old kiwi 3", "old kiwi 2", "old kiwi 1"]
    # None in the newest 5 ids: none expected in the newest 20 either, so
    # the whole history comes next.
    passes = [q["sql"] for q in captured.captured_queries if "websearch_to_tsquery" in q["sql"]]
    assert len(passes) == 2
    assert '"conversations_message"."id" / 1' in passes[0]
    assert '"conversations_message"."id" / 1' not in passes[1]


def test_the_newest_messages_are_searched_first_and_the_rest_only_when_needed(
    chat, alice, monkeypatch
) -> None:
    monkeypatch.setattr("conversations.search.RECENT_WINDOWS", (5, 20))
    # Groups of one id: the windows are exactly the newest 5 and 20 ids.
    monkeypatch.setattr("conversations.models.MESSAGE_ID_BUCKET", 1)
    say(chat, alice, *[f"old kiwi {n}" for n in range(4)])
    say(chat, alice, *[f"filler {n}" for n in range(30)])
    say(chat, alice, *[f"new kiwi {n}" for n in range(3)])

    with CaptureQueriesContext(connection) as three_passes:
        found = bodies(messages_search(user=alice, query="kiwi", limit=5))
    with CaptureQueriesContext(connection) as one_pass:
        recent = bodies(messages_search(user=alice, query="kiwi", limit=3))

    assert found == ["new kiwi 2", "new kiwi 1", "new kiwi 0", "old kiwi 3", "old kiwi 2"]
    assert recent == ["new kiwi 2", "new kiwi 1", "new kiwi 0"]
    passes = [q for q in three_passes.captured_queries if "websearch_to_tsquery" in q["sql"]]
    assert len(passes) == 3
    passes = [q for q in one_pass.captured_queries if "websearch_to_tsquery" in q["sql"]]
    assert len(passes) == 1
