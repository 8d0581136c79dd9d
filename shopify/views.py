"""The Shopify webhook endpoint, and the operators' retry of a fulfilment."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from production.plumbing.db_retry import connection_lost, rerun_safe
from shopify import services
from shopify.models import FulfilmentPush, StoreOrder

logger = logging.getLogger(__name__)


@rerun_safe  # deliveries are recorded once by webhook id: a delivery run again is a duplicate
@csrf_exempt  # Shopify sends no CSRF token; the HMAC authenticates the request
@require_POST
def shopify_webhook(request: HttpRequest) -> JsonResponse:
    if not settings.SHOPIFY_API_SECRET:
        logger.error("Shopify webhook refused: SHOPIFY_API_SECRET is not set")
        return JsonResponse({"error": "Webhook not configured"}, status=503)
    try:
        received = services.receive_webhook(body=request.body, headers=request.headers)
    except services.InvalidSignature as exc:
        logger.warning("Shopify webhook refused: %s", exc)
        return JsonResponse({"error": "Invalid signature"}, status=401)
    except services.InvalidWebhook as exc:
        logger.warning("Shopify webhook refused: %s", exc)
        return JsonResponse(
            {"error": "Invalid request", "details": {"body": [str(exc)]}}, status=400
        )
    except DatabaseError as exc:
        if connection_lost(exc):
            raise
        logger.exception("Shopify webhook failed on the database")
        return JsonResponse({"error": "Internal error"}, status=500)  # Shopify retries
    return JsonResponse({"received": True, "outcome": received.outcome})


@require_POST
@permission_required("production.operate_orders", raise_exception=True)
def retry_fulfilment(request: HttpRequest, push_id: int) -> HttpResponse:
    push = get_object_or_404(FulfilmentPush.objects.select_related("shipment"), pk=push_id)
    if services.retry_fulfilment(push.pk):
        messages.success(request, "The fulfilment is queued to be sent to the store again.")
    else:
        messages.info(request, "That fulfilment is not failed: nothing to retry.")
    return redirect(reverse("ops:order-detail", args=[push.shipment.order_id]))


@require_POST
@permission_required("production.operate_orders", raise_exception=True)
def import_again(request: HttpRequest, store_order_id: int) -> HttpResponse:
    store = get_object_or_404(StoreOrder, pk=store_order_id)
    state, detail = services.import_again(store.pk)
    messages.info(request, f"{store.name}: {StoreOrder.State(state).label}. {detail}".strip())
    return redirect(reverse("admin:shopify_storeorder_change", args=[store.pk]))
