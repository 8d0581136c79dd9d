"""Catch up on payments and refunds whose webhook never arrived: ask Stripe about recent drafts'
sessions and about refunds still pending."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from payments.gateway import GatewayError, stripe_gateway
from payments.refunds import pending_refunds, settle_refund, submit_refund
from payments.services import reconcile_session
from production.lifecycle import OrderState
from production.models import ProductionOrder


class Command(BaseCommand):
    help = (
        "List the Stripe Checkout Sessions of recent drafts and apply the ones Stripe has settled "
        "(paid: submit; expired: cancel) through the webhook's idempotent code, and settle refunds "
        "still pending whose webhook never came. Safe to run often."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours",
            type=int,
            default=72,
            help="Look at drafts created in the last HOURS hours (default 72).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only list what Stripe says; change nothing."
        )

    def handle(self, *args: Any, hours: int, dry_run: bool, **options: Any) -> None:
        failures = self.settle_refunds(dry_run=dry_run)
        gateway = stripe_gateway()
        if gateway is None:
            self.stdout.write(
                "STRIPE_SECRET_KEY is not set: the local checkout simulator delivers its events "
                "in-process, so its checkout sessions have nothing to reconcile."
            )
            if failures:
                raise CommandError(f"{failures} refund(s) could not be read from Stripe.")
            return
        since = timezone.now() - timedelta(hours=hours)
        drafts = ProductionOrder.objects.filter(
            status=OrderState.DRAFT,
            created_at__gte=since,
            stripe_checkout_session_id__isnull=False,
        ).order_by("created_at")
        changed = 0
        for order in drafts.iterator():
            session_id = order.stripe_checkout_session_id
            try:
                session = gateway.retrieve_session(session_id)
            except GatewayError as exc:
                failures += 1
                self.stderr.write(f"{order.reference} {session_id}: Stripe error: {exc}")
                continue
            line = (
                f"{order.reference} {session_id} status={session.get('status')} "
                f"payment_status={session.get('payment_status')}"
            )
            if dry_run:
                self.stdout.write(line)
                continue
            result = reconcile_session(session)
            if result is None:
                self.stdout.write(f"{line}: left as is")
                continue
            changed += result.outcome in ("submitted", "canceled")
            self.stdout.write(f"{line}: {result.outcome}")
        self.stdout.write(f"{changed} order(s) changed.")
        if failures:
            raise CommandError(f"{failures} session(s) or refund(s) could not be read from Stripe.")

    def settle_refunds(self, *, dry_run: bool) -> int:
        """Refunds pending longer than REFUND_SETTLE_AFTER_MINUTES: one Stripe never answered
        about is retrieved and settled; one never sent (its task was lost) is queued again (the
        idempotency key makes that safe). Returns how many could not be read."""
        gateway = stripe_gateway()
        waited = timedelta(minutes=settings.REFUND_SETTLE_AFTER_MINUTES)
        failures = settled = 0
        for refund in pending_refunds(older_than=waited):
            line = f"{refund.order.reference} refund {refund.pk}"
            if not refund.stripe_refund_id:
                self.stdout.write(f"{line}: not yet at Stripe" + ("" if dry_run else ", queued"))
                if not dry_run:
                    submit_refund.enqueue(str(refund.pk))
                continue
            if gateway is None:
                continue  # local refunds settle when made
            try:
                stripe_refund = gateway.retrieve_refund(refund.stripe_refund_id)
            except GatewayError as exc:
                failures += 1
                self.stderr.write(f"{line} {refund.stripe_refund_id}: Stripe error: {exc}")
                continue
            line = f"{line} {refund.stripe_refund_id} status={stripe_refund.get('status')}"
            if dry_run:
                self.stdout.write(line)
                continue
            outcome = settle_refund(refund_id=refund.pk, stripe_refund=stripe_refund)
            settled += outcome
            self.stdout.write(f"{line}: {'settled' if outcome else 'left as is'}")
        self.stdout.write(f"{settled} refund(s) settled.")
        return failures
