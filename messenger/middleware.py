"""HTTP middleware: count and time every request by its route pattern; tag its logs."""

import re
import time
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from messenger.logcontext import log_context
from messenger.metrics import HTTP_REQUESTS, HTTP_SECONDS

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def _route(request: HttpRequest) -> str:
    # The pattern, not the path: /conversations/<int:conversation_id>/ is one
    # series however many conversations there are.
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return "/" + str(match.route)


def _observe(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    route = _route(request)
    method = request.method or "GET"
    HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
    HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)


@sync_and_async_middleware
def request_metrics_middleware(
    get_response: GetResponse | AsyncGetResponse,
) -> GetResponse | AsyncGetResponse:
    """Count and time each request, labelled by method, route pattern and status."""
    if iscoroutinefunction(get_response):
        async_get_response: AsyncGetResponse = get_response

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            response = await async_get_response(request)
            _observe(request, response, started)
            return response

        return async_middleware

    sync_get_response: GetResponse = get_response  # type: ignore[assignment]

    def middleware(request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = sync_get_response(request)
        _observe(request, response, started)
        return response

    return middleware


# A caller's id is kept only when it is short and plain: it ends up in logs.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _request_id(request: HttpRequest) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


@sync_and_async_middleware
def request_id_middleware(
    get_response: GetResponse | AsyncGetResponse,
) -> GetResponse | AsyncGetResponse:
    """Give each request an id (the caller's X-Request-ID or a new one) for its logs and answer."""
    if iscoroutinefunction(get_response):
        async_get_response: AsyncGetResponse = get_response

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            request_id = _request_id(request)
            with log_context(request_id=request_id):
                response = await async_get_response(request)
            response["X-Request-ID"] = request_id
            return response

        return async_middleware

    sync_get_response: GetResponse = get_response  # type: ignore[assignment]

    def middleware(request: HttpRequest) -> HttpResponseBase:
        request_id = _request_id(request)
        with log_context(request_id=request_id):
            response = sync_get_response(request)
        response["X-Request-ID"] = request_id
        return response

    return middleware
