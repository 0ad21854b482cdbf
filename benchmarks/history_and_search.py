"""Server time of opening a conversation, loading an older page, and searching.

Seeds databases of its own (never the configured one) with fast SQL
(``generate_series``, indexes built after the load), then times the selectors
the pages call, many iterations each, and prints p50/p95/p99 per size and the
ratio between sizes, plus the EXPLAIN ANALYZE plans showing the indexes used.

Sizes (``--sizes``, comma-separated):

* ``1m``:  one conversation of 1,000,000 messages among 10,000 conversations
  (the other 9,999 hold 10 messages each: 1,099,990 messages in all);
* ``10m``: one conversation of 10,000,000 messages among 100,000
  conversations (10,999,990 messages);
* ``NAME=MESSAGES:CONVERSATIONS`` for anything else, e.g. ``5m=5000000:50000``.

Each size lives in the database ``messenger_bench_<name>`` on the server of
``DATABASE_URL``, created (and migrated) by this script and kept for the next
run; ``--reseed`` rebuilds it, ``--drop`` removes them.  Seeding the 10m size
takes about ten minutes on two cores.

Usage: ``python benchmarks/history_and_search.py [--sizes 1m,10m]
[--iterations 2000]`` (``make bench-history``).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://messenger:messenger@127.0.0.1:5432/messenger"
SIZES = {"1m": (1_000_000, 10_000), "10m": (10_000_000, 100_000)}
SMALL_CONVERSATION_MESSAGES = 10
# The measured person is in the big conversation and in this many others,
# at every size: people do not join more conversations as the site grows.
MEMBER_OF = 200
PAGE = 50
SEARCH_LIMIT = 20
# Pseudo-words: three syllables of 30 give 27,000 words, drawn with a Zipf
# (1/rank) distribution as natural language is: the commonest word is in
# about four messages of ten, most words in very few.
SYLLABLES = [
    "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "va",
    "shi", "ro", "gu", "be", "ya", "zo", "fe", "ni", "wu", "ha",
    "to", "me", "ku", "ra", "si", "lu", "no", "pe", "dan", "mor",
]  # fmt: skip
VOCABULARY = len(SYLLABLES) ** 3
BODY_POOL = 200_000


def database_url(name: str) -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_URL))
    return urlunsplit(parts._replace(path=f"/{name}"))


def connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def log(text: str) -> None:
    print(text, flush=True)


# ----------------------------------------------------------------- seeding ---


def seed(name: str, messages: int, conversations: int, *, reseed: bool) -> None:
    db = f"messenger_bench_{name}"
    with connect(database_url("postgres")) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
        if exists and not reseed:
            with connect(database_url(db)) as conn:
                done = conn.execute("SELECT to_regclass('bench_meta') IS NOT NULL").fetchone()[
                    0
                ] and conn.execute("SELECT messages, conversations FROM bench_meta").fetchone() == (
                    messages,
                    conversations,
                )
            if done:
                log(f"[{name}] {db} already seeded; migrating and analysing")
                _migrate(db)
                with connect(database_url(db)) as conn:
                    conn.execute("ANALYZE conversations_message")
                return
        admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.execute(f'CREATE DATABASE "{db}"')
    started = time.monotonic()
    log(f"[{name}] migrating {db}")
    _migrate(db)
    with connect(database_url(db)) as conn:
        _seed_rows(conn, name, messages, conversations)
    log(f"[{name}] seeded in {time.monotonic() - started:.0f} s")


def _migrate(db: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(db),
            "DJANGO_SETTINGS_MODULE": "messenger.settings.local",
        },
        check=True,
    )


def _seed_rows(conn: Any, name: str, messages: int, conversations: int) -> None:
    from psycopg.sql import SQL

    users = max(conversations // 5, 10)
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    conn.execute("SET synchronous_commit = off")
    syllables = "ARRAY[" + ",".join(f"'{s}'" for s in SYLLABLES) + "]"
    n = len(SYLLABLES)
    conn.execute(
        f"""
        CREATE FUNCTION bench_word(r int) RETURNS text IMMUTABLE LANGUAGE sql AS $$
          SELECT ({syllables})[r % {n} + 1] || ({syllables})[(r / {n}) % {n} + 1]
                 || ({syllables})[(r / {n * n}) % {n} + 1]
        $$"""
    )
    # A Zipf rank in 0 .. VOCABULARY-1.
    conn.execute(
        f"""
        CREATE FUNCTION bench_rank() RETURNS int VOLATILE LANGUAGE sql AS $$
          SELECT least(floor(exp(random() * ln({VOCABULARY})))::int - 1, {VOCABULARY - 1})
        $$"""
    )
    # A pool of distinct bodies, reused round-robin: drawing eight words per
    # row would make the 10m seeding take an hour on two cores.
    body = " || ' ' || ".join(["bench_word(bench_rank())"] * 8)
    conn.execute(
        SQL(
            "CREATE TABLE bench_body AS SELECT i AS id, {body} AS body"
            " FROM generate_series(0, %s) AS i"
        ).format(body=SQL(body)),
        [BODY_POOL - 1],
    )
    conn.execute("ALTER TABLE bench_body ADD PRIMARY KEY (id)")
    conn.execute("ANALYZE bench_body")
    log(f"[{name}] users, conversations, memberships")
    conn.execute(
        """
        INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name,
            email, is_staff, is_active, date_joined, display_name, avatar, status_text)
        SELECT '!', false, 'bench' || i, '', '', 'bench' || i || '@example.com', false, true,
            now(), 'Bench ' || i, '', ''
        FROM generate_series(1, %s) AS i""",
        [users],
    )
    first_user = conn.execute("SELECT min(id) FROM accounts_user").fetchone()[0]
    conn.execute(
        """
        INSERT INTO conversations_conversation (id, kind, title, direct_key, last_sequence,
            last_message_at, created_at)
        SELECT i, 'direct', '', 'bench:' || i,
            CASE WHEN i = 1 THEN %s ELSE %s END, now(), now() - interval '1 year'
        FROM generate_series(1, %s) AS i""",
        [messages, SMALL_CONVERSATION_MESSAGES, conversations],
    )
    # Conversation 1 (the big one) and conversations 2..MEMBER_OF+1 are the
    # measured person's (user #1); the rest are between other people.
    conn.execute(
        """
        WITH pair AS (
            SELECT c, CASE WHEN c <= %(member_of)s + 1 THEN %(u)s
                           ELSE %(u)s + 2 + (c * 7) %% (%(n)s - 3) END AS a
            FROM generate_series(1, %(c)s) AS c
        )
        INSERT INTO conversations_membership (joined_at, last_read_sequence, conversation_id,
            user_id, role)
        SELECT now(), 0, c, a, 'member' FROM pair
        UNION ALL
        SELECT now(), 0, c,
            CASE WHEN c = 1 THEN %(u)s + 1
                 WHEN c <= %(member_of)s + 1 THEN %(u)s + 2 + c %% (%(n)s - 2)
                 ELSE a + 1 END,
            'member'
        FROM pair""",
        {"member_of": MEMBER_OF, "u": first_user, "n": users, "c": conversations},
    )
    saved = _drop_message_indexes(conn)
    log(
        f"[{name}] {(conversations - 1) * SMALL_CONVERSATION_MESSAGES:,} messages in small conversations"
    )
    conn.execute(
        SQL(
            """
        INSERT INTO conversations_message (sequence, client_id, event_id, body, created_at,
            stored_at, conversation_id, sender_id, kind)
        SELECT s, gen_random_uuid(), gen_random_uuid(), b.body,
            now() - interval '300 days' + c * interval '1 second', now(), c,
            CASE WHEN c <= %(member_of)s + 1
                 THEN %(u)s + (s %% 2) * (2 + c %% (%(n)s - 2))
                 ELSE %(u)s + 2 + (c * 7) %% (%(n)s - 3) + s %% 2 END,
            'text'
        FROM generate_series(2, %(c)s) AS c CROSS JOIN generate_series(1, %(per)s) AS s
        JOIN bench_body b ON b.id = ((c::bigint * %(per)s + s) * 7919) %% %(pool)s"""
        ),
        {
            "member_of": MEMBER_OF,
            "u": first_user,
            "n": users,
            "c": conversations,
            "per": SMALL_CONVERSATION_MESSAGES,
            "pool": BODY_POOL,
        },
    )
    chunk = 1_000_000
    for start in range(1, messages + 1, chunk):
        stop = min(start + chunk - 1, messages)
        log(f"[{name}] big conversation: messages {start:,}..{stop:,}")
        conn.execute(
            SQL(
                """
            INSERT INTO conversations_message (sequence, client_id, event_id, body, created_at,
                stored_at, conversation_id, sender_id, kind)
            SELECT s, gen_random_uuid(), gen_random_uuid(), b.body,
                now() - interval '200 days' + s * interval '1 second', now(), 1,
                %s + s %% 2, 'text'
            FROM generate_series(%s, %s) AS s
            JOIN bench_body b ON b.id = (s::bigint * 7919) %% %s"""
            ),
            [first_user, start, stop, BODY_POOL],
        )
    log(f"[{name}] building indexes and constraints")
    for statement in saved:
        t = time.monotonic()
        conn.execute(statement)
        log(f"[{name}]   {time.monotonic() - t:6.1f} s  {statement[:90]}")
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s)", [users + first_user]
    )
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('conversations_conversation', 'id'), %s)",
        [conversations],
    )
    log(f"[{name}] vacuum analyze")
    conn.execute("VACUUM ANALYZE")
    conn.execute("CREATE TABLE bench_meta (messages bigint, conversations bigint)")
    conn.execute("INSERT INTO bench_meta VALUES (%s, %s)", [messages, conversations])


def _drop_message_indexes(conn: Any) -> list[str]:
    """Drop the message table's constraints and indexes; return how to rebuild them."""
    table = "conversations_message"
    constraints = conn.execute(
        """
        SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype IN ('u', 'f')
        ORDER BY contype DESC""",
        [table],
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        [table],
    ).fetchall()
    rebuild = []
    for name, definition, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        conn.execute(f"DROP INDEX {name}")
        rebuild.append(definition)
    # Unique constraints and indexes first, foreign keys (validated) last.
    return sorted(rebuild, key=lambda s: "FOREIGN KEY" in s)


# --------------------------------------------------------------- measuring ---


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def measure(name: str, iterations: int, search_iterations: int) -> dict[str, Any]:
    """Time the selectors against one seeded database (runs in a child process)."""
    import random

    os.environ["DATABASE_URL"] = database_url(f"messenger_bench_{name}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "messenger.settings.local")
    # As served: no per-query SQL logging.
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from conversations import search, selectors
    from conversations.models import Message

    def keyset_before(*, conversation_id: int, before_sequence: int, limit: int) -> list[Any]:
        # The older-page query of the history pagination: keyset, never OFFSET.
        newest_first = (
            Message.objects.filter(conversation_id=conversation_id, sequence__lt=before_sequence)
            .select_related("sender")
            .order_by("-sequence")[:limit]
        )
        return list(reversed(newest_first))

    messages_before = getattr(selectors, "messages_before", keyset_before)
    rng = random.Random(42)
    user = User.objects.order_by("id").first()
    assert user is not None
    conversation_id = 1
    big = selectors.conversation_get_for_member(user=user, conversation_id=conversation_id)
    assert big is not None
    last = big.last_sequence

    def open_conversation() -> None:
        conversation = selectors.conversation_get_for_member(
            user=user, conversation_id=conversation_id
        )
        assert conversation is not None
        page = selectors.messages_latest(conversation_id=conversation_id, limit=PAGE)
        assert len(page) == PAGE

    def older_page() -> None:
        before = rng.randint(PAGE + 1, last)
        assert selectors.membership_exists(user_id=user.pk, conversation_id=conversation_id)
        page = messages_before(conversation_id=conversation_id, before_sequence=before, limit=PAGE)
        assert len(page) == PAGE
        assert page[-1].sequence == before - 1

    def word(rank: int) -> str:
        n = len(SYLLABLES)
        return SYLLABLES[rank % n] + SYLLABLES[(rank // n) % n] + SYLLABLES[(rank // n // n) % n]

    # What people type: one or two words, drawn from the vocabulary with the
    # corpus's own Zipf weights, so common words are searched for as often
    # as they occur; a third of the queries is a quoted phrase or has -not.
    def query() -> str:
        def pick() -> str:
            return word(min(int(VOCABULARY ** rng.random()) - 1, VOCABULARY - 1))

        first, second = pick(), pick()
        while second == first:  # nobody types the same word twice
            second = pick()
        kind = rng.random()
        if kind < 0.4:
            return first
        if kind < 0.7:
            return f"{first} {second}"
        if kind < 0.85:
            return f'"{first} {second}"'
        return f"{first} -{second}"

    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    page_url = f"/conversations/{conversation_id}/"

    def whole_page() -> None:
        # Everything the server does for the page: middleware, the list of
        # the person's 201 conversations, the history, the template.
        response = client.get(page_url)
        assert response.status_code == 200

    def search_once() -> None:
        search.messages_search(user=user, query=query(), limit=SEARCH_LIMIT)

    def timed(fn: Any, count: int) -> list[float]:
        for _ in range(min(50, count)):  # warm the cache and the connection
            fn()
        samples = []
        for _ in range(count):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        return samples

    results: dict[str, Any] = {"name": name}
    for label, fn, count in (
        ("open conversation (latest page)", open_conversation, iterations),
        ("older page (keyset sequence < N)", older_page, iterations),
        ("search", search_once, search_iterations),
        ("whole page (HTML, in-process)", whole_page, max(50, iterations // 10)),
    ):
        samples = timed(fn, count)
        results[label] = {
            "n": count,
            "p50": percentile(samples, 50),
            "p95": percentile(samples, 95),
            "p99": percentile(samples, 99),
            "mean": statistics.fmean(samples),
        }
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM conversations_message")
        results["messages"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM conversations_conversation")
        results["conversations"] = cursor.fetchone()[0]
        plans = {}
        for label, fn in (
            ("latest page", open_conversation),
            ("older page", older_page),
            (
                "search",
                lambda: search.messages_search(
                    user=user, query=f"{word(3000)} {word(40)}", limit=SEARCH_LIMIT
                ),
            ),
        ):
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                fn()
            explained = []
            for q in captured.captured_queries:
                if q["sql"].startswith("SET "):
                    # As the selector ran it (SET LOCAL needs the transaction).
                    cursor.execute("BEGIN")
                    cursor.execute(q["sql"])
                    continue
                if not q["sql"].startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + q["sql"])
                explained.append(q["sql"] + "\n" + "\n".join(row[0] for row in cursor.fetchall()))
            cursor.execute("COMMIT")
            plans[label] = "\n\n".join(explained)
        results["plans"] = plans
    return results


def report(all_results: list[dict[str, Any]], show_plans: bool) -> None:
    labels = [
        ("open conversation (latest page)", "p50 <= 5 ms, p99 <= 20 ms"),
        ("older page (keyset sequence < N)", "p50 <= 5 ms, p99 <= 20 ms"),
        ("search", "p95 <= 100 ms"),
        ("whole page (HTML, in-process)", "for information"),
    ]
    log("")
    for result in all_results:
        log(
            f"size {result['name']}: {result['messages']:,} messages, "
            f"{result['conversations']:,} conversations"
        )
        for label, target in labels:
            r = result[label]
            log(
                f"  {label:34} n={r['n']:5}  p50 {r['p50']:7.2f} ms  p95 {r['p95']:7.2f} ms"
                f"  p99 {r['p99']:7.2f} ms   (target {target})"
            )
    if len(all_results) >= 2:
        small, large = all_results[0], all_results[-1]
        ratio = large["messages"] / small["messages"]
        log(f"\n{large['name']} / {small['name']} ({ratio:.1f}x the messages), target <= 1.5x:")
        for label, _ in labels:
            a, b = small[label], large[label]
            log(
                f"  {label:34} p50 x{b['p50'] / a['p50']:.2f}  p95 x{b['p95'] / a['p95']:.2f}"
                f"  p99 x{b['p99'] / a['p99']:.2f}"
            )
    if show_plans:
        for result in all_results:
            for label, plan in result["plans"].items():
                log(f"\n--- {result['name']}: EXPLAIN ANALYZE {label}\n{plan}")


def parse_sizes(text: str) -> list[tuple[str, int, int]]:
    sizes = []
    for item in text.split(","):
        if "=" in item:
            name, spec = item.split("=", 1)
            m, c = spec.split(":")
            sizes.append((name, int(m), int(c)))
        else:
            sizes.append((item, *SIZES[item]))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1m,10m")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--search-iterations", type=int, default=1000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--no-plans", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the bench databases and exit")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.iterations, args.search_iterations)))
        return
    sizes = parse_sizes(args.sizes)
    if args.drop:
        with connect(database_url("postgres")) as admin:
            for name, _, _ in sizes:
                admin.execute(f'DROP DATABASE IF EXISTS "messenger_bench_{name}"')
        return
    for name, messages, conversations in sizes:
        seed(name, messages, conversations, reseed=args.reseed)
    if args.seed_only:
        return
    results = []
    for name, _, _ in sizes:
        log(f"[{name}] measuring")
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                name,
                "--iterations",
                str(args.iterations),
                "--search-iterations",
                str(args.search_iterations),
            ],
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            sys.exit(f"[{name}] measuring failed:\n{out.stderr}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    report(results, show_plans=not args.no_plans)


if __name__ == "__main__":
    main()
