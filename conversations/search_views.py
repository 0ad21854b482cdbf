"""The message search page."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.requests import AuthenticatedHttpRequest
from accounts.selectors import user_get_active
from conversations import selectors
from conversations.search import SearchError, SearchHit, messages_search
from messenger.params import number_param


@login_required
@require_GET
def search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Search one's conversations: ?q=words&conversation=<id>&person=<username>."""
    user = request.user
    query = request.GET.get("q", "")
    person = request.GET.get("person", "").strip().lstrip("@")
    raw_conversation = request.GET.get("conversation", "")
    conversations = [
        {"id": c.pk, "name": selectors.conversation_display_name(conversation=c, viewer=user)}
        for c in selectors.conversation_list(user=user)
    ]
    conversation_id = number_param(raw_conversation)
    if conversation_id is not None and conversation_id not in {c["id"] for c in conversations}:
        conversation_id = None
    error = ""
    hits: list[SearchHit] = []
    status = 200
    sender = user_get_active(username=person) if person else None
    if person and sender is None:
        error = f"There is nobody called “{person}”."
        status = 400
    elif query.strip():
        try:
            hits = messages_search(
                user=user,
                query=query,
                conversation_id=conversation_id,
                sender_id=sender.pk if sender else None,
                limit=settings.SEARCH_PAGE_SIZE,
            )
        except SearchError as exc:
            error = exc.message
            status = 400
    names = {c["id"]: c["name"] for c in conversations}
    context = {
        "query": query[: settings.SEARCH_MAX_QUERY_LENGTH],
        "person": person,
        "conversation_id": conversation_id,
        "conversations": conversations,
        "error": error,
        "results": [
            {"hit": h, "conversation_name": names.get(h.message.conversation_id, "")} for h in hits
        ],
        "searched": bool(query.strip()) and not error,
        "max_length": settings.SEARCH_MAX_QUERY_LENGTH,
        "page_size": settings.SEARCH_PAGE_SIZE,
    }
    return render(request, "conversations/search.html", context, status=status)
