"""One exception handler: every API error is `{"error": ...}` with the spec's status and text."""

import logging
import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from production.exceptions import (
    CheckoutUnavailable,
    IdempotencyConflict,
    OrderError,
    ProofConflict,
)
from production.plumbing.db_retry import connection_lost, database_unavailable
from production.plumbing.request_limits import too_large

logger = logging.getLogger("production.api")

INVALID = "Invalid request"


def _details(detail: object) -> dict:
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, IdempotencyConflict | ProofConflict):
        return Response({"error": "Conflict", "details": exc.details}, status=409)
    if isinstance(exc, OrderError):
        return Response({"error": INVALID, "details": exc.details}, status=400)
    if isinstance(exc, CheckoutUnavailable):
        # The spec's 500; the draft stays, and a retry with the same Idempotency-Key reuses it.
        logger.error("Checkout could not be started: %s", exc, exc_info=exc)
        return Response({"error": "Internal error"}, status=500)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None and connection_lost(exc):
        return None  # raised on to RetryOnLostConnection, which runs the view again
    if response is None:
        logger.exception(
            "Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc
        )
        return Response({"error": "Internal error"}, status=500)

    if isinstance(exc, exceptions.ParseError):
        body = {"error": INVALID, "details": {"body": [str(exc.detail)]}}
    elif isinstance(exc, exceptions.ValidationError):
        body = {"error": INVALID, "details": _details(exc.detail)}
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        body = {"error": "Unauthorized"}
    elif isinstance(exc, exceptions.PermissionDenied):
        body = {"error": "Forbidden", "details": {"detail": [str(exc.detail)]}}
    elif isinstance(exc, exceptions.NotFound):
        body = {"error": "Order not found"}
    elif isinstance(exc, exceptions.Throttled):
        body = {"error": "Too many requests", "details": {"retryAfter": [str(exc.wait)]}}
    elif isinstance(exc, exceptions.MethodNotAllowed):
        body = {"error": "Method not allowed"}
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        body = {"error": INVALID, "details": {"Content-Type": [str(exc.detail)]}}
    else:
        body = {"error": str(exc.detail)}
    response.data = body
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 outside DRF views (Django's SuspiciousOperation): 413 for a body too large to read."""
    if isinstance(exception, RequestDataTooBig):
        return too_large(request)
    if _is_api(request):
        return JsonResponse({"error": INVALID}, status=400)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for URLs no view matched: JSON under /api/, the site's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"error": "Not found"}, status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # as every API view: a token client sends no CSRF token, and no 403 page instead
def unknown_api_path(request: HttpRequest, path: str = "") -> HttpResponse:
    """The last route under /api/: a URL no API route matched, or one whose converter refused a
    segment (`/proofs/null/decision`), answers the JSON 404 with DEBUG on as well (handler404 only
    runs with DEBUG off; DEBUG's own 404 page is HTML), whatever the method."""
    return JsonResponse({"error": "Not found"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 outside DRF views: never a traceback, JSON under /api/. A database out of reach (its
    pooler or server restarting, after the view's runs again) that kept nothing of the request
    answers 503 with Retry-After: the client may send it again as it was."""
    if database_unavailable(request, sys.exc_info()[1]):
        if _is_api(request):
            response = JsonResponse({"error": "Service unavailable"}, status=503)
        else:
            response = defaults.server_error(request)  # "please try again in a minute"
            response.status_code = 503
        response["Retry-After"] = "2"
        return response
    if _is_api(request):
        return JsonResponse({"error": "Internal error"}, status=500)
    return defaults.server_error(request)
