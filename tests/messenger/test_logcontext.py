"""Logs: JSON lines when configured, and one event id from the socket to the push."""

import copy
import io
import json
import logging
import logging.config
import uuid

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client

from messenger.logcontext import log_context
from tests.conftest import receive_until, socket_connect, wait_until_async
from tests.factories import DirectConversationFactory


def configured_logger(formatter: str) -> tuple[logging.Logger, io.StringIO]:
    """Build the project's console handler with the given formatter, writing to a buffer."""
    config = copy.deepcopy(settings.LOGGING)
    stream = io.StringIO()
    config["handlers"] = {
        "console": {**config["handlers"]["console"], "formatter": formatter, "stream": stream}
    }
    config["root"] = {"handlers": [], "level": "INFO"}
    config["loggers"] = {"probe": {"handlers": ["console"], "level": "INFO", "propagate": False}}
    config["disable_existing_loggers"] = False
    logging.config.dictConfig(config)
    return logging.getLogger("probe"), stream


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    logging.config.dictConfig(settings.LOGGING)


def test_json_lines_carry_level_logger_and_the_context_ids() -> None:
    logger, stream = configured_logger("json")
    with log_context(request_id="req-1"):
        logger.info("hello %s", "there", extra={"event_id": "evt-1", "offset": 7})
    logger.warning("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "hello there"
    assert first["level"] == "INFO"
    assert first["logger"] == "probe"
    assert first["request_id"] == "req-1"
    assert first["event_id"] == "evt-1"
    assert first["offset"] == 7
    assert "time" in first
    assert "request_id" not in second


def test_plain_lines_append_the_ids() -> None:
    logger, stream = configured_logger("plain")
    with log_context(event_id="evt-2"):
        logger.info("stored")
    assert stream.getvalue().strip().endswith("probe stored [event_id=evt-2]")


def test_a_request_keeps_a_plain_caller_id_and_gets_one_otherwise() -> None:
    assert Client().get("/healthz", HTTP_X_REQUEST_ID="lb-42.a")["X-Request-ID"] == "lb-42.a"
    generated = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]
    assert len(generated) == 32


@pytest.mark.django_db(transaction=True)
async def test_one_event_id_follows_a_message_from_the_socket_to_the_push(
    kafka_topics, consumer, alice, bob, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="messenger.trace")
    chat = await database_sync_to_async(DirectConversationFactory)(members=[alice, bob])
    sender, _, _ = await socket_connect(alice)
    recipient, _, _ = await socket_connect(bob)
    await sender.send_json_to(
        {
            "type": "message.send",
            "conversation": chat.pk,
            "client_id": str(uuid.uuid4()),
            "body": "x",
        }
    )
    event_id = (await receive_until(sender, "message.ack"))["event_id"]
    await receive_until(recipient, "message.new")
    await sender.disconnect()
    await recipient.disconnect()

    def path() -> list[logging.LogRecord]:
        return [r for r in caplog.records if getattr(r, "event_id", None) == event_id]

    # "event applied" is logged once the handler returns; the push is not
    # waited for, so "message pushed" may come before or after it.
    await wait_until_async(lambda: len(path()) >= 3, timeout=10)
    lines = path()
    assert len(lines) == 3
    assert lines[0].getMessage() == "message accepted"
    by_message = {r.getMessage(): r for r in lines}
    assert sorted(by_message) == ["event applied", "message accepted", "message pushed"]
    accepted, pushed, applied = (
        by_message[m] for m in ("message accepted", "message pushed", "event applied")
    )
    assert (accepted.partition, accepted.offset) == (applied.partition, applied.offset)
    assert pushed.recipients == 2
