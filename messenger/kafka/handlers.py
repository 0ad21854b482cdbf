"""The handler registry: each app registers one handler per topic it consumes.

Apps declare handlers in a ``handlers`` module; :func:`handlers_discover`
imports those modules so the decorators run.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from django.utils.module_loading import autodiscover_modules

from messenger.kafka.events import Envelope
from messenger.kafka.topics import Topic


class Handler(ABC):
    """Apply a batch of events from one partition, in order, idempotently.

    The runner commits the batch's offsets only after ``handle_batch`` returns,
    so a handler must commit its own database work before returning and must
    treat an event it has seen before as a no-op.
    """

    topic: ClassVar[Topic]

    @abstractmethod
    def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Apply the events."""


HANDLERS: dict[Topic, type[Handler]] = {}


def register(cls: type[Handler]) -> type[Handler]:
    """Register a handler class for its topic; one handler per topic."""
    existing = HANDLERS.get(cls.topic)
    if existing is not None and existing is not cls:
        raise ValueError(f"topic {cls.topic} already has handler {existing.__name__}")
    HANDLERS[cls.topic] = cls
    return cls


def handlers_discover() -> dict[Topic, type[Handler]]:
    """Import every installed app's ``handlers`` module and return the registry."""
    autodiscover_modules("handlers")
    return dict(HANDLERS)
