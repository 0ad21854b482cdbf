"""The load benchmark's data: its own database, users, login sessions and conversations.

Everything lives in a database of its own beside the configured one
(``messenger_bench_load``), kept between runs so the 100,000 conversations
of the growth scenario are seeded once.  Users are ``load-00000`` …; every
run logs each of them in afresh (a real Django session, as a login makes).
"""

import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

DATABASE = "messenger_bench_load"
USERS = 10_000
GROUP_SIZE = 20
GROUPS = 50
PASSWORD = "load-benchmark"  # noqa: S105 (a benchmark database's users)


def database_url() -> str:
    """Return the URL of the benchmark's database, next to the configured one."""
    parts = urlsplit(
        os.environ.get("DATABASE_URL", "postgres://messenger:messenger@127.0.0.1:5432/messenger")
    )
    return urlunsplit(parts._replace(path=f"/{DATABASE}"))


def database_create() -> None:
    """Create the benchmark's database if it does not exist (before Django connects)."""
    import psycopg

    parts = urlsplit(database_url())
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')


def username(n: int) -> str:
    """Return the name of the benchmark's n-th user."""
    return f"load-{n:05d}"


@dataclass(frozen=True)
class World:
    """Who is who: user ids by index, and the conversations the scenarios use."""

    user_ids: list[int]
    pairs: list[int]  # pairs[i]: conversation of users 2i and 2i+1
    groups: list[int]  # groups[g]: users g*20 … g*20+19
    growth: dict[int, list[tuple[int, int, int]]]  # conversations -> (id, user a, user b)


def world_seed() -> World:
    """Create what is missing (users, pairs, groups, growth conversations); return the map."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from accounts.models import User
    from conversations.models import Conversation, Membership

    have = set(User.objects.filter(username__startswith="load-").values_list("username", flat=True))
    password = make_password(PASSWORD)
    User.objects.bulk_create(
        [
            User(username=username(n), display_name=f"Load {n}", password=password)
            for n in range(USERS)
            if username(n) not in have
        ],
        batch_size=2000,
    )
    ids = dict(User.objects.filter(username__startswith="load-").values_list("username", "pk"))
    user_ids = [ids[username(n)] for n in range(USERS)]

    def direct(keys: list[tuple[int, int]]) -> dict[str, int]:
        """Create the one-to-one conversations of these user-index pairs; return id by key."""
        wanted = {_direct_key(user_ids[a], user_ids[b]): (a, b) for a, b in keys}
        existing = dict(
            Conversation.objects.filter(direct_key__in=list(wanted)).values_list("direct_key", "pk")
        )
        missing = [k for k in wanted if k not in existing]
        for start in range(0, len(missing), 5000):
            chunk = missing[start : start + 5000]
            made = Conversation.objects.bulk_create(
                [Conversation(kind=Conversation.Kind.DIRECT, direct_key=k) for k in chunk]
            )
            Membership.objects.bulk_create(
                [
                    Membership(conversation=c, user_id=user_ids[i])
                    for c, k in zip(made, chunk, strict=True)
                    for i in wanted[k]
                ]
            )
            existing.update({c.direct_key: c.pk for c in made if c.direct_key})
        return existing

    pair_keys = [(2 * i, 2 * i + 1) for i in range(USERS // 2)]
    by_key = direct(pair_keys)
    pairs = [by_key[_direct_key(user_ids[a], user_ids[b])] for a, b in pair_keys]

    groups = []
    for g in range(GROUPS):
        title = f"load-group-{g}"
        conversation = Conversation.objects.filter(
            kind=Conversation.Kind.GROUP, title=title
        ).first()
        if conversation is None:
            conversation = Conversation.objects.create(kind=Conversation.Kind.GROUP, title=title)
            Membership.objects.bulk_create(
                [
                    Membership(conversation=conversation, user_id=user_ids[g * GROUP_SIZE + i])
                    for i in range(GROUP_SIZE)
                ]
            )
        groups.append(conversation.pk)

    growth: dict[int, list[tuple[int, int, int]]] = {}
    for users, conversations in GROWTH_STEPS:
        keys = _growth_pairs(users, conversations)
        by_key = direct(keys)
        growth[conversations] = [
            (by_key[_direct_key(user_ids[a], user_ids[b])], a, b) for a, b in keys
        ]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return World(user_ids=user_ids, pairs=pairs, groups=groups, growth=growth)


# (users, conversations) of the growth scenario, at a fixed message rate.
GROWTH_STEPS = [(100, 1_000), (1_000, 10_000), (10_000, 100_000)]


def _growth_pairs(users: int, conversations: int) -> list[tuple[int, int]]:
    """Return distinct user-index pairs among the first ``users`` (seeded, the same each run).

    Pairs (2i, 2i+1) are left out: they are the pairs scenario's conversations.
    """
    import random

    rng = random.Random(f"{users}:{conversations}")
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < conversations:
        a, b = sorted(rng.sample(range(users), 2))
        if b == a + 1 and a % 2 == 0:
            continue
        chosen.add((a, b))
    return sorted(chosen)


def _direct_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


def sessions_login(user_ids: list[int]) -> list[str]:
    """Log every user in: one fresh database session each; return the session keys."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.models import User

    users = User.objects.in_bulk(user_ids)
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    keys = [secrets.token_hex(16) for _ in user_ids]
    Session.objects.bulk_create(
        [
            Session(
                session_key=key,
                session_data=store.encode(
                    {
                        SESSION_KEY: str(uid),
                        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                        HASH_SESSION_KEY: users[uid].get_session_auth_hash(),
                    }
                ),
                expire_date=expires,
            )
            for key, uid in zip(keys, user_ids, strict=True)
        ],
        batch_size=2000,
    )
    return keys


def sessions_clear() -> None:
    """Delete every session of this database (only the benchmark logs in here)."""
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()
