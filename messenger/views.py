"""Operational endpoints: probes, Prometheus metrics, the live operations page."""

import hmac

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from messenger.health import readiness_check
from messenger.metrics import metrics_render
from messenger.operations import operations_snapshot


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 while the process can serve requests; touch no dependency."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when PostgreSQL, Redis and Kafka are reachable, else 503 naming the failures."""
    results = readiness_check()
    failed = [r.name for r in results if not r.ok]
    body = {
        "status": "ok" if not failed else "unavailable",
        "failed": failed,
        "checks": {
            r.name: {
                "ok": r.ok,
                "ms": round(r.duration_ms, 1),
                **({"error": r.error} if r.error else {}),
            }
            for r in results
        },
    }
    return JsonResponse(body, status=200 if not failed else 503)


def _metrics_allowed(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Serve the Prometheus exposition to a scraper with the token, or to staff."""
    if not _metrics_allowed(request):
        response = HttpResponse("forbidden\n", status=403, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics_render()
    return HttpResponse(body, content_type=content_type)


def operations_page(request: HttpRequest) -> HttpResponse:
    """Show the live operations page (staff only, inside the admin)."""
    context = {
        **admin.site.each_context(request),
        "title": "Operations",
        "ops_config": {
            "dataUrl": reverse("operations-data"),
            "pollSeconds": settings.OPERATIONS_POLL_SECONDS,
        },
    }
    return render(request, "admin/operations.html", context)


@never_cache
@require_GET
def operations_data(request: HttpRequest) -> JsonResponse:
    """Return one snapshot of metrics and Kafka state for the operations page (staff only)."""
    return JsonResponse(operations_snapshot())
