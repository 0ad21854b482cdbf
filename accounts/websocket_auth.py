"""WebSocket authentication by personal access token, beside the session.

An API client presents its token in an ``Authorization: Bearer`` header or,
where it can't set headers (a browser's ``WebSocket``), in a ``?token=``
query parameter.  docs/websocket-protocol.md documents both.
"""

import json
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from accounts.authentication import bearer_plaintext
from accounts.models import AccessToken
from accounts.services import TokenRejected, token_authenticate
from conversations.consumers import CLOSE_UNAUTHENTICATED

ASGIApp = Any


def socket_token(scope: dict[str, Any]) -> str | None:
    """Return the token a socket presents (the header before the query), if any."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            plaintext = bearer_plaintext(value)
            if plaintext is not None:
                return plaintext
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if not values:
        return None
    if len(values) > 1:
        raise TokenRejected("token_malformed", "Give one 'token' query parameter.")
    return values[0]


class TokenAuthMiddleware:
    """Authenticate a socket that presents a token by the token alone; pass the
    others to ``session_app`` (the Origin check and the session stack).

    A token socket skips the Origin check on purpose: browsers attach cookies
    to any page's sockets, which is what the check guards, but never a token,
    so a page can only use a token it was given.  Cookies are ignored on a
    token socket: the token decides who it is, and its scopes what it may do.
    """

    def __init__(self, token_app: ASGIApp, session_app: ASGIApp) -> None:
        self.token_app = token_app
        self.session_app = session_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.session_app(scope, receive, send)
            return
        try:
            plaintext = socket_token(scope)
            if plaintext is None:
                await self.session_app(scope, receive, send)
                return
            token = await database_sync_to_async(token_authenticate)(plaintext=plaintext)
            if not token.allows(AccessToken.Scope.READ):
                raise TokenRejected(
                    "token_scope", "This token lacks the 'read' scope, which sockets need."
                )
        except TokenRejected as exc:
            await _refuse(exc, receive, send)
            return
        await self.token_app({**scope, "user": token.user, "token": token}, receive, send)


async def _refuse(exc: TokenRejected, receive: Any, send: Any) -> None:
    """Tell a token client why it is refused: an error frame, then close 4401.

    A refusal before accepting reaches the client only as an HTTP 403
    without a reason; a script deserves the reason.
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    frame = {"type": "error", "code": exc.code, "message": exc.message, "client_id": None}
    await send({"type": "websocket.send", "text": json.dumps(frame)})
    await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
