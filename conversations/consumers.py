"""The WebSocket endpoint: parse frames, authorise, call services, answer.

The protocol is documented in docs/websocket-protocol.md.
"""

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from accounts.presence import (
    presence_is_online,
    presence_leave,
    presence_touch,
)
from conversations import selectors
from conversations.models import Message
from conversations.serializers import message_serialize
from conversations.services import (
    ConversationError,
    conversation_read,
    message_delete,
    message_edit,
    message_send,
    reaction_set,
)
from messenger.errors import SERVICE_AWAY_ERRORS, UNAVAILABLE_TEXT
from messenger.kafka.events import Envelope, UserOffline, UserOnline
from messenger.kafka.producer import PublishError, publish_async
from messenger.metrics import websocket_closed, websocket_opened
from messenger.realtime import (
    CLOSE_RECONNECT,
    session_group,
    socket_closed,
    socket_opened,
    token_group,
    user_group,
)
from messenger.sessions import session_expiry
from notifications.services import focus_report
from notifications.viewing import viewing_leave

logger = logging.getLogger(__name__)

# Close code sent before the handshake completes is turned into HTTP 403 by
# daphne; 4401 is what the protocol documents for it.
CLOSE_UNAUTHENTICATED = 4401
# Sent when the server ends a session: the account was deactivated, the
# session logged out or expired.  Clients stay closed.
CLOSE_SESSION_ENDED = 4403
# Sent when the session's key changed (a password change): clients reconnect,
# with the cookie that carries the new key.
CLOSE_SESSION_CHANGED = 4001
SYNC_PAGE_SIZE = 200
# Frames that change something: a token socket needs the "write" scope for them.
WRITE_FRAMES = {"message.send", "message.edit", "message.delete", "reaction", "read", "typing"}
# A conversation id as a sync key: at most 19 digits, so it fits in a bigint.
_DIGITS = re.compile(r"[0-9]{1,19}")


class FrameError(Exception):
    """A frame the protocol does not allow; answered with an error frame."""

    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


class ChatConsumer(AsyncWebsocketConsumer):
    """One browser tab's socket: sends messages and receives its user's pushes."""

    group: str | None = None
    session_group: str | None = None
    session_key: str | None = None
    # When the login session stops letting this socket in, unless renewed.
    session_expires_at: datetime | None = None
    session_watch: "asyncio.Task[None] | None" = None
    token_group: str | None = None
    last_typing: float = 0.0

    async def connect(self) -> None:
        """Accept authenticated, active users only, and join their group."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        session = self.scope.get("session")
        if session is not None and session.session_key and self.scope.get("token") is None:
            self.session_key = session.session_key
            # SessionAuthMiddleware read it with the user (None: nobody's).
            self.session_expires_at = self.scope.get("session_expires_at")
            if self.session_expires_at is None:
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        if self.session_key is not None:
            # Logging out of this session closes this socket; so does its expiry.
            self.session_group = session_group(self.session_key)
            await self.channel_layer.group_add(self.session_group, self.channel_name)
            self.session_watch = asyncio.get_running_loop().create_task(self._session_watch())
        token = self.scope.get("token")
        if token is not None:
            # Revoking the token closes this socket.
            self.token_group = token_group(token.pk)
            await self.channel_layer.group_add(self.token_group, self.channel_name)
        # Counted online before the client hears it is connected.
        came_online = await presence_touch(user_id=user.pk, channel_name=self.channel_name)
        await self.accept()
        websocket_opened()
        socket_opened(self.channel_name)
        if came_online:
            await _announce(Envelope(payload=UserOnline(user_id=user.pk)))

    async def disconnect(self, code: int) -> None:
        """Leave the user's groups and the online sockets."""
        if self.session_watch is not None:
            self.session_watch.cancel()
        if self.group is not None:
            websocket_closed()
            socket_closed(self.channel_name)
            user_id = self.scope["user"].pk
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await viewing_leave(user_id=self.scope["user"].pk, channel_name=self.channel_name)
            if self.session_group is not None:
                await self.channel_layer.group_discard(self.session_group, self.channel_name)
            if self.token_group is not None:
                await self.channel_layer.group_discard(self.token_group, self.channel_name)
            await presence_leave(user_id=user_id, channel_name=self.channel_name)
            # Outlives this consumer: offline only if no socket came back.
            task = asyncio.get_running_loop().create_task(_offline_after_grace(user_id))
            _background.add(task)
            task.add_done_callback(_background.discard)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run the message's handler, without channels' per-message database clean-up.

        Channels hops to its one shared database thread before every message,
        a client's frame or a push alike, to close stale connections for
        consumers that use the async ORM.  This one reaches the database only
        through ``database_sync_to_async``, which does that around each call,
        so the hop only cost a thread switch per message (a quarter of an
        idle web process's CPU with 10,000 pinging tabs) and queued every
        push behind the database work of every socket.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Dispatch one client frame; every failure becomes an error frame."""
        frame: dict[str, Any] = {}
        if (
            self.session_expires_at is not None
            and timezone.now() >= self.session_expires_at
            and not await self._session_check()
        ):
            return  # The session expired: nothing more from this socket.
        try:
            frame = self._parse(text_data, bytes_data)
            handler = self._handlers().get(frame["type"])
            if handler is None:
                raise FrameError("unknown_type", f"Unknown frame type {frame['type']!r}.")
            self._check_scope(frame)
            await handler(frame)
        except FrameError as exc:
            await self._send_error(exc.code, exc.message, exc.client_id)
        except ConversationError as exc:
            await self._send_error(exc.code, exc.message, _echo_id(frame))
        except SERVICE_AWAY_ERRORS as exc:
            logger.warning("a %r frame met a service away: %r", frame.get("type"), exc)
            await self._send_error("unavailable", UNAVAILABLE_TEXT, _echo_id(frame))
        except Exception:
            logger.exception("unexpected failure handling a frame")
            await self._send_error("internal", "Something went wrong; try again.", _echo_id(frame))

    def _handlers(self) -> dict[str, Any]:
        return {
            "message.send": self._message_send,
            "message.edit": self._message_edit,
            "message.delete": self._message_delete,
            "reaction": self._reaction,
            "read": self._read,
            "typing": self._typing,
            "sync": self._catch_up,
            "ping": self._ping,
            "focus": self._focus,
        }

    def _check_scope(self, frame: dict[str, Any]) -> None:
        """Refuse a changing frame on a socket whose token lacks the "write" scope."""
        token = self.scope.get("token")
        if frame["type"] in WRITE_FRAMES and token is not None and not token.allows("write"):
            client_id = frame.get("client_id")
            raise FrameError(
                "token_scope",
                "This token lacks the 'write' scope: it can only receive.",
                client_id if isinstance(client_id, str) else None,
            )

    @staticmethod
    def _parse(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
        if text_data is None:
            raise FrameError("bad_json", "Frames must be JSON text.")
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):
            # RecursionError: nested deeper than the parser goes (a 64 KB
            # frame of "[" is 65,536 levels).
            raise FrameError("bad_json", "The frame is not valid JSON.") from None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            raise FrameError("bad_frame", "A frame is a JSON object with a string 'type'.")
        if not _storable(frame):
            client_id = frame.get("client_id")
            raise FrameError(
                "bad_frame",
                "Text may not contain NUL characters or unpaired surrogates.",
                client_id if isinstance(client_id, str) and _storable(client_id) else None,
            )
        return frame

    async def _message_send(self, frame: dict[str, Any]) -> None:
        raw_client_id = frame.get("client_id")
        echo_id = raw_client_id if isinstance(raw_client_id, str) else None
        try:
            client_id = uuid.UUID(str(raw_client_id))
        except ValueError:
            raise FrameError("bad_frame", "'client_id' must be a UUID.", echo_id) from None
        conversation_id = frame.get("conversation")
        if not _is_id(conversation_id):
            raise FrameError("bad_frame", "'conversation' must be a positive integer.", echo_id)
        body = frame.get("body")
        if not isinstance(body, str):
            raise FrameError("bad_frame", "'body' must be a string.", echo_id)
        reply_to = frame.get("reply_to")
        if reply_to is not None and not _is_id(reply_to):
            raise FrameError("bad_frame", "'reply_to' must be a message id.", echo_id)
        attachments = _attachment_tokens(frame.get("attachments", []), echo_id)
        accepted = await message_send(
            sender=self.scope["user"],
            conversation_id=conversation_id,
            client_id=client_id,
            body=body,
            reply_to_id=reply_to,
            attachment_tokens=attachments,
        )
        await self._send_json(
            {
                "type": "message.ack",
                "client_id": echo_id,
                "conversation": conversation_id,
                "event_id": str(accepted.envelope.id),
            }
        )

    async def _catch_up(self, frame: dict[str, Any]) -> None:
        user = self.scope["user"]
        changes = dict(_sync_entries(frame.get("changes", {}), what="change numbers"))
        for conversation_id, after in _sync_entries(frame.get("conversations")):
            missed = await database_sync_to_async(_missed)(
                user_id=user.pk,
                conversation_id=conversation_id,
                after=after,
                after_change=changes.get(conversation_id),
            )
            if missed is None:
                raise FrameError("forbidden", "You are not a member of this conversation.")
            for message in missed.new:
                await self._send_json({"type": "message.new", "message": message})
            for message in missed.changed:
                await self._send_json({"type": "message.updated", "message": message})
            await self._send_json(
                {
                    "type": "sync.done",
                    "conversation": conversation_id,
                    "last_sequence": missed.last_sequence,
                    "last_change": missed.last_change,
                    "more": missed.more,
                }
            )

    async def _message_edit(self, frame: dict[str, Any]) -> None:
        message_id, body = frame.get("message"), frame.get("body")
        if not _is_id(message_id) or not isinstance(body, str):
            raise FrameError("bad_frame", "'message' must be an id and 'body' a string.")
        await message_edit(user=self.scope["user"], message_id=message_id, body=body)
        await self._send_json({"type": "message.change.ack", "message": message_id})

    async def _message_delete(self, frame: dict[str, Any]) -> None:
        message_id = frame.get("message")
        if not _is_id(message_id):
            raise FrameError("bad_frame", "'message' must be an id.")
        await message_delete(user=self.scope["user"], message_id=message_id)
        await self._send_json({"type": "message.change.ack", "message": message_id})

    async def _reaction(self, frame: dict[str, Any]) -> None:
        message_id, emoji, added = (
            frame.get("message"),
            frame.get("emoji"),
            frame.get("added", True),
        )
        if not _is_id(message_id) or not isinstance(emoji, str) or not isinstance(added, bool):
            raise FrameError(
                "bad_frame", "'message' is an id, 'emoji' a string, 'added' a boolean."
            )
        await reaction_set(user=self.scope["user"], message_id=message_id, emoji=emoji, added=added)
        await self._send_json({"type": "message.change.ack", "message": message_id})

    async def _read(self, frame: dict[str, Any]) -> None:
        conversation_id, sequence = frame.get("conversation"), frame.get("sequence")
        if not _is_id(conversation_id) or not (sequence == 0 or _is_id(sequence)):
            raise FrameError("bad_frame", "'conversation' is an id and 'sequence' a number.")
        await conversation_read(
            user=self.scope["user"], conversation_id=conversation_id, sequence=sequence
        )

    async def _typing(self, frame: dict[str, Any]) -> None:
        conversation_id = frame.get("conversation")
        if not _is_id(conversation_id):
            raise FrameError("bad_frame", "'conversation' must be an id.")
        now = time.monotonic()
        if now - self.last_typing < settings.TYPING_THROTTLE_SECONDS:
            return  # Throttled: the others already know.
        self.last_typing = now
        user = self.scope["user"]
        members = await database_sync_to_async(selectors.typing_recipients)(
            user_id=user.pk, conversation_id=conversation_id
        )
        if members is None:
            raise FrameError("forbidden", "You are not a member of this conversation.")
        event = {
            "type": "typing.event",
            "conversation": conversation_id,
            "user": {"id": user.pk, "name": user.name},
        }
        # Ephemeral: the channel layer only, never Kafka, never stored.
        for member_id in members:
            await self.channel_layer.group_send(user_group(member_id), event)

    async def typing_event(self, event: dict[str, Any]) -> None:
        """Forward someone's typing indicator."""
        await self._send_json(
            {"type": "typing", "conversation": event["conversation"], "user": event["user"]}
        )

    async def message_updated(self, event: dict[str, Any]) -> None:
        """Forward an edited, deleted or reacted-to message."""
        await self._send_json({"type": "message.updated", "message": event["message"]})

    async def receipt(self, event: dict[str, Any]) -> None:
        """Forward a read receipt of a conversation member."""
        await self._send_json(
            {k: event[k] for k in ("type", "conversation", "user_id", "sequence")}
        )

    async def presence(self, event: dict[str, Any]) -> None:
        """Forward a contact's presence change."""
        await self._send_json({k: event[k] for k in ("type", "user_id", "online", "last_seen")})

    async def conversation_removed(self, event: dict[str, Any]) -> None:
        """Tell the client it is no longer in a conversation."""
        await self._send_json(
            {"type": "conversation.removed", "conversation": event["conversation"]}
        )

    async def _ping(self, frame: dict[str, Any]) -> None:
        # A round trip for a client that wants one; staying online takes no
        # pings (messenger/registrations.py).
        await self._send_json({"type": "pong"})

    async def message_new(self, event: dict[str, Any]) -> None:
        """Forward a stored message pushed through the channel layer."""
        await self._send_json({"type": "message.new", "message": event["message"]})

    async def _focus(self, frame: dict[str, Any]) -> None:
        # The conversation the tab shows while visible (null: none): its
        # members get no notifications for it meanwhile.
        conversation_id = frame.get("conversation")
        if conversation_id is not None and not _is_id(conversation_id):
            raise FrameError("bad_frame", "'conversation' must be a positive integer or null.")
        if not await focus_report(
            user_id=self.scope["user"].pk,
            channel_name=self.channel_name,
            conversation_id=conversation_id,
        ):
            raise FrameError("forbidden", "You are not a member of this conversation.")
        await self._send_json({"type": "focus.done", "conversation": conversation_id})

    async def notifications_unread(self, event: dict[str, Any]) -> None:
        """Forward the user's unread notification count (changed in another tab)."""
        await self._send_json({"type": "notifications.unread", "unread": event["unread"]})

    async def notification(self, event: dict[str, Any]) -> None:
        """Forward a notification pushed through the channel layer."""
        await self._send_json({"type": "notification", "notification": event["notification"]})

    async def socket_reconnect(self, event: dict[str, Any]) -> None:
        """Close the socket so that the client reconnects and syncs: pushes may have been lost."""
        await self.close(code=CLOSE_RECONNECT)

    async def session_close(self, event: dict[str, Any]) -> None:
        """Close the socket: the account was deactivated, logged out or its token revoked
        (or, with ``reconnect``, its session's key changed)."""
        await self.close(
            code=CLOSE_SESSION_CHANGED if event.get("reconnect") else CLOSE_SESSION_ENDED
        )

    async def session_check(self, event: dict[str, Any]) -> None:
        """Check the session now (the password changed: the other sessions end)."""
        await self._session_check()

    async def _session_check(self) -> bool:
        """Close the socket unless its session still lets the user in; say which."""
        if self.session_key is None:
            return True
        self.session_expires_at = await database_sync_to_async(session_expiry)(
            session_key=self.session_key, user_id=self.scope["user"].pk
        )
        if self.session_expires_at is None:
            await self.close(code=CLOSE_SESSION_ENDED)
            return False
        return True

    async def _session_watch(self) -> None:
        # Wake at the session's expiry; a session renewed since (each save
        # moves its expiry on) is waited for again.
        while self.session_expires_at is not None:
            wait = (self.session_expires_at - timezone.now()).total_seconds()
            await asyncio.sleep(max(0.0, wait))
            if not await self._session_check():
                return

    async def _send_error(self, code: str, message: str, client_id: str | None) -> None:
        await self._send_json(
            {"type": "error", "code": code, "message": message, "client_id": client_id}
        )

    async def _send_json(self, content: dict[str, Any]) -> None:
        # The client may have gone away before its answer or push (ASGI
        # servers raise OSError, daphne autobahn's Disconnected): there is no
        # one to tell, and raised, it ended the socket's application with an
        # error in the log.  Its disconnect comes next.
        with contextlib.suppress(OSError, Disconnected):
            await self.send(text_data=json.dumps(content))


_background: set["asyncio.Task[None]"] = set()


async def _announce(envelope: Envelope) -> None:
    # Presence is best effort: a broker hiccup must not break the socket.
    try:
        await publish_async(envelope)
    except PublishError:
        logger.warning("could not publish %s", envelope.type)


async def _offline_after_grace(user_id: int) -> None:
    await asyncio.sleep(settings.PRESENCE_GRACE_SECONDS)
    if not await presence_is_online(user_id=user_id):
        await _announce(Envelope(payload=UserOffline(user_id=user_id)))


def _attachment_tokens(raw: object, echo_id: str | None) -> list[uuid.UUID]:
    if not isinstance(raw, list) or len(raw) > settings.ATTACHMENTS_PER_MESSAGE:
        raise FrameError(
            "bad_frame",
            f"'attachments' must be a list of at most {settings.ATTACHMENTS_PER_MESSAGE} tokens.",
            echo_id,
        )
    if not all(isinstance(token, str) for token in raw):
        raise FrameError("bad_frame", "Each attachment is a token (a UUID).", echo_id)
    try:
        return [uuid.UUID(token) for token in raw]
    except ValueError:
        raise FrameError("bad_frame", "Each attachment is a token (a UUID).", echo_id) from None


def _storable(frame: Any) -> bool:
    """Return whether every string in a parsed frame can be stored and published.

    JSON escapes can carry NUL (PostgreSQL text refuses it) and unpaired
    surrogates (not UTF-8, so Kafka's JSON refuses them); refused here, such
    text would fail after the sender was told it was accepted.
    """
    pending: list[Any] = [frame]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _echo_id(frame: dict[str, Any]) -> str | None:
    """Return the frame's client_id, which an error echoes so the client knows what to resend."""
    client_id = frame.get("client_id")
    return client_id if isinstance(client_id, str) else None


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _sync_entries(wanted: Any, *, what: str = "sequences") -> list[tuple[int, int]]:
    if not isinstance(wanted, dict) or len(wanted) > 500:
        raise FrameError("bad_frame", f"A sync maps up to 500 conversation ids to {what}.")
    entries = []
    for key, after in wanted.items():
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        conversation_id = int(key) if isinstance(key, str) and _DIGITS.fullmatch(key) else 0
        if not _is_id(conversation_id) or not (after == 0 or _is_id(after)):
            raise FrameError("bad_frame", f"A sync maps conversation ids to {what}.")
        entries.append((conversation_id, after))
    return entries


@dataclass(frozen=True)
class _Missed:
    """What a client missed in one conversation, as wire dicts."""

    new: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    last_sequence: int
    last_change: int
    more: bool


def _missed(
    *, user_id: int, conversation_id: int, after: int, after_change: int | None
) -> _Missed | None:
    """Return the messages after ``after`` and the changes after ``after_change``.

    The change number is read first: a change committed while this runs has
    a higher one and comes again, harmlessly (clients apply it twice), rather
    than never.
    """
    if not selectors.membership_exists(user_id=user_id, conversation_id=conversation_id):
        return None
    last_change = selectors.conversation_last_change(conversation_id=conversation_id)
    new = selectors.messages_after(
        conversation_id=conversation_id, after_sequence=after, limit=SYNC_PAGE_SIZE + 1
    )
    more = len(new) > SYNC_PAGE_SIZE
    new = new[:SYNC_PAGE_SIZE]
    changed: list[Message] = []
    if after_change is not None and after_change < last_change:
        # Messages the client has; newer ones come above, as they are now.
        changed = selectors.messages_changed(
            conversation_id=conversation_id,
            after_change=after_change,
            up_to_sequence=after,
            limit=SYNC_PAGE_SIZE + 1,
        )
        if len(changed) > SYNC_PAGE_SIZE:
            changed = changed[:SYNC_PAGE_SIZE]
            more = True
            last_change = changed[-1].change
    return _Missed(
        new=[message_serialize(m) for m in new],
        changed=[message_serialize(m) for m in changed],
        last_sequence=new[-1].sequence if new else after,
        last_change=max([last_change, *(m.change for m in changed)]),
        more=more,
    )
