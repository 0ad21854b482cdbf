"""Profile pages, avatars and personal access tokens."""

from datetime import timedelta

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import AccessTokenForm, ProfileForm
from accounts.presence import online_user_ids
from accounts.requests import AuthenticatedHttpRequest
from accounts.selectors import tokens_of_user, user_get_active
from accounts.services import (
    CreatedToken,
    ProfileError,
    TokenError,
    avatar_remove,
    avatar_set,
    profile_update,
    token_create,
    token_revoke,
)
from contacts import selectors as contact_selectors
from contacts.models import ContactRequest


@login_required
def profile(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
    """Show a person's profile, with what the viewer may do about them."""
    person = user_get_active(username=username)
    if person is None:
        raise Http404("No such person")
    viewer = request.user
    context: dict[str, object] = {"person": person, "is_me": person.pk == viewer.pk}
    if person.pk != viewer.pk:
        if contact_selectors.block_exists_between(user_id=person.pk, other_id=viewer.pk):
            # To someone who blocked you, you look like nobody.
            if not contact_selectors.block_made(blocker_id=viewer.pk, blocked_id=person.pk):
                raise Http404("No such person")
            context["you_blocked"] = True
        is_contact = contact_selectors.is_contact(user_id=viewer.pk, other_id=person.pk)
        context |= {
            "is_contact": is_contact,
            # Presence is for contacts only (and a block ends the contact).
            "online": is_contact and bool(online_user_ids(user_ids=[person.pk])),
            "request_out": ContactRequest.objects.filter(
                from_user=viewer, to_user=person, status=ContactRequest.Status.PENDING
            ).first(),
            "request_in": ContactRequest.objects.filter(
                from_user=person, to_user=viewer, status=ContactRequest.Status.PENDING
            ).first(),
        }
    return render(request, "accounts/profile.html", context)


@login_required
def profile_edit(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Edit one's own display name, status and avatar."""
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                with transaction.atomic():
                    profile_update(
                        user=user,
                        display_name=form.cleaned_data["display_name"],
                        status_text=form.cleaned_data["status_text"],
                    )
                    if form.cleaned_data["avatar"]:
                        avatar_set(user=user, upload=form.cleaned_data["avatar"])
                    elif form.cleaned_data["remove_avatar"]:
                        avatar_remove(user=user)
            except ProfileError as exc:
                form.add_error("avatar", exc.message)
            else:
                flash.success(request, "Your profile was saved.")
                return redirect("accounts:profile", username=user.username)
    else:
        form = ProfileForm(
            initial={"display_name": user.display_name, "status_text": user.status_text}
        )
    return render(request, "accounts/profile_edit.html", {"form": form})


@login_required
@require_GET
def avatar(request: AuthenticatedHttpRequest, username: str) -> HttpResponseBase:
    """Serve a person's avatar thumbnail to logged-in people."""
    person = user_get_active(username=username)
    if person is None or not person.avatar:
        raise Http404("No avatar")
    try:
        handle = default_storage.open(person.avatar.name, "rb")
    except FileNotFoundError:
        raise Http404("No avatar") from None
    response = FileResponse(handle, content_type="image/webp")
    # The URL carries the file name, so a new avatar gets a new URL.
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List one's personal access tokens and create one, shown once."""
    created: CreatedToken | None = None
    form = AccessTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        try:
            created = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=timezone.now() + timedelta(days=int(days)) if days else None,
            )
        except TokenError as exc:
            form.add_error(None, exc.message)
        else:
            # Shown in this answer only (no redirect): it is never stored anywhere.
            form = AccessTokenForm()
    response = render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": tokens_of_user(user=request.user), "created": created},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke_view(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of one's tokens."""
    try:
        token = token_revoke(user=request.user, token_id=token_id)
    except TokenError:
        raise Http404("No such token") from None
    flash.success(request, f"The token “{token.name}” was revoked.")
    return redirect("accounts:tokens")
