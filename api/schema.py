"""OpenAPI: every operation documents the error format next to its answers."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    """What went wrong: a stable code, a message for people, and bad fields."""

    code = serializers.CharField(help_text="Stable, documented code (e.g. `not_found`).")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Request fields (dotted for nested ones) and what is wrong with each.",
    )


class ErrorSerializer(serializers.Serializer):
    """The one error shape of every 4xx (and 503) answer."""

    error = ErrorDetailSerializer()


# Answers any operation may give: bad input, no or bad credentials, a missing
# scope or CSRF token, an object one can't see, a wrong method or media type,
# throttling.
COMMON_ERRORS = {
    "400": "Invalid input, or a rule refused the request.",
    "401": "No valid credentials.",
    "403": "Not allowed (a missing scope, a CSRF failure, not an admin, a block).",
    "404": "No such object, or one you can't see (the same answer).",
    "405": "Method not allowed.",
    "406": "The Accept header asks for a type the API does not answer with.",
    "429": "Too many requests; see Retry-After.",
}
BODY_ERRORS = {
    "413": "The request body is too large.",
    "415": "Unsupported request media type.",
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the error responses on every operation."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(COMMON_ERRORS)
        if self.method in {"POST", "PUT", "PATCH"}:
            errors |= BODY_ERRORS
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code)
                response["description"] = description
                responses[code] = response
        return responses
