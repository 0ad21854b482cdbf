"""API authentication by personal access token, and the scope rule for tokens.

Clients send ``Authorization: Bearer <token>``; docs/authentication.md
describes tokens, scopes and the answers for bad ones.
"""

from typing import TYPE_CHECKING

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import AccessToken, User
from accounts.services import TokenRejected, token_authenticate

if TYPE_CHECKING:
    # Only for types: rest_framework.views loads this module through its settings.
    from rest_framework.views import APIView

BEARER = b"bearer"


def bearer_plaintext(header: bytes) -> str | None:
    """Return the token of an ``Authorization: Bearer`` header value.

    None when the header is absent or names another scheme; TokenRejected
    when it is a Bearer header that holds no single ASCII token.
    """
    parts = header.split()
    if not parts or parts[0].lower() != BEARER:
        return None
    if len(parts) != 2:
        raise TokenRejected("token_malformed", "Send the token as 'Authorization: Bearer <token>'.")
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise TokenRejected("token_malformed", "The token is malformed.") from None


class TokenAuthentication(BaseAuthentication):
    """Authenticate a request by the personal access token in its Bearer header."""

    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:
        try:
            plaintext = bearer_plaintext(get_authorization_header(request))
            if plaintext is None:
                return None
            token = token_authenticate(plaintext=plaintext)
        except TokenRejected as exc:
            raise AuthenticationFailed(exc.message, code=exc.code) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with this challenge) rather than 403.
        return 'Bearer realm="api"'


class TokenScopePermission(BasePermission):
    """Let a token read (safe methods) only with the "read" scope and change
    anything only with "write"; session requests are not limited."""

    message = "This token lacks the scope this request needs."
    code = "token_scope"

    def has_permission(self, request: Request, view: "APIView") -> bool:
        token = request.auth
        if not isinstance(token, AccessToken):
            return True
        needed = (
            AccessToken.Scope.READ if request.method in SAFE_METHODS else AccessToken.Scope.WRITE
        )
        if token.allows(needed):
            return True
        self.message = (
            f"This token lacks the '{needed}' scope, which {request.method} requests need."
        )
        return False
