"""Reads of notifications, preferences, mutes and push subscriptions."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, QuerySet

from accounts.models import User
from notifications.models import ConversationMute, Notification, Preferences, PushSubscription


def unread_count(*, user_id: int) -> int:
    """Return how many of the user's notifications are unread."""
    return unread_counts(user_ids=[user_id])[user_id]


def unread_counts(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Return how many notifications each of these users has unread, in one query."""
    wanted = set(user_ids)
    counts = dict(
        Notification.objects.filter(recipient_id__in=wanted, read_at__isnull=True)
        .values_list("recipient_id")
        .annotate(unread=Count("pk"))
        .values_list("recipient_id", "unread")
    )
    return {uid: counts.get(uid, 0) for uid in wanted}


def notifications_of(*, user: User) -> QuerySet[Notification]:
    """Return the user's notifications, newest first."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )


def notification_list(*, user: User, limit: int = 100) -> list[Notification]:
    """Return the user's newest notifications, newest first."""
    return list(notifications_of(user=user)[:limit])


def notification_get(*, user: User, notification_id: int) -> Notification | None:
    """Return one of the user's notifications, if it is theirs."""
    return notifications_of(user=user).filter(pk=notification_id).first()


def preferences_get(*, user_id: int) -> Preferences:
    """Return the user's preferences; unsaved defaults when they never changed them."""
    return Preferences.objects.filter(user_id=user_id).first() or Preferences(user_id=user_id)


def preferences_by_user(*, user_ids: set[int]) -> dict[int, Preferences]:
    """Return the preferences of several users, defaults for those without a row."""
    stored = {p.user_id: p for p in Preferences.objects.filter(user_id__in=user_ids)}
    return {uid: stored.get(uid) or Preferences(user_id=uid) for uid in user_ids}


def email_delay(*, preferences: Preferences) -> timedelta:
    """Return how long after a message an email about it may go out."""
    minutes = preferences.email_delay_minutes or settings.NOTIFICATION_EMAIL_DELAY_MINUTES
    return timedelta(minutes=minutes)


def quiet_until(*, preferences: Preferences, now: datetime) -> datetime | None:
    """Return when the user's do-not-disturb hours end if ``now`` is inside them, else None."""
    start, end = preferences.dnd_start, preferences.dnd_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(preferences.time_zone or "UTC"))
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends


def muted_conversation_ids(*, user_id: int) -> set[int]:
    """Return the conversations the user muted."""
    return set(
        ConversationMute.objects.filter(user_id=user_id).values_list("conversation_id", flat=True)
    )


def push_subscriptions(*, user_id: int) -> QuerySet[PushSubscription]:
    """Return the user's browser push subscriptions."""
    return PushSubscription.objects.filter(user_id=user_id).order_by("created_at")


def push_configured() -> bool:
    """Return whether the deployment has VAPID keys, without which push is off."""
    return bool(settings.WEBPUSH_VAPID_PUBLIC_KEY and settings.WEBPUSH_VAPID_PRIVATE_KEY)
