"""Request bodies over DATA_UPLOAD_MAX_MEMORY_SIZE are refused with 413 before anything reads them.

Django itself only refuses an oversized body when `request.body` or `request.POST` is read (with
RequestDataTooBig, a 400 by default), and DRF's parsers read the stream without that check. So a
declared Content-Length over the limit is answered here, early in the middleware chain; a body
that turns out too big while being read (RequestDataTooBig) is answered 413 by `too_large` too.
Multipart bodies are left to Django's upload handling: their files are not counted against this
limit (they are streamed to disk), only their other fields are.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

TOO_LARGE = "Request body too large"


def wants_json(request: HttpRequest) -> bool:
    """API-style clients: under /api/, a JSON body, an XHR, or an Accept preferring JSON."""
    if request.path.startswith("/api/") or request.content_type == "application/json":
        return True
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    return request.accepts("application/json") and not request.accepts("text/html")


def too_large(request: HttpRequest) -> HttpResponse:
    """413: `{"error": ...}` for the API, the webhook and JSON clients; a page elsewhere."""
    if wants_json(request):
        return JsonResponse({"error": TOO_LARGE}, status=413)
    return render(request, "413.html", status=413)


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads a malformed length as 0 as well


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if (
            limit is not None
            and declared_length(request) > limit
            and not request.content_type.startswith("multipart/")
        ):
            return too_large(request)
        return self.get_response(request)
