"""E-mail to customers: their order is fulfilled, or an operator wrote to them.

A transactional outbox. Services call `order_fulfilled` / `customer_message` inside their
transaction; that writes the finished mail as an `OutgoingEmail` row in the same transaction (a
rolled-back change mails nobody; a committed one always has its mail on record). After commit the
mail is sent at once, outside the transaction (SMTP never holds a row lock). A send that fails is
logged, never undoes the change, and is tried again by `manage.py send_pending_email` (run it
every minute from cron) with a growing delay, up to MAX_ATTEMPTS. Each attempt first claims the
row with a conditional UPDATE, so two senders never send one mail at the same time. Console
backend by default; EMAIL_URL configures SMTP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Least
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from production.models import FulfillmentEvent, OutgoingEmail, ProductionOrder

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # retried after 1, 2, 4 ... 64 minutes: about two hours of mail-server outage
FIRST_RETRY = timedelta(minutes=1)


def order_fulfilled(*, order: ProductionOrder) -> None:
    """Mail the owner that `order` is fulfilled: recorded now, sent once the transaction commits."""
    _enqueue(
        order,
        OutgoingEmail.Kind.ORDER_FULFILLED,
        subject=f"Your order {order.reference} is ready",
    )


def customer_message(*, event: FulfillmentEvent) -> None:
    """Mail the owner an operator's message (a timeline event) once the transaction commits."""
    _enqueue(
        event.order,
        OutgoingEmail.Kind.CUSTOMER_MESSAGE,
        subject=f"A message about your order {event.order.reference}",
        event=event,
    )


def order_url(order: ProductionOrder) -> str:
    """The order page, absolute when SITE_URL is configured."""
    path = reverse("order-detail", kwargs={"order_id": order.pk})
    return f"{settings.SITE_URL.rstrip('/')}{path}" if settings.SITE_URL else path


def send_due(*, limit: int = 500) -> tuple[int, int]:
    """Try the unsent mails whose time has come, oldest first: (sent, failed)."""
    due = _due(timezone.now()).order_by("next_attempt_at", "id")
    return deliver(list(due.values_list("pk", flat=True)[:limit]))


def retry_now(email_ids: Iterable[int]) -> tuple[int, int]:
    """Support's "try again now": these unsent mails become due, with one more attempt allowed
    even if they had used them all. (sent, failed)"""
    email_ids = list(email_ids)
    OutgoingEmail.objects.filter(pk__in=email_ids, sent_at__isnull=True).update(
        next_attempt_at=timezone.now(),
        attempts=Least(F("attempts"), MAX_ATTEMPTS - 1),
    )
    return deliver(email_ids)


def deliver(email_ids: Iterable[int]) -> tuple[int, int]:
    """Send these mails, each only if it is still unsent and due: (sent, failed)."""
    sent = failed = 0
    for email_id in email_ids:
        outcome = _attempt(email_id)
        sent += outcome is True
        failed += outcome is False
    return sent, failed


def _due(now: datetime) -> QuerySet[OutgoingEmail]:
    """Unsent mails whose next try has come, with attempts left."""
    return OutgoingEmail.objects.filter(
        sent_at__isnull=True, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS
    )


def _enqueue(order: ProductionOrder, kind: str, *, subject: str, **context: object) -> None:
    recipient = order.owner.email
    if not recipient:
        logger.info("No e-mail for %s: its owner has no address", order.reference)
        return
    body = render_to_string(
        f"production/email/{kind}.txt", {"order": order, "url": order_url(order), **context}
    )
    email = OutgoingEmail.objects.create(
        order=order, kind=kind, to=recipient, subject=subject, body=body
    )
    transaction.on_commit(partial(deliver, [email.pk]), robust=True)


def _attempt(email_id: int) -> bool | None:
    """True: sent. False: failed (kept for a later try). None: not ours to send now."""
    now = timezone.now()
    # The claim: push the next try out before sending, so a concurrent sender skips this row.
    claimed = (
        _due(now)
        .filter(pk=email_id)
        .update(attempts=F("attempts") + 1, next_attempt_at=now + timedelta(hours=1))
    )
    if not claimed:
        return None
    email = OutgoingEmail.objects.select_related("order").get(pk=email_id)
    try:
        send_mail(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, [email.to])
    except Exception as error:
        retry_at = timezone.now() + FIRST_RETRY * 2 ** (email.attempts - 1)
        OutgoingEmail.objects.filter(pk=email_id).update(
            next_attempt_at=retry_at, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        logger.exception(
            "E-mail %r for %s failed (attempt %d of %d; change committed)",
            email.kind,
            email.order.reference,
            email.attempts,
            MAX_ATTEMPTS,
        )
        return False
    OutgoingEmail.objects.filter(pk=email_id).update(sent_at=timezone.now(), last_error="")
    return True
