"""A client of the public API: sign in, find a contact, chat, read history, search.

It uses only what any integrator has: HTTP to /api/v1/ with a personal
access token, and the WebSocket at /ws/ authenticated by the same token.
The one step that needs a password is getting that token (tokens are created
from a signed-in session); pass ``--token`` to skip it.

    .venv/bin/python examples/api_client.py --username alice --password messenger-demo
    .venv/bin/python examples/api_client.py --token msgr_… --contact bob --messages 5

Needs the ``websockets`` package (in requirements-dev.txt).  Exits non-zero,
saying why, when a step fails.
"""

import argparse
import asyncio
import json
import sys
import time
import uuid
from http.cookiejar import CookieJar
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit
from urllib.request import HTTPCookieProcessor, Request, build_opener

import websockets

TIMEOUT = 30


def say(line: str) -> None:
    """Tell the person running the demo what just happened."""
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


class DemoError(Exception):
    """A step failed; the message says which and why."""


class Api:
    """JSON over HTTP with a bearer token, answering the API's error format clearly."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.opener = build_opener()

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """Send one request; return the decoded JSON answer (None for 204)."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        if query:
            url = f"{url}?{urlencode(query)}"
        data = None if body is None else json.dumps(body).encode()
        request = Request(url, data=data, method=method)  # noqa: S310 - the given API's URL
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                raw = response.read()
        except HTTPError as exc:
            error = json.loads(exc.read() or b"{}").get("error", {})
            raise DemoError(
                f"{method} {path}: {exc.code} {error.get('code')}: {error.get('message')}"
            ) from None
        return json.loads(raw) if raw else None


def token_create(base_url: str, username: str, password: str) -> str:
    """Sign in with a password (allauth's login form) and create a token for this run."""
    base_url = base_url.rstrip("/")
    jar = CookieJar()
    opener = build_opener(HTTPCookieProcessor(jar))

    def csrf() -> str:
        return next(str(c.value) for c in jar if c.name == "csrftoken")

    opener.open(f"{base_url}/accounts/login/", timeout=TIMEOUT).read()
    form = urlencode({"login": username, "password": password, "csrfmiddlewaretoken": csrf()})
    login = Request(f"{base_url}/accounts/login/", data=form.encode(), method="POST")  # noqa: S310
    login.add_header("Referer", f"{base_url}/accounts/login/")
    opener.open(login, timeout=TIMEOUT).read()
    if not any(c.name == "sessionid" for c in jar):
        raise DemoError("sign-in failed: check the username and password")
    body = json.dumps(
        {"name": f"api demo {time.strftime('%Y-%m-%d %H:%M')}", "scopes": ["read", "write"]}
    )
    create = Request(f"{base_url}/api/v1/tokens/", data=body.encode(), method="POST")  # noqa: S310
    create.add_header("Content-Type", "application/json")
    create.add_header("X-CSRFToken", csrf())
    create.add_header("Referer", f"{base_url}/")
    try:
        with opener.open(create, timeout=TIMEOUT) as response:
            return str(json.loads(response.read())["token"])
    except HTTPError as exc:
        raise DemoError(f"creating a token: {exc.code} {exc.read()[:200]!r}") from None


def contact_find(api: Api, wanted: str | None) -> dict[str, Any]:
    """Return the named contact, or the first one."""
    contacts = api.call("GET", "/api/v1/contacts/", limit=200)["results"]
    for person in contacts:
        if wanted is None or person["username"].lower() == wanted.lower():
            return dict(person)
    if wanted:
        raise DemoError(f"{wanted} is not among your contacts; send them a request first")
    raise DemoError("you have no contacts yet; send someone a contact request first")


async def receive_messages(
    socket: Any, conversation_id: int, client_ids: set[str]
) -> dict[str, dict[str, Any]]:
    """Wait for the pushes of our messages (by client id); return them by client id."""
    received: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + TIMEOUT
    while client_ids - received.keys():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DemoError(f"only {len(received)} of {len(client_ids)} messages arrived")
        frame = json.loads(await asyncio.wait_for(socket.recv(), remaining))
        if frame.get("type") == "error":
            raise DemoError(f"socket error: {frame.get('code')}: {frame.get('message')}")
        message = frame.get("message") or {}
        if (
            frame.get("type") == "message.new"
            and message.get("conversation") == conversation_id
            and message["client_id"] in client_ids
        ):
            received[message["client_id"]] = message
    return received


async def demo(args: argparse.Namespace) -> None:
    token = args.token or await asyncio.to_thread(
        token_create, args.base_url, args.username, args.password
    )
    api = Api(args.base_url, token)
    call = api.call

    me = await asyncio.to_thread(call, "GET", "/api/v1/me/")
    say(f"signed in as {me['username']} ({me['name']})")
    contact = await asyncio.to_thread(contact_find, api, args.contact)
    say(f"contact: {contact['username']} ({contact['name']})")
    conversation = await asyncio.to_thread(
        call, "POST", "/api/v1/conversations/direct/", {"username": contact["username"]}
    )
    conversation_id = conversation["id"]
    say(f"conversation {conversation_id} with {conversation['name']}")

    parts = urlsplit(args.base_url)
    ws_url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}/ws/"
    marker = f"demo{uuid.uuid4().hex[:8]}"
    async with websockets.connect(
        ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=TIMEOUT
    ) as socket:
        say(f"socket open at {ws_url} (token)")
        client_ids: set[str] = set()
        for n in range(1, args.messages + 1):
            client_id = str(uuid.uuid4())
            accepted = await asyncio.to_thread(
                call,
                "POST",
                f"/api/v1/conversations/{conversation_id}/messages/",
                {"client_id": client_id, "body": f"Hello from the API demo ({marker} #{n})"},
            )
            client_ids.add(accepted["client_id"])
        say(f"sent {len(client_ids)} messages (202 accepted)")
        received = await receive_messages(socket, conversation_id, client_ids)
        sequences = sorted(m["sequence"] for m in received.values())
        say(f"received {len(received)} on the socket, sequences {sequences}")

    history = await asyncio.to_thread(
        call, "GET", f"/api/v1/conversations/{conversation_id}/messages/", limit=args.messages
    )
    mine = [m for m in history["results"] if m["client_id"] in client_ids]
    if len(mine) != len(client_ids):
        raise DemoError(f"history shows {len(mine)} of our {len(client_ids)} messages")
    say(f"history: newest {len(history['results'])}, older page: {history['previous']}")

    found = await asyncio.to_thread(call, "GET", "/api/v1/search/messages/", q=marker)
    if len(found["results"]) != len(client_ids):
        raise DemoError(f"search found {len(found['results'])} of {len(client_ids)}")
    example = found["results"][0]["snippet"]
    say(f"search for {marker!r}: {len(found['results'])} found, e.g. {example}")
    say("ok")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", help="a personal access token with read and write")
    parser.add_argument("--username", help="sign in to create a token (without --token)")
    parser.add_argument("--password")
    parser.add_argument("--contact", help="the contact to write to (default: the first)")
    parser.add_argument("--messages", type=int, default=3)
    args = parser.parse_args()
    if not args.token and not (args.username and args.password):
        parser.error("give --token, or --username and --password")
    try:
        asyncio.run(demo(args))
    except DemoError as exc:
        sys.stderr.write(f"failed: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
