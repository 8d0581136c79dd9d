"""A preflight report per order design: the verdict on the design at one placement, the checks
behind it, and what people did about it (the customer's acknowledgement of warnings, an
operator's override of a fail). Written by `artwork.tasks` (the check) and
`production.services.artwork` (acknowledgement, override, a new design)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

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
    operator accepted) are acknowledged: "unchecked" (no report yet), "pending" (one is being
    checked), "fail" (a fail no operator accepted), "warning" (warnings, or an accepted fail), or
    "pass"."""
    if not reports:
        return UNCHECKED, False
    if any(r.verdict == Verdict.PENDING for r in reports):
        return Verdict.PENDING, False
    if any(r.blocking for r in reports):
        return Verdict.FAIL, False
    warned = [r for r in reports if r.verdict in (Verdict.WARNING, Verdict.FAIL)]
    if warned:
        return Verdict.WARNING, all(
            r.acknowledged_at is not None or r.overridden_at is not None for r in warned
        )
    return Verdict.PASS, True
