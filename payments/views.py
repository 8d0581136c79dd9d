"""The Stripe webhook endpoint: verify, then hand the event to `payments.services`."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.services import InvalidEvent, InvalidSignature, receive_webhook
from production.plumbing import metrics
from production.plumbing.db_retry import connection_lost, rerun_safe

logger = logging.getLogger(__name__)


@rerun_safe  # events are handled once by id: a delivery run again finds its event done
@csrf_exempt  # Stripe cannot send a CSRF token; the signature authenticates the request.
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    if not settings.STRIPE_WEBHOOK_SECRET:
        # Fail closed: no built-in secret outside DEBUG. 503 keeps Stripe retrying the event for
        # days, so nothing is lost once the secret is configured.
        logger.error("Stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        return JsonResponse({"error": "Webhook not configured"}, status=503)
    try:
        result = receive_webhook(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except InvalidSignature as exc:
        metrics.webhook_outcome("unverified", "invalid_signature")
        logger.warning("Stripe webhook refused: %s", exc)
        return JsonResponse({"error": "Invalid signature"}, status=400)
    except InvalidEvent as exc:
        metrics.webhook_outcome("unverified", "invalid_event")
        logger.warning("Stripe webhook refused: %s", exc)
        return JsonResponse(
            {"error": "Invalid request", "details": {"body": [str(exc)]}}, status=400
        )
    except DatabaseError as exc:
        if connection_lost(exc):
            raise  # RetryOnLostConnection delivers it once more on a new connection
        # 500 makes Stripe retry later; nothing of this delivery was committed.
        metrics.webhook_outcome("unknown", "error")
        logger.exception("Stripe webhook failed on the database")
        return JsonResponse({"error": "Internal error"}, status=500)
    metrics.webhook_outcome(result.event_type, result.outcome)
    return JsonResponse({"received": True, "outcome": result.outcome})
