"""A preflight report per order design: the verdict on the design at one placement, the checks
behind it, and what people did about it (the customer's acknowledgement of warnings, an
operator's override of a fail). Written by `artwork.tasks` (the check) and
`production.services.artwork` (acknowledgement, override, a new design)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import models
from django.utils import timezone

from production.lifecycle import artwork_hold_until, artwork_refusal
from production.models import OrderDesign, ProductionOrder


class Verdict(models.TextChoices):
    PENDING = "pending", "Being checked"
    PASS = "pass", "Ready to print"
    WARNING = "warning", "Prints, with warnings"
    FAIL = "fail", "Will not print well"


class PreflightReport(models.Model):
    design = models.OneToOneField(OrderDesign, on_delete=models.CASCADE, related_name="preflight")
    order = models.ForeignKey(
        ProductionOrder, on_delete=models.CASCADE, related_name="preflight_reports"
    )
    url = models.URLField(max_length=2048, help_text="The design URL this report was made for.")
    verdict = models.CharField(max_length=10, choices=Verdict, default=Verdict.PENDING)
    checks = models.JSONField(default=list, blank=True)
    # A small PNG marking the semi-transparent pixels (None when there are none to show).
    highlight = models.BinaryField(null=True, blank=True, editable=False)
    requested_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    override_reason = models.TextField(blank=True, max_length=2000)

    class Meta:
        indexes = [models.Index(fields=["order", "verdict"], name="preflight_order_verdict")]

    def __str__(self) -> str:
        return f"{self.design_id}: {self.verdict}"

    @property
    def blocking(self) -> bool:
        """A fail no operator has overridden."""
        return self.verdict == Verdict.FAIL and self.overridden_at is None


UNCHECKED = "unchecked"


def order_verdict(reports: list[PreflightReport]) -> tuple[str, bool]:
    """An order's verdict from its designs' reports, and whether its warnings (and fails an
    operator accepted) are acknowledged: "unchecked" (no report yet), "fail" (a fail no operator
    accepted), "warning" not acknowledged, "pending" (one is being checked), "warning"
    acknowledged (or an accepted fail), or "pass". What the customer must do comes before a
    check still running: a known fail or unread warnings stop the payment even once a pending
    check no longer holds it (decision 0069)."""
    if not reports:
        return UNCHECKED, False
    if any(r.blocking for r in reports):
        return Verdict.FAIL, False
    warned = [r for r in reports if r.verdict in (Verdict.WARNING, Verdict.FAIL)]
    acknowledged = all(r.acknowledged_at is not None or r.overridden_at is not None for r in warned)
    if warned and not acknowledged:
        return Verdict.WARNING, False
    if any(r.verdict == Verdict.PENDING for r in reports):
        return Verdict.PENDING, False
    if warned:
        return Verdict.WARNING, True
    return Verdict.PASS, True


@dataclass(frozen=True)
class Gate:
    """What the artwork check says about paying for an order now: its verdict, whether its
    warnings are acknowledged, the rulebook's refusal (None: payment may start) and, while a
    check runs, when it stops holding the payment."""

    verdict: str
    acknowledged: bool
    refusal: str | None
    hold_until: datetime | None


def gate_of(reports: list[PreflightReport], *, now: datetime | None = None) -> Gate:
    """The order's gate from its reports, as the rulebook (`artwork_refusal`) decides it."""
    verdict, acknowledged = order_verdict(reports)
    queued = [r.requested_at for r in reports if r.verdict == Verdict.PENDING]
    queued_at = max(queued) if queued else None
    return Gate(
        verdict,
        acknowledged,
        artwork_refusal(verdict, acknowledged=acknowledged, queued_at=queued_at, now=now),
        artwork_hold_until(verdict, queued_at=queued_at),
    )


def order_gate(order: ProductionOrder | UUID) -> Gate:
    """The gate of an order's payment (one query)."""
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    return gate_of(list(PreflightReport.objects.filter(order_id=order_id)))
