"""Notification pages, preferences and the push subscription endpoints."""

import json
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.requests import AuthenticatedHttpRequest
from conversations.selectors import conversation_display_name, conversation_list
from notifications import push, selectors, services
from notifications.forms import PreferencesForm


@login_required
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List the user's notifications, newest first."""
    return render(
        request,
        "notifications/index.html",
        {"notifications": selectors.notification_list(user=request.user)},
    )


@login_required
@require_POST
def mark_read(request: AuthenticatedHttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read."""
    services.notification_mark_read(user=request.user, notification_id=notification_id)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"unread": selectors.unread_count(user_id=request.user.pk)})
    return redirect("notifications:index")


@login_required
@require_POST
def mark_all_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Mark every notification read."""
    services.notifications_mark_all_read(user=request.user)
    return redirect("notifications:index")


@login_required
def settings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Show and save the notification preferences and the muted conversations."""
    user = request.user
    preferences = selectors.preferences_get(user_id=user.pk)
    form = PreferencesForm(request.POST or None, instance=preferences)
    if request.method == "POST" and form.is_valid():
        services.preferences_save(user=user, **form.cleaned_data)
        flash.success(request, "Notification settings saved.")
        return redirect("notifications:settings")
    muted = selectors.muted_conversation_ids(user_id=user.pk)
    return render(
        request,
        "notifications/settings.html",
        {
            "form": form,
            "default_delay": settings.NOTIFICATION_EMAIL_DELAY_MINUTES,
            "conversations": [
                {
                    "conversation": c,
                    "name": conversation_display_name(conversation=c, viewer=user),
                    "muted": c.pk in muted,
                }
                for c in conversation_list(user=user)
            ],
            "subscriptions": selectors.push_subscriptions(user_id=user.pk),
            "push_config": {
                "publicKey": settings.WEBPUSH_VAPID_PUBLIC_KEY
                if selectors.push_configured()
                else None,
                "serviceWorker": static("js/service-worker.js"),
                "subscribeUrl": reverse("notifications:push_subscribe"),
                "unsubscribeUrl": reverse("notifications:push_unsubscribe"),
            },
        },
    )


@login_required
@require_POST
def mute(request: AuthenticatedHttpRequest, conversation_id: int) -> HttpResponse:
    """Mute or unmute one conversation."""
    try:
        services.conversation_mute_set(
            user=request.user,
            conversation_id=conversation_id,
            muted=request.POST.get("muted") == "1",
        )
    except services.NotificationError as exc:
        flash.error(request, exc.message)
    return redirect("notifications:settings")


def _json_body(request: AuthenticatedHttpRequest) -> Any:
    try:
        return json.loads(request.body)
    except ValueError:
        raise services.NotificationError("invalid", "The body must be JSON.") from None


@login_required
@require_POST
def push_subscribe(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Store the browser's push subscription (the JSON of ``PushSubscription.toJSON()``)."""
    try:
        subscription = push.push_subscription_save(
            user=request.user,
            data=_json_body(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except services.NotificationError as exc:
        status = 503 if exc.code == "unavailable" else 400
        return JsonResponse({"ok": False, "code": exc.code, "error": exc.message}, status=status)
    return JsonResponse({"ok": True, "id": subscription.pk}, status=201)


@login_required
@require_POST
def push_unsubscribe(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Forget one of the user's push subscriptions, by endpoint."""
    try:
        body = _json_body(request)
        endpoint = body.get("endpoint") if isinstance(body, dict) else None
        deleted = push.push_subscription_delete(user=request.user, endpoint=endpoint)
    except services.NotificationError as exc:
        return JsonResponse({"ok": False, "code": exc.code, "error": exc.message}, status=400)
    return JsonResponse({"ok": True, "deleted": deleted})
