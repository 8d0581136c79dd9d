"""Preflight off the request path: a report per order design, checked by the task queue
(`run_preflight`, django-tasks on the database: `manage.py task_worker`), announced to the live
pages when it is done; and the checkout's gate, which queues the check and asks the rulebook
(`artwork_refusal`) about the verdict there is: nothing waits for a check (decision 0069)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from artwork import mockups
from artwork.models import Gate, PreflightReport, Verdict, gate_of
from artwork.preflight import PrintArea, check_url
from production import broadcasts, order_reads
from production.models import OrderDesign, ProductionOrder

logger = logging.getLogger(__name__)

# Checks decode customers' files: their own queue, so a burst of large designs never delays the
# mail and refunds on the default one (`task_worker --queue-name artwork`; `make run` runs both).
ARTWORK_QUEUE = "artwork"


def request_preflight(order: ProductionOrder | UUID, *, designs: Iterable[OrderDesign] = ()) -> int:
    """A pending report (and its task) for every design of the order without a report for its
    current URL; `designs`: these only. Returns how many were queued. Idempotent: a design
    already checked, or being checked, for its URL is left alone."""
    return len(_request_preflight(order, designs)[0])


# What a new check resets: a report for a new URL starts over.
_RESET = (
    "order", "url", "verdict", "checks", "highlight", "requested_at", "checked_at",
    "acknowledged_at", "acknowledged_by", "overridden_at", "overridden_by", "override_reason",
)  # fmt: skip


def _request_preflight(
    order: ProductionOrder | UUID, designs: Iterable[OrderDesign]
) -> tuple[list[PreflightReport], list[PreflightReport]]:
    """`request_preflight`'s work: the reports it queued, and every report of the order as it
    stands once they are queued (read in the same transaction: the checkout's gate needs no
    read of its own)."""
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    rows = list(designs) or list(OrderDesign.objects.filter(order_id=order_id))
    with transaction.atomic():
        reports = {
            r.design_id: r
            for r in PreflightReport.objects.select_for_update().filter(order_id=order_id)
        }
        now = timezone.now()
        queued = [
            PreflightReport(design=design, order_id=order_id, url=design.url, requested_at=now)
            for design in rows
            if design.pk not in reports or reports[design.pk].url != design.url
        ]
        if queued:
            # One statement for them all, inserted or (a report of the design's old URL, or one a
            # concurrent request just made) reset to pending: update_or_create's outcome.
            PreflightReport.objects.bulk_create(
                queued, update_conflicts=True, unique_fields=["design"], update_fields=_RESET
            )
            reports.update((report.design_id, report) for report in queued)
            order_reads.invalidate(order_id)
            # The task rows are written in this transaction (the database backend): a rolled
            # back request queues nothing, a committed one cannot lose its check.
            for report in queued:
                run_preflight.enqueue(report.pk)
    return queued, list(reports.values())


@task(queue_name=ARTWORK_QUEUE)
def run_preflight(report_id: int) -> str:
    """The queue's job: check one design and store the report (if the design is still the one
    asked about), then announce the order. Returns the verdict, or "skipped"."""
    report = (
        PreflightReport.objects.select_related("design__placement", "order__garment")
        .filter(pk=report_id)
        .first()
    )
    if report is None or report.verdict != Verdict.PENDING:
        return "skipped"
    placement = report.design.placement
    area = PrintArea(placement.name, float(placement.width_in), float(placement.height_in))
    result = check_url(report.url, area)
    if result.preview is not None:
        try:
            mockups.store_for_order(report.order, report.design, result.preview)
        except Exception:  # a mockup is a nicety: the report matters more
            logger.exception("Mockups of %s could not be made", report.design_id)
    with transaction.atomic():
        updated = PreflightReport.objects.filter(
            pk=report_id, url=report.url, verdict=Verdict.PENDING
        ).update(
            verdict=result.verdict,
            checks=result.checks_json(),
            highlight=result.highlight,
            checked_at=timezone.now(),
        )
        if not updated:
            return "skipped"
        order_reads.invalidate(report.order_id)
        broadcasts.order_changed(report.order, [])
    if result.verdict == Verdict.FAIL and report.order.stripe_checkout_session_id:
        # A checkout made before this verdict must not take a payment (decision 0069): the
        # payments app expires it (the artwork app does not import it).
        import_string(settings.ORDER_CHECKOUT_CLOSE)(report.order_id)
    return result.verdict


def checkout_gate(order: ProductionOrder) -> Gate:
    """Before a checkout starts: the designs are queued for a check if they have none, and the
    rulebook says whether the artwork stops the payment now (a check still running holds it for
    PREFLIGHT_PENDING_HOLD seconds at most). Never waits: the order page shows the check's
    progress and offers the payment when its verdict arrives."""
    return gate_of(_request_preflight(order, ())[1])
