"""Support's read-only view of what the ops dashboard keeps: job-ticket batches (why did a large
print fail, who asked for it) and the scan stations' log (what a station read, and what came of
it). Both are written by `ops.tickets` and `ops.services` only, so nothing here edits them."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ops.models import StationScan, TaskWorker, TicketBatch
from production.admin import ReadOnlyAdmin


@admin.register(TicketBatch)
class TicketBatchAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "requested_by", "total", "state", "progress", "finished_at")
    list_filter = ("state",)
    search_fields = ("requested_by__email", "requested_by__username")
    list_select_related = ("requested_by",)
    date_hierarchy = "created_at"
    # The file is not offered here: the ops download view checks who asks, and a batch's page
    # there shows its progress and link as operators see them.
    fields = readonly_fields = (
        "state",
        "progress",
        "error",
        "requested_by",
        "ops_page",
        "total",
        "created_at",
        "started_at",
        "finished_at",
        "base_url",
    )

    @admin.display(description="Progress")
    def progress(self, batch: TicketBatch) -> str:
        return f"{batch.done} of {batch.total} ({batch.percent} %)"

    @admin.display(description="On the ops dashboard")
    def ops_page(self, batch: TicketBatch) -> str:
        url = reverse("ops:ticket-batch", args=[batch.pk])
        return format_html('<a href="{}">{}</a>', url, url)


@admin.register(StationScan)
class StationScanAdmin(ReadOnlyAdmin):
    list_display = ("scanned_at", "station", "code", "outcome", "order", "message", "scanned_by")
    list_filter = ("station", "outcome")
    search_fields = ("code", "order__reference", "scanned_by__email")
    list_select_related = ("order", "scanned_by")
    date_hierarchy = "scanned_at"
    readonly_fields = [f.name for f in StationScan._meta.fields]


@admin.register(TaskWorker)
class TaskWorkerAdmin(ReadOnlyAdmin):
    """The task workers that said they are alive, and when last (ops.task_recovery)."""

    list_display = ("worker_id", "hostname", "pid", "started_at", "seen_at")
    ordering = ("-seen_at",)
