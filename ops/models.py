"""What the ops dashboard keeps of its own: the scans made at the floor's stations."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from production.models import ProductionOrder


class StationScan(models.Model):
    """One code read at a scan station, whatever came of it (the station's "last scans").

    The order's move itself is the order's fulfillment event, written by `production.services`;
    this row is the station's log, so a re-scan or a refusal (which change no order and write no
    event) is listed too. Written by `ops.services.scan_at_station` only.
    """

    class Outcome(models.TextChoices):
        MOVED = "moved", "Moved"
        ALREADY = "already", "Already there"
        REFUSED = "refused", "Refused"
        UNKNOWN = "unknown", "Unknown code"

    station = models.CharField(max_length=20)  # ops.floor.STATIONS key
    code = models.CharField(max_length=300, help_text="What the scanner typed, trimmed.")
    order = models.ForeignKey(
        ProductionOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome)
    message = models.CharField(max_length=500)
    scanned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scanned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scanned_at", "-id"]
        indexes = [
            models.Index(fields=["station", "-scanned_at", "-id"], name="scan_station_recent")
        ]

    def __str__(self) -> str:
        return f"{self.station}: {self.code} ({self.outcome})"

    @property
    def ok(self) -> bool:
        """Green feedback: moved, or already there (a harmless re-scan)."""
        return self.outcome in (self.Outcome.MOVED, self.Outcome.ALREADY)
