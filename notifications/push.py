"""Web Push: subscriptions from browsers, encrypted deliveries with VAPID.

Browsers subscribe through the service worker (``static/js/service-worker.js``)
and post the subscription to :func:`push_subscription_save`.  The
``notifications`` handler records one :class:`PushDelivery` per notification
and subscription of a person without an open tab; :func:`push_deliveries_send`
(run by ``manage.py send_notifications``) encrypts and posts them with
pywebpush, retries failures with backoff, and removes a subscription the
push service reports gone (404 or 410).
"""

import base64
import binascii
import ipaddress
import json
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from pywebpush import WebPushException, webpush

from accounts.models import User
from notifications import selectors
from notifications.models import PushDelivery, PushSubscription
from notifications.services import (
    NotificationError,
    delivery_claim,
    delivery_failed,
    delivery_finish,
)

logger = logging.getLogger(__name__)

# A day: a browser that comes online later still gets the notification.
PUSH_TTL_SECONDS = 24 * 3600
GONE_STATUSES = frozenset({404, 410})


def _b64url_decode(value: str) -> bytes:
    # validate=True: refuse stray characters instead of skipping them.
    return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)


def push_subscription_validate(data: Any) -> tuple[str, str, str]:
    """Return (endpoint, p256dh, auth) of a browser's subscription JSON, or raise why not."""
    if not isinstance(data, dict):
        raise NotificationError("invalid", "The body must be a JSON object.")
    endpoint = data.get("endpoint")
    keys = data.get("keys")
    if not isinstance(endpoint, str) or not endpoint:
        raise NotificationError("invalid", "'endpoint' must be a URL string.")
    if len(endpoint) > 2000:
        raise NotificationError("invalid", "'endpoint' is longer than 2000 characters.")
    parts = urlsplit(endpoint)
    schemes = {"https", "http"} if settings.WEBPUSH_ALLOW_HTTP else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise NotificationError("invalid", "'endpoint' must be an https URL of a push service.")
    if not settings.WEBPUSH_ALLOW_HTTP:
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            address = None
        if address is not None and not address.is_global:
            # The server posts to this URL: never to its own network.
            raise NotificationError("invalid", "'endpoint' must be a public push service.")
    if not isinstance(keys, dict):
        raise NotificationError("invalid", "'keys' must be an object with 'p256dh' and 'auth'.")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise NotificationError("invalid", "'keys.p256dh' and 'keys.auth' must be strings.")
    try:
        raw_key, raw_auth = _b64url_decode(p256dh), _b64url_decode(auth)
    except (binascii.Error, ValueError):
        raise NotificationError("invalid", "The keys must be base64url.") from None
    try:
        if len(raw_key) != 65:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    except ValueError:
        raise NotificationError(
            "invalid", "'keys.p256dh' must be an uncompressed P-256 public key."
        ) from None
    if len(raw_auth) != 16:
        raise NotificationError("invalid", "'keys.auth' must be 16 bytes.")
    return endpoint, p256dh, auth


def push_subscription_save(*, user: User, data: Any, user_agent: str = "") -> PushSubscription:
    """Store (or move to this user) a browser's push subscription."""
    if not selectors.push_configured():
        raise NotificationError("unavailable", "Push notifications are not set up on this server.")
    endpoint, p256dh, auth = push_subscription_validate(data)
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={"user": user, "p256dh": p256dh, "auth": auth, "user_agent": user_agent[:300]},
    )
    return subscription


def push_subscription_delete(*, user: User, endpoint: Any) -> bool:
    """Remove the user's subscription with this endpoint; return whether there was one."""
    if not isinstance(endpoint, str) or not endpoint:
        raise NotificationError("invalid", "'endpoint' must be a URL string.")
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return bool(deleted)


def push_payload(delivery: PushDelivery) -> dict[str, Any]:
    """Return what the service worker receives: enough to show and open it."""
    notification = delivery.notification
    return {
        "id": str(notification.event_id),
        "kind": notification.kind,
        "title": notification.text,
        "body": notification.detail,
        "url": notification.url,
    }


def push_deliveries_send(*, now: datetime) -> int:
    """Send every push due at ``now``; return how many the push services accepted."""
    sent = 0
    while True:
        deliveries = delivery_claim(PushDelivery, now=now)
        if not deliveries:
            return sent
        for delivery in deliveries:
            sent += _delivery_send(delivery, now=now)


def _delivery_send(delivery: PushDelivery, *, now: datetime) -> int:
    subscription = delivery.subscription
    if subscription is None:
        delivery_finish(delivery, status=PushDelivery.Status.GONE, now=now, error="unsubscribed")
        return 0
    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=json.dumps(push_payload(delivery)),
            vapid_private_key=settings.WEBPUSH_VAPID_PRIVATE_KEY,
            # pywebpush fills in this dict: a fresh one for every call.
            vapid_claims={"sub": settings.WEBPUSH_VAPID_SUBJECT},
            timeout=settings.WEBPUSH_TIMEOUT_SECONDS,
            ttl=PUSH_TTL_SECONDS,
        )
    except WebPushException as exc:
        if exc.status_code in GONE_STATUSES:
            with transaction.atomic():
                delivery_finish(
                    delivery,
                    status=PushDelivery.Status.GONE,
                    now=now,
                    error=f"push service answered {exc.status_code}",
                )
                # The browser unsubscribed or the subscription expired.
                subscription.delete()
            logger.info("push subscription %s is gone; removed", subscription.pk)
            return 0
        logger.warning("push %s failed (attempt %d): %s", delivery.pk, delivery.attempts, exc)
        delivery_failed(delivery, now=now, error=f"push service answered {exc.status_code}")
        return 0
    except (requests.RequestException, OSError) as exc:
        logger.warning("push %s failed (attempt %d): %s", delivery.pk, delivery.attempts, exc)
        delivery_failed(delivery, now=now, error=f"{type(exc).__name__}: {exc}")
        return 0
    delivery_finish(delivery, status=PushDelivery.Status.SENT, now=now)
    PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=now)
    return 1


def vapid_keys_generate() -> tuple[str, str]:
    """Return a new (public, private) VAPID key pair, both base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        encoding=serialization.Encoding.X962,
        format=serialization.PublicFormat.UncompressedPoint,
    )
    return _b64url(public), _b64url(private)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
