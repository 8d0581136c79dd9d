"""Request bodies over their view's limit are refused with 413 before anything reads them.

Every path has a limit: DATA_UPLOAD_MAX_MEMORY_SIZE (`MAX_REQUEST_BODY_BYTES`, 1 MB), or the one
its view declares with `body_limit` (the proof uploads: PROOF_MAX_BYTES and the multipart
envelope). Multipart bodies count like any other: Django's own limit leaves file parts out.

- `RequestSizeLimitMiddleware` (Django, WSGI and ASGI): a declared Content-Length over the
  path's limit is answered 413 at once. Without a Content-Length, WSGI gives Django no body at
  all (a chunked body under gunicorn is never read); a body found too big while Django reads it
  (RequestDataTooBig) is answered 413 by `too_large` too.
- `BodyLimitASGI` (in front of Django's ASGI handler, which spools the whole body to a temporary
  file before any middleware runs): the same Content-Length check, and a chunked body counted as
  it arrives and refused once past the limit, never handed on.
- daphne itself buffers a body before it calls the application: `bounded_daphne` caps that at
  `largest_body_limit()`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.exceptions import Resolver404

TOO_LARGE = "Request body too large"

Limit = Callable[[], int]
View = TypeVar("View")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def body_limit(limit: Limit) -> Callable[[View], View]:
    """Declare on a view (a function or a class-based view) the largest body it accepts, read
    from settings when a request comes (`limit()`); every other view has the small limit."""

    def declare(view: View) -> View:
        view.max_body_bytes = staticmethod(limit) if isinstance(view, type) else limit  # type: ignore[attr-defined]
        return view

    return declare


def small_limit() -> int | None:
    """The limit of every view that declares none (None: DATA_UPLOAD_MAX_MEMORY_SIZE is off)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _declared(callback: object) -> Limit | None:
    # A class-based view's `as_view()` function carries its class (Django and DRF alike).
    for holder in (callback, getattr(callback, "view_class", None)):
        limit = getattr(holder, "max_body_bytes", None)
        if limit is not None:
            return limit
    return None


def limit_for_path(path_info: str, urlconf: str | None = None) -> int | None:
    """The body limit of the view `path_info` resolves to (the small limit for no view)."""
    try:
        match = get_resolver(urlconf).resolve(path_info)
    except Resolver404:
        return small_limit()
    declared = _declared(match.func)
    return declared() if declared is not None else small_limit()


def largest_body_limit(urlconf: str | None = None) -> int | None:
    """The largest body any view accepts (None: no limit at all)."""
    small = small_limit()
    if small is None:
        return None
    return max([small, *(limit() for limit in declared_limits(urlconf))])


def smallest_body_limit(urlconf: str | None = None) -> int | None:
    """A body this size or smaller every view accepts, so it needs no URL resolving to check."""
    small = small_limit()
    if small is None:
        return None
    return min([small, *(limit() for limit in declared_limits(urlconf))])


@functools.cache
def declared_limits(urlconf: str | None = None) -> tuple[Limit, ...]:
    """The limits views declare (`body_limit`), found once per process and URL configuration."""
    return tuple(_declared_limits(get_resolver(urlconf).url_patterns))


def _declared_limits(patterns: Iterable[URLPattern | URLResolver]) -> Iterable[Limit]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _declared_limits(pattern.url_patterns)
        else:
            limit = _declared(pattern.callback)
            if limit is not None:
                yield limit


def wants_json(request: HttpRequest) -> bool:
    """API-style clients: under /api/, a JSON body, an XHR, or an Accept preferring JSON."""
    if request.path.startswith("/api/") or request.content_type == "application/json":
        return True
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    return request.accepts("application/json") and not request.accepts("text/html")


def too_large(request: HttpRequest, limit: int | None = None) -> HttpResponse:
    """413: `{"error": ...}` for the API, the webhook and JSON clients; a page elsewhere."""
    if wants_json(request):
        return JsonResponse({"error": TOO_LARGE}, status=413)
    return render(request, "413.html", {"limit": limit}, status=413)


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads a malformed length as 0 as well


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length, smallest = declared_length(request), smallest_body_limit()
        # A body every view accepts needs no URL resolving (the hot path: most have none).
        if smallest is not None and length > smallest:
            limit = limit_for_path(request.path_info, getattr(request, "urlconf", None))
            if limit is not None and length > limit:
                return too_large(request, limit)
        return self.get_response(request)


# --- ASGI ----------------------------------------------------------------------------------------


class BodyLimitASGI:
    """Wraps Django's ASGI application: a body over its path's limit is answered 413 before
    Django spools it, from the Content-Length at once, or (chunked) as soon as what has arrived
    passes the limit; the rest of the body is never handed on."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, smallest = _content_length(scope), smallest_body_limit()
        declared = _header(scope, b"content-length") or scope.get("method") in ("GET", "HEAD")
        if smallest is not None and length <= smallest and declared:
            # A declared body every view accepts, or a GET's none (daphne hands on no more than
            # the Content-Length): no URL resolving on the hot path.
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        limit = limit_for_path(path)
        if limit is None:
            await self.app(scope, receive, send)
            return
        if length > limit:
            await _refuse(scope, send)
            return
        counted = _CountedBody(receive, limit)
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        # Past the limit, Django is told the client went away (it stops reading and answers
        # nothing); the 413 is sent here.
        await self.app(scope, counted, tracked_send)
        if counted.over and not started:
            await _refuse(scope, send)


class _CountedBody:
    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.received = 0
        self.over = False

    async def __call__(self) -> Message:
        if self.over:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.over = True
                return {"type": "http.disconnect"}
        return message


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return b""


def _content_length(scope: Scope) -> int:
    try:
        return int(_header(scope, b"content-length") or 0)
    except ValueError:
        return 0


async def _refuse(scope: Scope, send: Send) -> None:
    accept = _header(scope, b"accept").decode("latin-1")
    if scope["path"].startswith("/api/") or "text/html" not in accept:
        body = json.dumps({"error": TOO_LARGE}).encode()
        content_type = b"application/json"
    else:
        body = b"<!doctype html><title>Too large</title><h1>Too large</h1>"
        body += b"<p>What was sent is larger than this site accepts.</p>"
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
