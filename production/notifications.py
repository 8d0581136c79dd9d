"""E-mail to customers: a receipt once they paid, their order is canceled (why, and the refund),
fulfilled, a proof waits for their answer, an operator wrote to them, or a refund is on its way;
and to the shop's staff when a refund failed. Every link is absolute on SITE_URL.

A transactional outbox delivered by the task queue. Services call `order_fulfilled` /
`customer_message` inside their transaction; that writes the finished mail as an `OutgoingEmail`
row and enqueues its `deliver_email` task in the same transaction (django-tasks-db stores a task as
a row of the same database), so a rolled-back change mails nobody and queues nothing, and a
committed one has both. No request talks to the mail server: a worker (`manage.py db_worker`) does,
each SMTP operation bounded by EMAIL_TIMEOUT.

A mail is sent at most once:
- Each attempt first claims the row with a conditional UPDATE (attempts + 1, next try pushed out
  by CLAIM_LEASE), so two tasks, or a task and the sweep, never both send one mail.
- It then connects to the mail server. A failure there (refused, no answer within EMAIL_TIMEOUT)
  means nothing left: the attempt schedules its own retry through the queue after
  EMAIL_RETRY_DELAY, doubling (1, 2, 4 … 64 minutes by default; MAX_ATTEMPTS in all), then the
  mail waits for support's "try again now" in the admin.
- Just before the mail itself goes out, the row is marked `handed_over_at`. A server that answers
  with an error did not take the mail: retried as above. A worker killed at that point, or a
  connection lost or timed out while sending, leaves the outcome unknown: the mail is "in doubt"
  and never retried by itself (support checks the mail server's log, then may try again).
- A worker that could not reach the mail server postpones the other mails for EMAIL_RETRY_DELAY
  without trying them, so an outage costs one EMAIL_TIMEOUT per delay, not one per mail.
- A worker killed before the hand-over (while connecting) leaves a claim that runs out after
  CLAIM_LEASE; `manage.py send_pending_email` (cron) then queues the mail again. Sooner: once the
  worker is known gone, `requeue_stale_tasks` releases its claim (`release_claim`) and runs the
  task again.
- A mail in doubt waits for a person: support checks the mail server's log, then either sends
  it again (`retry_now`) or marks it sent (`mark_sent`), from the admin.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Least
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from production.addresses import ShippingAddressData
from production.models import (
    ArtworkProof,
    FulfillmentEvent,
    OutgoingEmail,
    PlacementCode,
    ProductionOrder,
    Shipment,
    ShippingAddress,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # retried after 1, 2, 4 ... 64 minutes: about two hours of mail-server outage
# How long a claim keeps others off a mail while its worker connects. Connecting takes a few
# EMAIL_TIMEOUTs at worst; a worker that outlives its claim finds the mail re-claimed and stops.
CLAIM_LEASE = timedelta(minutes=10)
# A mail handed over this long ago without an outcome was lost with its worker (not still sending).
IN_DOUBT_AFTER = timedelta(minutes=10)

# Until when this worker process takes the mail server for down: it could not connect, so the
# other mails are postponed (no attempt used) instead of each waiting EMAIL_TIMEOUT behind it.
server_down_until: datetime | None = None


def order_fulfilled(*, order: ProductionOrder) -> None:
    """Mail the owner that `order` is fulfilled: recorded and queued in the caller's transaction."""
    _record(
        order,
        OutgoingEmail.Kind.ORDER_FULFILLED,
        subject=f"Your order {order.reference} is ready",
    )


def order_receipt(*, order: ProductionOrder) -> None:
    """Mail the owner a receipt once their payment is confirmed. Only its task is queued with the
    payment (one row, in the caller's transaction): the worker writes the mail (`write_receipt`),
    so the webhook's first delivery does not read the lines, designs, address and owner for it."""
    write_receipt.enqueue(str(order.pk))


@task()
def write_receipt(order_id: str) -> str:
    """The queue's job: the receipt of a paid order, written into the outbox (and its delivery
    queued): what was ordered (each line's colour, size and quantity, the placements printed), the
    total, where it goes (the address, or pickup at the shop) and a link to the order page.
    Returns "written", or "skipped" (no such order, or its receipt is already written)."""
    with transaction.atomic():
        order = (
            ProductionOrder.objects.select_for_update(of=("self",))
            .select_related("owner", "garment")
            .filter(pk=order_id)
            .first()
        )
        kind = OutgoingEmail.Kind.ORDER_RECEIPT
        if order is None or OutgoingEmail.objects.filter(order=order, kind=kind).exists():
            return "skipped"
        lines = list(order.line_items.select_related("color").order_by("id"))
        designs = list(order.designs.select_related("placement"))
        placements = ["Front"] + [
            d.placement.name for d in designs if d.placement.code != PlacementCode.FRONT
        ]
        try:
            address = ShippingAddressData.of(order.shipping_address)
        except ShippingAddress.DoesNotExist:
            address = None
        _record(
            order,
            kind,
            subject=f"Receipt for your order {order.reference}",
            lines=lines,
            placements=placements,
            address=address,
            pickup_address=settings.PICKUP_ADDRESS,
            pickup_hours=settings.PICKUP_HOURS,
        )
    return "written"


def order_canceled(*, order: ProductionOrder, reason: str, refunded: int) -> None:
    """Mail the owner that the shop canceled their order: why, in the words the operator wrote
    for them, and what goes back (`refunded`, minor units of the order's currency, on its way
    to their card; 0: nothing was charged or nothing is left). Queued with the cancel."""
    _record(
        order,
        OutgoingEmail.Kind.ORDER_CANCELED,
        subject=f"Your order {order.reference} is canceled",
        reason=reason.strip(),
        refunded=refunded,
        was_paid=order.submitted_at is not None,
    )


def customer_message(*, event: FulfillmentEvent) -> None:
    """Mail the owner an operator's message (a timeline event), queued with the change."""
    _record(
        event.order,
        OutgoingEmail.Kind.CUSTOMER_MESSAGE,
        subject=f"A message about your order {event.order.reference}",
        event=event,
    )


def proof_sent(*, order: ProductionOrder, proof: ArtworkProof) -> None:
    """Mail the owner a link to the proof waiting for their answer, queued with the change."""
    _record(
        order,
        OutgoingEmail.Kind.PROOF_SENT,
        subject=f"Proof {proof.revision} of your order {order.reference}: please review",
        proof=proof,
    )


def shipment_sent(
    *, order: ProductionOrder, shipment: Shipment, items: list[dict], complete: bool
) -> None:
    """Mail the owner a shipment with its tracking link, queued with the change. The shipment
    that completes the order says so: it is the order's only fulfilment mail."""
    subject = (
        f"Your order {order.reference} has shipped"
        if complete
        else f"Part of your order {order.reference} has shipped"
    )
    _record(
        order,
        OutgoingEmail.Kind.SHIPMENT_SENT,
        subject=subject,
        shipment=shipment,
        items=items,
        complete=complete,
    )


def shipment_corrected(*, order: ProductionOrder, shipment: Shipment) -> None:
    """Mail the owner the corrected tracking of a shipment, queued with the correction."""
    _record(
        order,
        OutgoingEmail.Kind.SHIPMENT_CORRECTED,
        subject=f"Corrected tracking for your order {order.reference}",
        shipment=shipment,
    )


def address_corrected(*, order: ProductionOrder, address: ShippingAddressData) -> None:
    """Mail the owner the order's corrected delivery address, queued with the correction."""
    _record(
        order,
        OutgoingEmail.Kind.ADDRESS_CORRECTED,
        subject=f"New delivery address for your order {order.reference}",
        address=address,
    )


def pickup_ready(*, order: ProductionOrder, address: str, hours: str) -> None:
    """Mail the owner that the order waits at the shop, with its address and hours."""
    _record(
        order,
        OutgoingEmail.Kind.PICKUP_READY,
        subject=f"Your order {order.reference} is ready for pickup",
        address=address,
        hours=hours,
    )


def picked_up(*, order: ProductionOrder, shipment: Shipment, items: list[dict]) -> None:
    """Mail the owner a receipt for the order they collected (its only fulfilment mail)."""
    _record(
        order,
        OutgoingEmail.Kind.PICKED_UP,
        subject=f"Your order {order.reference} was picked up",
        shipment=shipment,
        items=items,
    )


def refund_succeeded(*, order: ProductionOrder, amount: str) -> None:
    """Mail the owner that `amount` (formatted) is on its way back to them, with the change."""
    _record(
        order,
        OutgoingEmail.Kind.REFUND_SUCCEEDED,
        subject=f"Refund of {amount} for your order {order.reference}",
        amount=amount,
    )


def refund_failed(*, order: ProductionOrder, amount: str, reason: str) -> None:
    """Mail the shop's staff (SHOP_STAFF_EMAIL) that a refund failed and needs a person."""
    if not settings.SHOP_STAFF_EMAIL:
        logger.warning(
            "Refund failure of %s not mailed: SHOP_STAFF_EMAIL is not set", order.reference
        )
        return
    _record(
        order,
        OutgoingEmail.Kind.REFUND_FAILED,
        subject=f"Refund of {amount} for {order.reference} failed",
        to=settings.SHOP_STAFF_EMAIL,
        amount=amount,
        reason=reason,
    )


def order_url(order: ProductionOrder) -> str:
    """The order page, absolute when SITE_URL is configured."""
    path = reverse("order-detail", kwargs={"order_id": order.pk})
    return f"{settings.SITE_URL.rstrip('/')}{path}" if settings.SITE_URL else path


def ops_order_url(order: ProductionOrder) -> str:
    """The order's ops page, absolute when SITE_URL is configured (for mails to the staff)."""
    path = reverse("ops:order-detail", kwargs={"order_id": order.pk})
    return f"{settings.SITE_URL.rstrip('/')}{path}" if settings.SITE_URL else path


@task()
def deliver_email(email_id: int, *, despite_outage: bool = False) -> str:
    """The queue's job: one attempt at one outbox mail. Returns "sent", "failed" (retry
    scheduled or attempts used up), "in doubt", "postponed" (the mail server was just found
    down: queued again for when it is retried) or "skipped" (sent, claimed elsewhere, not due).
    `despite_outage`: try even so (support asked to try now)."""
    return _attempt(email_id, despite_outage=despite_outage)


def enqueue_due(*, limit: int = 500) -> tuple[int, int]:
    """The safety sweep: queue a delivery for each due mail that has none waiting (its task was
    lost with a killed worker, or predates the queue). (queued, already waiting)"""
    due = list(
        _due(timezone.now()).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]
    )
    waiting = _waiting_deliveries() & set(due)
    with transaction.atomic():
        for email_id in due:
            if email_id not in waiting:
                deliver_email.enqueue(email_id)
    return len(due) - len(waiting), len(waiting)


def retry_now(email_ids: Iterable[int]) -> list[int]:
    """Support's "try again now" (for a mail in doubt, "send again"): queue these unsent mails at
    once, with one more attempt allowed even if they had used them all. In-doubt mails are
    included (a person checked the mail server); one being handed over right now is not. Returns
    the ids queued."""
    now = timezone.now()
    with transaction.atomic():
        retry = (
            OutgoingEmail.objects.select_for_update()
            .filter(pk__in=list(email_ids), sent_at__isnull=True)
            .exclude(handed_over_at__gt=now - IN_DOUBT_AFTER)
        )
        retry_ids = list(retry.values_list("pk", flat=True))
        OutgoingEmail.objects.filter(pk__in=retry_ids).update(
            next_attempt_at=now,
            handed_over_at=None,
            attempts=Least(F("attempts"), MAX_ATTEMPTS - 1),
        )
        for email_id in retry_ids:
            deliver_email.enqueue(email_id, despite_outage=True)
    return retry_ids


def release_claim(email_id: int) -> bool:
    """The worker that claimed this mail is gone (killed while connecting): make the mail due
    now instead of when its claim runs out. A mail already handed over stays as it is (in doubt:
    it may have left). Safe even if that worker lives on: the next claim makes its attempt no
    longer the row's, so it stops before the hand-over. Returns whether the mail is due again."""
    return bool(
        OutgoingEmail.objects.filter(
            pk=email_id,
            sent_at__isnull=True,
            handed_over_at__isnull=True,
            next_attempt_at__gt=timezone.now(),
            attempts__gt=0,
        ).update(next_attempt_at=timezone.now())
    )


def in_doubt(*, now: datetime | None = None) -> QuerySet[OutgoingEmail]:
    """Mails handed over to the mail server without an outcome, long enough ago that their worker
    is no longer sending them: a person decides (the alert "mail in doubt > 0")."""
    now = now or timezone.now()
    return OutgoingEmail.objects.filter(
        sent_at__isnull=True, handed_over_at__lte=now - IN_DOUBT_AFTER
    )


def mark_sent(email_ids: Iterable[int]) -> list[int]:
    """Support's "mark as sent": the mail server's log shows these in-doubt mails left. Only
    mails in doubt are marked (not unsent ones, not one being handed over right now). Returns
    the ids marked."""
    now = timezone.now()
    with transaction.atomic():
        marked = list(
            in_doubt(now=now)
            .select_for_update()
            .filter(pk__in=list(email_ids))
            .values_list("pk", flat=True)
        )
        OutgoingEmail.objects.filter(pk__in=marked).update(sent_at=now)
    for email_id in marked:
        logger.info("E-mail %d in doubt marked as sent by support", email_id)
    return marked


def delivery_state(email: OutgoingEmail, *, now: datetime | None = None) -> str:
    """What support needs to know about one mail, in words."""
    now = now or timezone.now()
    if email.sent_at:
        return "sent"
    if email.handed_over_at:
        if email.handed_over_at > now - IN_DOUBT_AFTER:
            return "sending"
        return "in doubt: check the mail server's log before trying again"
    if email.attempts >= MAX_ATTEMPTS:
        return "gave up: try again now once the mail server is back"
    if email.attempts == 0:
        return "queued"
    if email.next_attempt_at > now:
        return "waiting to retry"
    return "retry queued"


def _due(now: datetime) -> QuerySet[OutgoingEmail]:
    """Unsent mails, not handed over, whose next try has come, with attempts left."""
    return OutgoingEmail.objects.filter(
        sent_at__isnull=True,
        handed_over_at__isnull=True,
        next_attempt_at__lte=now,
        attempts__lt=MAX_ATTEMPTS,
    )


def _waiting_deliveries() -> set[int]:
    """Mails with a delivery task waiting in the queue (due or later)."""
    rows = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=deliver_email.module_path
    ).values_list("args_kwargs", flat=True)
    return {row["args"][0] for row in rows if row["args"]}


def _record(
    order: ProductionOrder, kind: str, *, subject: str, to: str = "", **context: object
) -> None:
    recipient = to or order.owner.email
    if not recipient:
        logger.info("No e-mail for %s: its owner has no address", order.reference)
        return
    body = render_to_string(
        f"production/email/{kind}.txt",
        {"order": order, "url": order_url(order), "ops_url": ops_order_url(order), **context},
    )
    email = OutgoingEmail.objects.create(
        order=order, kind=kind, to=recipient, subject=subject, body=body
    )
    # A row of the same database, in the same transaction: it commits or rolls back with the mail.
    deliver_email.enqueue(email.pk)


def _attempt(email_id: int, *, despite_outage: bool = False) -> str:
    global server_down_until
    now = timezone.now()
    if server_down_until and now < server_down_until and not despite_outage:
        if not _due(now).filter(pk=email_id).exists():
            return "skipped"
        deliver_email.using(run_after=server_down_until).enqueue(email_id)
        return "postponed"
    # The claim: one more attempt, and the next try pushed out, so no other sender takes the row.
    claimed = (
        _due(now)
        .filter(pk=email_id)
        .update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE)
    )
    if not claimed:
        return "skipped"
    email = OutgoingEmail.objects.select_related("order").get(pk=email_id)
    # This attempt's row: a worker whose claim ran out while it connected finds it re-claimed.
    mine = OutgoingEmail.objects.filter(pk=email_id, attempts=email.attempts, sent_at__isnull=True)
    connection = get_connection()
    try:
        connection.open()  # connect, greet, log in: nothing of the mail has left yet
    except Exception as error:
        if isinstance(error, OSError):  # unreachable, silent, or refusing us: down for everyone
            server_down_until = timezone.now() + timedelta(seconds=settings.EMAIL_RETRY_DELAY)
        return _failed(email, mine, error)
    server_down_until = None
    try:
        if not mine.filter(handed_over_at__isnull=True).update(handed_over_at=timezone.now()):
            return "skipped"
        message = EmailMessage(
            email.subject,
            email.body,
            settings.DEFAULT_FROM_EMAIL,
            [email.to],
            connection=connection,
        )
        try:
            message.send()
        except Exception as error:
            if _outcome_unknown(error):
                mine.update(last_error=_describe(error))
                logger.exception(
                    "E-mail %r for %s is in doubt (the connection failed while sending); "
                    "it is not retried by itself",
                    email.kind,
                    email.order.reference,
                )
                return "in doubt"
            return _failed(email, mine, error)
        mine.update(sent_at=timezone.now(), last_error="")
        return "sent"
    finally:
        try:
            connection.close()
        except Exception:
            # The mail's outcome is already recorded; a server that hangs up badly changes nothing.
            logger.warning("Closing the mail server connection failed", exc_info=True)


def _failed(email: OutgoingEmail, mine: QuerySet[OutgoingEmail], error: Exception) -> str:
    """The server did not take the mail: schedule the next attempt through the queue."""
    retry_at = timezone.now() + timedelta(
        seconds=settings.EMAIL_RETRY_DELAY * 2 ** (email.attempts - 1)
    )
    with transaction.atomic():
        updated = mine.update(
            next_attempt_at=retry_at, handed_over_at=None, last_error=_describe(error)
        )
        if updated and email.attempts < MAX_ATTEMPTS:
            deliver_email.using(run_after=retry_at).enqueue(email.pk)
    logger.exception(
        "E-mail %r for %s failed (attempt %d of %d; change committed)",
        email.kind,
        email.order.reference,
        email.attempts,
        MAX_ATTEMPTS,
        exc_info=error,
    )
    return "failed"


def _outcome_unknown(error: Exception) -> bool:
    """Did the connection fail while the mail was being sent (the server may have taken it)?
    An SMTP error reply means it did not; a timeout or a dropped connection leaves it unknown."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]
