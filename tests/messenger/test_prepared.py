"""prepared_rows: the hot paths' statements are prepared once per connection."""

import importlib

import pytest
from django.db import connection

from messenger.prepared import prepared_rows
from messenger.settings import base

pytestmark = pytest.mark.django_db

_STATEMENT = "SELECT %s::int + 1"


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_is_prepared_on_the_server_the_first_time_it_runs() -> None:
    # Django turns psycopg's prepared statements off unless the settings turn
    # them back on; psycopg then ignores prepare=True without a word.
    assert prepared_rows(_STATEMENT, [41]) == [(42,)]

    assert "SELECT $1::int + 1" in _prepared_statements()


def test_running_it_again_reuses_the_one_prepared_statement() -> None:
    prepared_rows(_STATEMENT, [1])
    prepared_rows(_STATEMENT, [2])

    assert prepared_rows(_STATEMENT, [3]) == [(4,)]
    assert _prepared_statements().count("SELECT $1::int + 1") == 1


def test_prepared_statements_can_be_turned_off_for_a_pooler_that_cannot_keep_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
        options = importlib.reload(base).DATABASES["default"]["OPTIONS"]
        assert options["prepare_threshold"] is None
        monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS")
        assert importlib.reload(base).DATABASES["default"]["OPTIONS"]["prepare_threshold"] == 5
    finally:
        monkeypatch.undo()
        importlib.reload(base)
