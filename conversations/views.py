"""Conversation pages and the group forms; every action is a plain form POST."""

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.requests import AuthenticatedHttpRequest
from accounts.selectors import user_get_active
from contacts.selectors import contact_list
from conversations import groups, selectors
from conversations.models import Conversation, Membership
from conversations.serializers import message_serialize
from conversations.services import ConversationError, conversation_direct_get_or_create
from messenger.params import number_param


def _page(
    request: AuthenticatedHttpRequest, conversation: Conversation | None, around: int | None = None
) -> HttpResponse:
    user = request.user
    entries = selectors.conversation_sidebar(user=user)
    # The most recent conversations are drawn; the rest on request (drawing
    # hundreds of them was most of the page's time).  Their unread messages
    # still count in the total.
    shown = entries if "all" in request.GET else entries[: settings.SIDEBAR_SIZE]
    context: dict[str, object] = {
        "conversations": [
            {"conversation": e, "name": e.name, "other": e.other, "unread": e.unread} for e in shown
        ],
        "conversations_hidden": len(entries) - len(shown),
        "hidden_unread": sum(e.unread for e in entries[len(shown) :]),
        "unread_total": sum(e.unread for e in entries),
        "conversation": conversation,
        "max_length": settings.MESSAGE_MAX_LENGTH,
        "contacts": contact_list(user=user),
    }
    if conversation is not None:
        size = settings.MESSAGE_PAGE_SIZE
        if around is not None:
            history = selectors.messages_around(
                conversation_id=conversation.pk, sequence=around, limit=size
            )
        else:
            history = selectors.messages_latest(conversation_id=conversation.pk, limit=size)
        memberships = list(conversation.memberships.all())
        mine = next(m for m in memberships if m.user_id == user.pk)
        mentionable = {m.user.username.lower() for m in memberships}
        context |= {
            "conversation_name": selectors.conversation_display_name(
                conversation=conversation, viewer=user
            ),
            "history": [
                (message, message_serialize(message, mentionable=mentionable))
                for message in history
            ],
            "attachment_max_bytes": settings.ATTACHMENT_MAX_BYTES,
            "attachments_per_message": settings.ATTACHMENTS_PER_MESSAGE,
            "members": memberships,
            "is_admin": mine.role == Membership.Role.ADMIN,
            "first_unread": mine.last_read_sequence + 1
            if mine.last_read_sequence < conversation.last_sequence
            else None,
            "chat_config": {
                "conversation": conversation.pk,
                "kind": conversation.kind,
                "userId": user.pk,
                "firstSequence": history[0].sequence if history else 0,
                "lastSequence": history[-1].sequence if history else 0,
                "newestSequence": conversation.last_sequence,
                # Read with the conversation, before its history: changes
                # made meanwhile have higher numbers and come again on sync.
                "lastChange": conversation.last_change,
                "maxLength": settings.MESSAGE_MAX_LENGTH,
                "reads": {str(m.user_id): m.last_read_sequence for m in memberships},
                "historyUrl": f"/conversations/{conversation.pk}/history/",
            },
        }
    return render(request, "conversations/index.html", context)


@login_required
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List the user's conversations."""
    return _page(request, None)


@login_required
def detail(request: AuthenticatedHttpRequest, conversation_id: int) -> HttpResponse:
    """Show one conversation beside the list; members only.  ``?around=N`` opens it at N."""
    conversation = selectors.conversation_get_for_member(
        user=request.user, conversation_id=conversation_id
    )
    if conversation is None:
        raise Http404("No such conversation")
    return _page(request, conversation, number_param(request.GET.get("around", "")))


@login_required
@require_GET
def history(request: AuthenticatedHttpRequest, conversation_id: int) -> JsonResponse:
    """Return the page of messages before ``?before=N`` (keyset), for "load older"."""
    conversation = selectors.conversation_get_for_member(
        user=request.user, conversation_id=conversation_id
    )
    if conversation is None:
        raise Http404("No such conversation")
    before = number_param(request.GET.get("before", ""))
    if before is None:
        return JsonResponse({"error": "'before' must be a sequence number."}, status=400)
    size = settings.MESSAGE_PAGE_SIZE
    page = selectors.messages_before(
        conversation_id=conversation.pk, before_sequence=before, limit=size + 1
    )
    more = len(page) > size
    mentionable = {m.user.username.lower() for m in conversation.memberships.all()}
    return JsonResponse(
        {
            "messages": [message_serialize(m, mentionable=mentionable) for m in page[-size:]],
            "more": more,
        }
    )


@login_required
@require_POST
def start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Open the one-to-one conversation with the named person."""
    username = request.POST.get("username", "").strip().lstrip("@")
    other = user_get_active(username=username) if username else None
    if other is None:
        flash.error(request, f"There is nobody called “{username}”.")
        return redirect("conversations:index")
    try:
        conversation = conversation_direct_get_or_create(user=request.user, other=other)
    except ConversationError as exc:
        flash.error(request, exc.message)
        return redirect("conversations:index")
    return redirect("conversations:detail", conversation_id=conversation.pk)


def _people(usernames: list[str]) -> list[User]:
    found = []
    for username in usernames:
        person = user_get_active(username=username)
        if person is None:
            raise ConversationError("not_found", f"There is nobody called “{username}”.")
        found.append(person)
    return found


@login_required
@require_POST
def group_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Create a group with some of one's contacts."""
    try:
        conversation = groups.group_create(
            creator=request.user,
            title=request.POST.get("title", ""),
            members=_people(request.POST.getlist("members")),
        )
    except ConversationError as exc:
        flash.error(request, exc.message)
        return redirect("conversations:index")
    return redirect("conversations:detail", conversation_id=conversation.pk)


@login_required
@require_POST
def group_change(request: AuthenticatedHttpRequest, conversation_id: int) -> HttpResponse:
    """Rename, add, remove or leave, by the form's ``action``."""
    action = request.POST.get("action", "")
    user = request.user
    try:
        if action == "rename":
            groups.group_rename(
                user=user, conversation_id=conversation_id, title=request.POST.get("title", "")
            )
        elif action in {"add", "remove"}:
            [person] = _people([request.POST.get("username", "").strip().lstrip("@")])
            change = groups.group_member_add if action == "add" else groups.group_member_remove
            change(user=user, conversation_id=conversation_id, person=person)
        elif action == "leave":
            groups.group_leave(user=user, conversation_id=conversation_id)
            flash.success(request, "You left the group.")
            return redirect("conversations:index")
        else:
            raise ConversationError("invalid", "Unknown action.")
    except ConversationError as exc:
        flash.error(request, exc.message)
    return redirect("conversations:detail", conversation_id=conversation_id)
