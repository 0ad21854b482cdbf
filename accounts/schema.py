"""OpenAPI description of the token authentication (drf-spectacular)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe accounts.authentication.TokenAuthentication as an HTTP bearer scheme."""

    target_class = "accounts.authentication.TokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "msgr_…",
            "description": (
                "A personal access token, created on the profile's Access tokens page "
                "(shown once). Scopes: 'read' for GET/HEAD/OPTIONS, 'write' for the rest."
            ),
        }
