"""The one base of every refusal the domain rules give, and what a service away raises."""

from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError


class RuleError(Exception):
    """A request the rules refuse: ``code`` names the rule (documented where
    clients see it), ``message`` explains it to the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# What a request meets when Redis or PostgreSQL is away, or so busy that no
# connection of the pool came free in time: the client should retry later.
SERVICE_AWAY_ERRORS = (RedisError, OperationalError, InterfaceError)

# The one text of the ``unavailable`` refusal: a service the request needs is
# away (Kafka, Redis or PostgreSQL).
UNAVAILABLE_TEXT = "The server could not take that right now; try again."
