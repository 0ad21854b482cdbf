"""Log records that carry the request or event they belong to.

An HTTP request gets a request id (the caller's ``X-Request-ID`` or a new
one); a message gets its event id (the Kafka envelope's id) when the socket
hands it to Kafka, and keeps it in the consumer and at the push.  Code logs
with ``extra={"event_id": ...}`` where it knows the id, and everything logged
inside :func:`log_context` gets the ids of that context.  Grep one event id
across the web and consumer logs to follow a message end to end (see
docs/operations.md).

``LOG_FORMAT=json`` writes one JSON object a line (python-json-logger);
otherwise lines are plain text with the ids appended.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The per-message lines (accepted, applied, pushed) go to this logger, so an
# operator can turn just them down: LOG_TRACE_LEVEL=WARNING.
trace_logger = logging.getLogger("messenger.trace")

CONTEXT_FIELDS = ("request_id", "event_id")
_context: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)


@contextmanager
def log_context(**ids: str) -> Iterator[None]:
    """Attach the given ids to every record logged inside the block."""
    current = _context.get() or {}
    token = _context.set({**current, **ids})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copy the current context's ids onto each record, unless it has its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the ids; never drop a record."""
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class PlainFormatter(logging.Formatter):
    """The plain text format, with the context ids appended when there are any."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """Format the line (before any traceback) and append each id it carries."""
        line = super().formatMessage(record)
        ids = " ".join(
            f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name)
        )
        return f"{line} [{ids}]" if ids else line
