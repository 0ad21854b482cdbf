"""Who may touch what: for every kind of object and every action on it, a
stranger (logged in, but not a member, not the owner, not the recipient) is
refused — over the pages, the REST API and the WebSocket — and the refusal is
the same answer as for an object that does not exist, so ids can't be probed.
Nothing the stranger tried changed anything.
"""

import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from accounts.models import AccessToken, User
from accounts.services import token_create
from contacts.models import ContactRequest
from contacts.services import contact_request_send
from conversations import groups
from conversations.attachments import attachment_upload
from conversations.models import Attachment, Conversation, Membership, Message
from conversations.services import messages_store
from notifications.models import Notification
from tests.conftest import receive_until, socket_connect
from tests.factories import (
    DirectConversationFactory,
    UserFactory,
    make_contacts,
    message_sent_envelope,
)

pytestmark = pytest.mark.django_db

MISSING_ID = 987_654_321
MISSING_TOKEN = uuid.UUID("00000000-0000-4000-8000-000000000000")


@dataclass
class World:
    owner: User
    member: User
    stranger: User
    group: Conversation
    direct: Conversation
    message: Message
    attachment: Attachment
    notification: Notification
    request: ContactRequest

    def ids(self, missing: bool) -> dict[str, Any]:
        """The ids of the real objects, or of objects that do not exist."""
        if missing:
            return {
                "conversation": MISSING_ID,
                "direct": MISSING_ID + 1,
                "message": MISSING_ID,
                "token": MISSING_TOKEN,
                "notification": MISSING_ID,
                "request": MISSING_ID,
                "member": self.member.username,
            }
        return {
            "conversation": self.group.pk,
            "direct": self.direct.pk,
            "message": self.message.pk,
            "token": self.attachment.token,
            "notification": self.notification.pk,
            "request": self.request.pk,
            "member": self.member.username,
        }

    def snapshot(self) -> dict[str, Any]:
        """What a stranger must not be able to change."""
        self.message.refresh_from_db()
        return {
            "message": (self.message.body, self.message.deleted_at, self.message.reactions.count()),
            "members": sorted(
                Membership.objects.filter(conversation=self.group).values_list(
                    "user_id", "role", "last_read_sequence"
                )
            ),
            "title": Conversation.objects.get(pk=self.group.pk).title,
            "messages": Message.objects.count(),
            "attachment": Attachment.objects.filter(pk=self.attachment.pk)
            .values_list("message_id")
            .first(),
            "attachments": Attachment.objects.count(),
            "notification": Notification.objects.filter(pk=self.notification.pk)
            .values_list("read_at")
            .first(),
            "request": ContactRequest.objects.get(pk=self.request.pk).status,
            "owner": User.objects.filter(pk=self.owner.pk)
            .values_list("display_name", "status_text", "avatar")
            .first(),
        }


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def world() -> World:
    owner = UserFactory(username="olga", display_name="Olga")
    member = UserFactory(username="mia")
    stranger = UserFactory(username="sam")
    requester = UserFactory(username="rita")
    make_contacts(owner, member)
    group = groups.group_create(creator=owner, title="Private", members=[member])
    direct = DirectConversationFactory(members=[owner, member])
    attachment = attachment_upload(
        user=owner,
        conversation_id=group.pk,
        upload=SimpleUploadedFile("a.png", png(), content_type="image/png"),
    )
    (message,) = messages_store(
        envelopes=[message_sent_envelope(conversation=group, sender=owner, body="secret")]
    )
    request = contact_request_send(sender=requester, recipient=member, message="hi")
    notification = Notification.objects.create(
        recipient=member,
        event_id=uuid.uuid4(),
        kind=Notification.Kind.MESSAGE,
        created_at=timezone.now(),
        actor=owner,
        conversation=group,
        message=message,
    )
    return World(owner, member, stranger, group, direct, message, attachment, notification, request)


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    url: Callable[[dict[str, Any]], str]
    data: dict[str, Any] | None = None
    json: bool = False


# Every page and page endpoint that names an object of someone else's.
PAGE_ACTIONS = [
    Action("conversation: open", "get", lambda i: f"/conversations/{i['conversation']}/"),
    Action(
        "conversation: history",
        "get",
        lambda i: f"/conversations/{i['conversation']}/history/?before=5",
    ),
    Action(
        "conversation: rename",
        "post",
        lambda i: f"/conversations/{i['conversation']}/group/",
        {"action": "rename", "title": "pwned"},
    ),
    Action(
        "conversation: add member",
        "post",
        lambda i: f"/conversations/{i['conversation']}/group/",
        {"action": "add", "username": "sam"},
    ),
    Action(
        "conversation: remove member",
        "post",
        lambda i: f"/conversations/{i['conversation']}/group/",
        {"action": "remove", "username": "mia"},
    ),
    Action(
        "conversation: leave",
        "post",
        lambda i: f"/conversations/{i['conversation']}/group/",
        {"action": "leave"},
    ),
    Action(
        "conversation: mute",
        "post",
        lambda i: f"/notifications/settings/mute/{i['conversation']}/",
        {"muted": "1"},
    ),
    Action(
        "attachment: upload",
        "post",
        lambda i: f"/conversations/{i['conversation']}/attachments/",
        "upload",
    ),
    Action("attachment: download", "get", lambda i: f"/conversations/attachments/{i['token']}/"),
    Action(
        "attachment: thumbnail",
        "get",
        lambda i: f"/conversations/attachments/{i['token']}/thumbnail/",
    ),
    Action(
        "notification: mark read", "post", lambda i: f"/notifications/{i['notification']}/read/"
    ),
    Action(
        "contact request: accept", "post", lambda i: f"/contacts/requests/{i['request']}/accept/"
    ),
    Action(
        "contact request: decline", "post", lambda i: f"/contacts/requests/{i['request']}/decline/"
    ),
    Action(
        "contact request: cancel", "post", lambda i: f"/contacts/requests/{i['request']}/cancel/"
    ),
]

API_ACTIONS = [
    Action("conversation: read", "get", lambda i: f"/api/v1/conversations/{i['conversation']}/"),
    Action(
        "conversation: rename",
        "patch",
        lambda i: f"/api/v1/conversations/{i['conversation']}/",
        {"title": "pwned"},
        json=True,
    ),
    Action(
        "conversation: add member",
        "post",
        lambda i: f"/api/v1/conversations/{i['conversation']}/members/",
        {"username": "sam"},
        json=True,
    ),
    Action(
        "conversation: remove member",
        "delete",
        lambda i: f"/api/v1/conversations/{i['conversation']}/members/{i['member']}/",
    ),
    Action(
        "conversation: leave", "post", lambda i: f"/api/v1/conversations/{i['conversation']}/leave/"
    ),
    Action(
        "conversation: mark read",
        "post",
        lambda i: f"/api/v1/conversations/{i['conversation']}/read/",
        {"sequence": 1},
        json=True,
    ),
    Action(
        "conversation: mute",
        "put",
        lambda i: f"/api/v1/conversations/{i['conversation']}/mute/",
        {"muted": True},
        json=True,
    ),
    Action("direct conversation: read", "get", lambda i: f"/api/v1/conversations/{i['direct']}/"),
    Action(
        "message: list", "get", lambda i: f"/api/v1/conversations/{i['conversation']}/messages/"
    ),
    Action(
        "message: send",
        "post",
        lambda i: f"/api/v1/conversations/{i['conversation']}/messages/",
        {"client_id": str(uuid.uuid4()), "body": "pwned"},
        json=True,
    ),
    Action("message: read", "get", lambda i: f"/api/v1/messages/{i['message']}/"),
    Action(
        "message: edit",
        "patch",
        lambda i: f"/api/v1/messages/{i['message']}/",
        {"body": "pwned"},
        json=True,
    ),
    Action("message: delete", "delete", lambda i: f"/api/v1/messages/{i['message']}/"),
    Action(
        "message: react",
        "post",
        lambda i: f"/api/v1/messages/{i['message']}/reactions/",
        {"emoji": "👍"},
        json=True,
    ),
    Action(
        "attachment: upload",
        "post",
        lambda i: f"/api/v1/conversations/{i['conversation']}/attachments/",
        "upload",
    ),
    Action("attachment: download", "get", lambda i: f"/api/v1/attachments/{i['token']}/"),
    Action(
        "attachment: thumbnail", "get", lambda i: f"/api/v1/attachments/{i['token']}/thumbnail/"
    ),
    Action(
        "notification: mark read",
        "post",
        lambda i: f"/api/v1/notifications/{i['notification']}/read/",
    ),
    Action(
        "contact request: accept",
        "post",
        lambda i: f"/api/v1/contact-requests/{i['request']}/accept/",
    ),
    Action(
        "contact request: decline",
        "post",
        lambda i: f"/api/v1/contact-requests/{i['request']}/decline/",
    ),
    Action(
        "contact request: cancel",
        "post",
        lambda i: f"/api/v1/contact-requests/{i['request']}/cancel/",
    ),
]


def perform(client: Client, action: Action, ids: dict[str, Any], **extra: Any):
    url = action.url(ids)
    if action.data == "upload":
        upload = SimpleUploadedFile("b.png", png(), content_type="image/png")
        return client.post(url, {"file": upload}, **extra)
    if action.json:
        return getattr(client, action.method)(
            url, json.dumps(action.data), content_type="application/json", **extra
        )
    return getattr(client, action.method)(url, action.data or {}, **extra)


def normalised(response, ids: dict[str, Any]) -> Any:
    """The answer with the ids taken out, to compare two refusals; with the
    flash message a page shows after a redirect."""
    flashed = [str(m) for m in get_messages(response.wsgi_request)]
    parts = [response.content.decode(errors="replace"), response.get("Location", ""), *flashed]
    text = "\n".join(parts)
    for value in ids.values():
        text = re.sub(rf"\b{re.escape(str(value))}\b", "<id>", text)
    return response.status_code, response.get("Content-Type"), text


@pytest.mark.parametrize("action", PAGE_ACTIONS, ids=lambda a: a.name)
def test_a_stranger_is_refused_on_the_pages_like_for_a_missing_object(world, action) -> None:
    stranger, again = Client(), Client()  # Each its own flash messages.
    stranger.force_login(world.stranger)
    again.force_login(world.stranger)
    before = world.snapshot()
    real = perform(stranger, action, world.ids(missing=False))
    missing = perform(again, action, world.ids(missing=True))
    # A form's refusal is a redirect with a flash message; the rest 403/404.
    assert real.status_code in {302, 403, 404}, (real.status_code, real.content[:300])
    assert normalised(real, world.ids(missing=False)) == normalised(
        missing, world.ids(missing=True)
    )
    assert world.snapshot() == before


@pytest.mark.parametrize("action", PAGE_ACTIONS, ids=lambda a: a.name)
def test_an_anonymous_visitor_is_sent_to_log_in(world, action) -> None:
    answer = perform(Client(), action, world.ids(missing=False))
    assert answer.status_code in {302, 401, 403}
    if answer.status_code == 302:
        assert answer["Location"].startswith("/accounts/login/")


@pytest.fixture
def stranger_token(world) -> str:
    created = token_create(
        user=world.stranger, name="probe", scopes=[s.value for s in AccessToken.Scope]
    )
    return created.plaintext


@pytest.mark.django_db(transaction=True)  # Some API views are async.
@pytest.mark.parametrize("action", API_ACTIONS, ids=lambda a: a.name)
@pytest.mark.parametrize("auth", ["session", "token"])
def test_a_stranger_is_refused_by_the_api_like_for_a_missing_object(
    world, stranger_token, action, auth
) -> None:
    stranger = Client()
    extra = {}
    if auth == "session":
        stranger.force_login(world.stranger)
    else:
        extra = {"HTTP_AUTHORIZATION": f"Bearer {stranger_token}"}
    before = world.snapshot()
    real = perform(stranger, action, world.ids(missing=False), **extra)
    missing = perform(stranger, action, world.ids(missing=True), **extra)
    assert real.status_code in {403, 404}, (real.status_code, real.content[:300])
    assert normalised(real, world.ids(missing=False)) == normalised(
        missing, world.ids(missing=True)
    )
    assert world.snapshot() == before


@pytest.mark.parametrize("action", API_ACTIONS, ids=lambda a: a.name)
def test_the_api_refuses_anonymous_callers(world, action) -> None:
    assert perform(Client(), action, world.ids(missing=False)).status_code in {401, 403}


def test_profile_edits_only_ever_change_ones_own_profile(world) -> None:
    # There is no address naming another person's profile to edit: the
    # page and the API edit the caller's own.
    stranger = Client()
    stranger.force_login(world.stranger)
    before = world.snapshot()
    stranger.post(
        "/people/me/edit/", {"display_name": "Olga", "status_text": "pwned", "username": "olga"}
    )
    stranger.patch(
        "/api/v1/me/",
        json.dumps({"display_name": "x", "username": "olga", "id": world.owner.pk}),
        content_type="application/json",
    )
    assert world.snapshot() == before
    assert stranger.post("/api/v1/people/olga/", {}).status_code in {403, 404, 405}


WS_FRAMES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    (
        "message: send",
        lambda i: {
            "type": "message.send",
            "conversation": i["conversation"],
            "client_id": str(uuid.uuid4()),
            "body": "pwned",
        },
    ),
    (
        "message: send direct",
        lambda i: {
            "type": "message.send",
            "conversation": i["direct"],
            "client_id": str(uuid.uuid4()),
            "body": "pwned",
        },
    ),
    ("message: edit", lambda i: {"type": "message.edit", "message": i["message"], "body": "pwned"}),
    ("message: delete", lambda i: {"type": "message.delete", "message": i["message"]}),
    ("message: react", lambda i: {"type": "reaction", "message": i["message"], "emoji": "👍"}),
    (
        "message: reply",
        lambda i: {
            "type": "message.send",
            "conversation": i["conversation"],
            "client_id": str(uuid.uuid4()),
            "body": "x",
            "reply_to": i["message"],
        },
    ),
    (
        "attachment: send",
        lambda i: {
            "type": "message.send",
            "conversation": i["conversation"],
            "client_id": str(uuid.uuid4()),
            "body": "x",
            "attachments": [str(i["token"])],
        },
    ),
    (
        "conversation: read",
        lambda i: {"type": "read", "conversation": i["conversation"], "sequence": 1},
    ),
    ("conversation: typing", lambda i: {"type": "typing", "conversation": i["conversation"]}),
    (
        "conversation: sync",
        lambda i: {"type": "sync", "conversations": {str(i["conversation"]): 0}},
    ),
    ("conversation: focus", lambda i: {"type": "focus", "conversation": i["conversation"]}),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "build"), WS_FRAMES, ids=[name for name, _ in WS_FRAMES])
async def test_a_stranger_is_refused_on_the_socket_like_for_a_missing_object(
    world, name, build
) -> None:
    socket, connected, _ = await socket_connect(world.stranger)
    assert connected
    before = await database_sync_to_async(world.snapshot)()
    answers = []
    for missing in (False, True):
        frame = build(world.ids(missing=missing))
        await socket.send_json_to(frame)
        error = await receive_until(socket, "error")
        answers.append((error["code"], error["message"]))
        # A fresh socket each time: typing is throttled per socket.
        await socket.disconnect()
        socket, _, _ = await socket_connect(world.stranger)
    await socket.disconnect()
    assert answers[0] == answers[1]
    assert answers[0][0] in {"forbidden", "bad_reply", "bad_attachment"}
    assert await database_sync_to_async(world.snapshot)() == before
