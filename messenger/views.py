"""Operational endpoints: liveness and readiness probes."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from messenger.health import readiness_check


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
