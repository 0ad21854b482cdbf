"""Contacts pages.  Every action is a plain form POST; with JavaScript the same
forms are sent in the background and answered with JSON."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.presence import online_user_ids
from accounts.requests import AuthenticatedHttpRequest
from accounts.selectors import user_get_active
from contacts import selectors, services
from contacts.forms import ContactRequestForm, UserSearchForm


def _wants_json(request: AuthenticatedHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _answer(request: AuthenticatedHttpRequest, action: Callable[[], str]) -> HttpResponse:
    """Run an action; answer with a flash message and redirect, or with JSON."""
    try:
        done = action()
    except services.ContactError as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "code": exc.code, "message": exc.message}, status=400)
        flash.error(request, exc.message)
    else:
        if _wants_json(request):
            return JsonResponse({"ok": True, "message": done})
        flash.success(request, done)
    return redirect("contacts:index")


def _person(username: str) -> User:
    person = user_get_active(username=username)
    if person is None:
        raise services.ContactError("unavailable", "There is nobody by that name.")
    return person


@login_required
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Show contacts, requests, blocks and people search."""
    user = request.user
    search = UserSearchForm(request.GET or None)
    results = None
    if search.is_valid() and search.cleaned_data["q"]:
        results = selectors.user_search(
            viewer=user,
            query=search.cleaned_data["q"],
            page=search.cleaned_data["page"] or 1,
            per_page=settings.USER_SEARCH_PAGE_SIZE,
        )
    contacts = list(selectors.contact_list(user=user))
    online = online_user_ids(user_ids=[c.pk for c in contacts])
    return render(
        request,
        "contacts/index.html",
        {
            "search": search,
            "results": results,
            "contacts": [(c, c.pk in online) for c in contacts],
            "incoming": selectors.requests_incoming(user=user),
            "outgoing": selectors.requests_outgoing(user=user),
            "blocked": selectors.blocked_users(user=user),
            "contact_ids": {c.pk for c in contacts},
        },
    )


@login_required
@require_POST
def request_send(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Send a contact request."""
    form = ContactRequestForm(request.POST)

    def send() -> str:
        if not form.is_valid():
            raise services.ContactError(
                "invalid", "Name a person; a message has at most 200 characters."
            )
        recipient = user_get_active(username=form.cleaned_data["username"])
        if recipient is None:
            raise services.ContactError("unavailable", "There is nobody by that name.")
        services.contact_request_send(
            sender=request.user, recipient=recipient, message=form.cleaned_data["message"]
        )
        return f"Request sent to {recipient.name}."

    return _answer(request, send)


def _request_action(
    verb: Callable[..., object], done: str
) -> Callable[[AuthenticatedHttpRequest, int], HttpResponse]:
    @login_required
    @require_POST
    def view(request: AuthenticatedHttpRequest, request_id: int) -> HttpResponse:
        def act() -> str:
            verb(user=request.user, request_id=request_id)
            return done

        return _answer(request, act)

    return view


request_accept = _request_action(services.contact_request_accept, "You are now contacts.")
request_decline = _request_action(services.contact_request_decline, "Request declined.")
request_cancel = _request_action(services.contact_request_cancel, "Request withdrawn.")


def _person_action(
    verb: Callable[..., object], done: str
) -> Callable[[AuthenticatedHttpRequest, str], HttpResponse]:
    @login_required
    @require_POST
    def view(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
        def act() -> str:
            person = _person(username)
            verb(user=request.user, other=person)
            return done.format(name=person.name)

        return _answer(request, act)

    return view


contact_remove = _person_action(services.contact_remove, "{name} was removed from your contacts.")
block = _person_action(services.block_create, "You blocked {name}.")
unblock = _person_action(services.block_remove, "You unblocked {name}.")
