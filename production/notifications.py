"""E-mail to customers: their order is fulfilled, or an operator wrote to them.

Services call these inside their transaction; the mail is sent only after commit (a rolled-back
change mails nobody) and outside it (SMTP never holds a row lock). A failed send is logged and
never undoes the change. Console backend by default; EMAIL_URL configures SMTP.
"""

from __future__ import annotations

import logging
from functools import partial
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from production.models import FulfillmentEvent, ProductionOrder

logger = logging.getLogger(__name__)


def order_fulfilled(*, order: ProductionOrder) -> None:
    """Mail the owner that `order` is fulfilled, once the current transaction commits."""
    transaction.on_commit(partial(_send_order_fulfilled, order.pk), robust=True)


def customer_message(*, event: FulfillmentEvent) -> None:
    """Mail the owner an operator's message (a timeline event), once the transaction commits."""
    transaction.on_commit(partial(_send_customer_message, event.pk), robust=True)


def order_url(order: ProductionOrder) -> str:
    """The order page, absolute when SITE_URL is configured."""
    path = reverse("order-detail", kwargs={"order_id": order.pk})
    return f"{settings.SITE_URL.rstrip('/')}{path}" if settings.SITE_URL else path


def _send_order_fulfilled(order_id: UUID) -> None:
    order = ProductionOrder.objects.select_related("owner", "garment").filter(pk=order_id).first()
    if order is not None:
        _mail(order, "order_fulfilled", subject=f"Your order {order.reference} is ready")


def _send_customer_message(event_id: int) -> None:
    event = (
        FulfillmentEvent.objects.select_related("order__owner", "order__garment")
        .filter(pk=event_id)
        .first()
    )
    if event is not None:
        _mail(
            event.order,
            "customer_message",
            subject=f"A message about your order {event.order.reference}",
            event=event,
        )


def _mail(order: ProductionOrder, template: str, *, subject: str, **context: object) -> None:
    recipient = order.owner.email
    if not recipient:
        logger.info("No e-mail for %s: its owner has no address", order.reference)
        return
    body = render_to_string(
        f"production/email/{template}.txt", {"order": order, "url": order_url(order), **context}
    )
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    except Exception:
        logger.exception("E-mail %r for %s failed (change committed)", template, order.reference)
