"""Catch up on payments whose webhook never arrived: ask Stripe about recent drafts' sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from payments.gateway import GatewayError, stripe_gateway
from payments.services import reconcile_session
from production.lifecycle import OrderState
from production.models import ProductionOrder


class Command(BaseCommand):
    help = (
        "List the Stripe Checkout Sessions of recent drafts and apply the ones Stripe has settled "
        "(paid: submit; expired: cancel) through the webhook's idempotent code. Safe to run often."
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
        gateway = stripe_gateway()
        if gateway is None:
            self.stdout.write(
                "STRIPE_SECRET_KEY is not set: the local checkout simulator delivers its events "
                "in-process, so there is nothing to reconcile."
            )
            return
        since = timezone.now() - timedelta(hours=hours)
        drafts = ProductionOrder.objects.filter(
            status=OrderState.DRAFT,
            created_at__gte=since,
            stripe_checkout_session_id__isnull=False,
        ).order_by("created_at")
        failures = 0
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
            raise CommandError(f"{failures} session(s) could not be read from Stripe.")
