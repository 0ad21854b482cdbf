"""Run the hot paths' statements as server-side prepared statements.

Compiling a queryset and planning its statement took longer than running it
on the paths every message takes (the send check, storing, the push).  These
statements are plain SQL that psycopg prepares once per connection.  Django's
cursor binds on the client and cannot prepare, so they go to psycopg directly,
inside Django's transaction and with its exception classes (the consumer tells
a database that is away from a bad event by them); Django's query logging does
not see them.
"""

from typing import Any

import psycopg
from django.db import connection


def prepared_rows(sql: str, params: list[object]) -> list[tuple[Any, ...]]:
    """Return the rows of a statement run as a prepared statement."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()
