"""One error format for every refusal the API gives.

Every 4xx (and the 503 of a send Kafka did not take) is::

    {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}

``code`` is stable and documented, ``message`` is for people, ``fields``
maps request fields (dotted for nested ones) to what is wrong with them.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from conversations.services import ConversationError
from messenger.errors import RuleError

# Domain refusal codes whose HTTP status is not 400.  "forbidden" is the
# services' answer for "not a member, or no such conversation": a 404, so a
# conversation one can't see looks exactly like one that does not exist.
RULE_STATUS = {
    "forbidden": status.HTTP_404_NOT_FOUND,
    "not_found": status.HTTP_404_NOT_FOUND,
    "not_admin": status.HTTP_403_FORBIDDEN,
    "not_yours": status.HTTP_403_FORBIDDEN,
    "blocked": status.HTTP_403_FORBIDDEN,
    "rate_limited": status.HTTP_429_TOO_MANY_REQUESTS,
}
NOT_FOUND_MESSAGE = "Not found."


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """Return the one error shape of the API."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def rule_status(exc: RuleError) -> int:
    """Return the HTTP status of a domain refusal."""
    own = getattr(exc, "status", None)  # AttachmentError carries its own
    if isinstance(own, int):
        return own
    if isinstance(exc, ConversationError) and exc.code == "unavailable":
        return status.HTTP_503_SERVICE_UNAVAILABLE  # Kafka did not take it: retry
    return RULE_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST)


def _rule_response(exc: RuleError) -> Response:
    if exc.code == "forbidden":
        # The same body as for an object that does not exist: no probing.
        return Response(error_body("not_found", NOT_FOUND_MESSAGE), status=rule_status(exc))
    return Response(error_body(exc.code, exc.message), status=rule_status(exc))


def field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested validation detail into ``{"field.sub": [messages]}``."""
    key = prefix or "non_field_errors"
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for name, value in detail.items():
            flat |= field_errors(value, f"{prefix}.{name}" if prefix else str(name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {key: [str(item) for item in detail]}
        flat = {}
        for index, value in enumerate(detail):
            if value:
                flat |= field_errors(value, f"{prefix}.{index}" if prefix else str(index))
        return flat
    return {key: [str(detail)]}


def _validation_response(exc: exceptions.ValidationError) -> Response:
    fields = field_errors(exc.detail)
    general = fields.pop("non_field_errors", [])
    message = general[0] if general else "Some fields are not valid."
    return Response(
        error_body("invalid", message, fields if fields or not general else {}),
        status=exc.status_code,
    )


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return str(exc.default_code)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer every refusal in the API's error format (DRF's EXCEPTION_HANDLER)."""
    if isinstance(exc, RuleError):
        return _rule_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND_MESSAGE)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc)
    # DRF's own handler sets the headers (WWW-Authenticate, Retry-After) and
    # rolls back the request's transaction; only the body changes here.
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = _code(exc)
    message = str(exc.detail) if not isinstance(exc.detail, dict | list) else exc.default_detail
    if code == "permission_denied" and message.startswith("CSRF Failed"):
        code = "csrf_failed"
    response.data = error_body(code, str(message))
    return response
