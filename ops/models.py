"""What the ops dashboard keeps of its own: the scans made at the floor's stations, and the
job-ticket batches generated on the task queue."""

from __future__ import annotations

import uuid

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


def ticket_batch_path(batch: TicketBatch, filename: str) -> str:
    # Unguessable, and never served from MEDIA_URL: the download view checks who asks.
    return f"tickets/{batch.pk}/{uuid.uuid4().hex}.pdf"


class TicketBatch(models.Model):
    """One PDF of job tickets too large to build inside a request (`ops.tickets`).

    Written only by `ops.tickets`: queued by the request, built by the task queue's worker,
    which reports progress (`done` of `total`) as it goes. Its file is removed after
    TICKET_BATCH_KEEP_HOURS (`manage.py clean_ticket_batches`, and on access)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Being built"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired (file removed)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order_ids = models.JSONField(help_text="The orders' ids, in ticket order.")
    # The site's address when requested, for the QR codes (the worker has no request).
    base_url = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State, default=State.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField()
    file = models.FileField(upload_to=ticket_batch_path, max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "finished_at"], name="ticketbatch_state_finished")]
        verbose_name_plural = "ticket batches"

    def __str__(self) -> str:
        return f"Job tickets for {self.total} orders ({self.get_state_display()})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.READY, self.State.FAILED, self.State.EXPIRED)

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)


class TaskWorker(models.Model):
    """A task worker (`manage.py task_worker`) that says it is alive: it writes `seen_at` every
    few seconds from a thread of its own. A task RUNNING under a worker not seen for
    TASK_STALE_AFTER_SECONDS lost its worker (killed, its host gone): `ops.task_recovery` runs it
    again or fails it. django-tasks-db records which worker ids claimed a task, not whether they
    live on."""

    worker_id = models.CharField(max_length=64, primary_key=True)  # db_worker's --worker-id
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}:{self.pid})"
