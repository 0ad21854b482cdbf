"""Conversation pages."""

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.requests import AuthenticatedHttpRequest
from accounts.selectors import user_get_active
from conversations import selectors
from conversations.models import Conversation
from conversations.services import ConversationError, conversation_direct_get_or_create


def _page(request: AuthenticatedHttpRequest, conversation: Conversation | None) -> HttpResponse:
    user = request.user
    context: dict[str, object] = {
        "conversations": [
            {
                "conversation": c,
                "name": selectors.conversation_display_name(conversation=c, viewer=user),
            }
            for c in selectors.conversation_list(user=user)
        ],
        "conversation": conversation,
        "max_length": settings.MESSAGE_MAX_LENGTH,
    }
    if conversation is not None:
        messages = selectors.messages_latest(
            conversation_id=conversation.pk, limit=settings.MESSAGE_PAGE_SIZE
        )
        context |= {
            "conversation_name": selectors.conversation_display_name(
                conversation=conversation, viewer=user
            ),
            "history": messages,
            "chat_config": {
                "conversation": conversation.pk,
                "userId": user.pk,
                "lastSequence": messages[-1].sequence if messages else 0,
                "maxLength": settings.MESSAGE_MAX_LENGTH,
            },
        }
    return render(request, "conversations/index.html", context)


@login_required
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List the user's conversations."""
    return _page(request, None)


@login_required
def detail(request: AuthenticatedHttpRequest, conversation_id: int) -> HttpResponse:
    """Show one conversation beside the list; members only."""
    conversation = selectors.conversation_get_for_member(
        user=request.user, conversation_id=conversation_id
    )
    if conversation is None:
        raise Http404("No such conversation")
    return _page(request, conversation)


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
