"""`/metrics`: the Prometheus scrape, for the monitoring system only.

Answers a request bearing `Authorization: Bearer <METRICS_TOKEN>` or coming from an address in
METRICS_ALLOWED_IPS (the client address as TRUSTED_PROXY_COUNT reads it, so a proxy's own address
never lets the public in); everyone else gets the site's 404, as if there were no such page.

The figures: what the processes counted (production.plumbing.metrics; under
PROMETHEUS_MULTIPROC_DIR, every process of this host added up), and what the database says at
scrape time (`ShopFigures`): the task queue, the e-mail outbox, refunds, and /readyz's
dependency checks. A scrape runs a handful of small aggregate queries.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ops import task_recovery
from payments.models import Refund
from production import notifications
from production.accounts.login_throttle import client_address
from production.models import OutgoingEmail
from production.plumbing import health

logger = logging.getLogger(__name__)

RECENT_HOURS = 24  # failed tasks and refunds: counted over the last day


class ShopFigures(Collector):
    """Figures read from the database when /metrics is scraped (gauges, whole-shop totals)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        since = now - timezone.timedelta(hours=RECENT_HOURS)

        ready = DBTaskResult.objects.ready()
        depth = GaugeMetricFamily(
            "printshop_task_queue_ready",
            "Tasks due and waiting for a worker, by task.",
            labels=["task"],
        )
        for path, count in ready.values_list("task_path").annotate(n=Count("id")).order_by():
            depth.add_metric([path], count)
        yield depth
        age = task_recovery.oldest_ready_age(now=now)
        yield GaugeMetricFamily(
            "printshop_task_queue_oldest_ready_seconds",
            "How long the oldest due task has waited for a worker (0: none waits).",
            value=age.total_seconds() if age is not None else 0.0,
        )
        failed = GaugeMetricFamily(
            "printshop_tasks_failed_recent",
            f"Tasks that failed in the last {RECENT_HOURS} h, by task.",
            labels=["task"],
        )
        rows = (
            DBTaskResult.objects.filter(status="FAILED", finished_at__gte=since)
            .values_list("task_path")
            .annotate(n=Count("id"))
            .order_by()
        )
        for path, count in rows:
            failed.add_metric([path], count)
        yield failed

        mail = OutgoingEmail.objects.aggregate(
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            failed=Count(
                "id",
                filter=Q(sent_at__isnull=True, handed_over_at__isnull=True)
                & Q(attempts__gte=notifications.MAX_ATTEMPTS),
            ),
            retrying=Count(
                "id",
                filter=Q(sent_at__isnull=True, handed_over_at__isnull=True)
                & Q(attempts__gt=0, attempts__lt=notifications.MAX_ATTEMPTS),
            ),
        )
        mail["in_doubt"] = notifications.in_doubt(now=now).count()
        emails = GaugeMetricFamily(
            "printshop_emails",
            "Customer e-mails by delivery state: sent, retrying, failed (gave up), in_doubt.",
            labels=["state"],
        )
        for state in ("sent", "retrying", "failed", "in_doubt"):
            emails.add_metric([state], mail[state])
        yield emails

        refunds = GaugeMetricFamily(
            "printshop_refunds",
            f"Refunds pending now, and those failed or succeeded in the last {RECENT_HOURS} h.",
            labels=["state"],
        )
        counts = Refund.objects.aggregate(
            pending=Count("id", filter=Q(state=Refund.State.PENDING)),
            failed=Count("id", filter=Q(state=Refund.State.FAILED, updated_at__gte=since)),
            succeeded=Count("id", filter=Q(state=Refund.State.SUCCEEDED, updated_at__gte=since)),
        )
        for state, count in counts.items():
            refunds.add_metric([state], count)
        yield refunds

        up = GaugeMetricFamily(
            "printshop_dependency_up",
            "1 when /readyz's check of the dependency passes (database, redis), else 0.",
            labels=["dependency"],
        )
        for name, state in health.dependency_checks().items():
            up.add_metric([name], 1.0 if state == "ok" else 0.0)
        yield up


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    registry.register(ShopFigures())
    return registry


class _Default(Collector):
    """This process's own counters (no PROMETHEUS_MULTIPROC_DIR: one process)."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


def allowed(request: HttpRequest) -> bool:
    """The bearer METRICS_TOKEN, or a client address in METRICS_ALLOWED_IPS."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if (
        token
        and header.startswith("Bearer ")
        and hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    ):
        return True
    if settings.METRICS_ALLOWED_IPS:
        try:
            address = ipaddress.ip_address(client_address(request) or "")
        except ValueError:
            return False
        for allowed_network in settings.METRICS_ALLOWED_IPS:
            try:
                if address in ipaddress.ip_network(allowed_network, strict=False):
                    return True
            except ValueError:
                logger.error("METRICS_ALLOWED_IPS: %r is no address or network", allowed_network)
    return False


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
