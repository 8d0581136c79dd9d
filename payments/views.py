"""The Stripe webhook endpoint: verify, then hand the event to `payments.services`."""

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.services import InvalidEvent, InvalidSignature, receive_webhook

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature authenticates the request.
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        result = receive_webhook(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except InvalidSignature as exc:
        logger.warning("Stripe webhook refused: %s", exc)
        return JsonResponse({"error": "Invalid signature"}, status=400)
    except InvalidEvent as exc:
        logger.warning("Stripe webhook refused: %s", exc)
        return JsonResponse(
            {"error": "Invalid request", "details": {"body": [str(exc)]}}, status=400
        )
    except DatabaseError:
        # 500 makes Stripe retry later; nothing of this delivery was committed.
        logger.exception("Stripe webhook failed on the database")
        return JsonResponse({"error": "Internal error"}, status=500)
    return JsonResponse({"received": True, "outcome": result.outcome})
