"""Health: `/healthz` (the process answers) and `/readyz` (each dependency: a cheap round trip,
bounded in time)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from redis.exceptions import OutOfMemoryError

logger = logging.getLogger(__name__)

REQUIRED = frozenset({"database"})  # without these a process cannot serve; the rest degrade


def dependency_checks() -> dict[str, str]:
    """{"database": "ok" | "down", "redis": "ok" | "down" | "full" (when configured)}."""
    checks = {"database": _state(_database)}
    if settings.REDIS_URL:
        checks["redis"] = _state(_redis)
    return checks


def _state(check: Callable[[], None]) -> str:
    try:
        check()
    except OutOfMemoryError as error:
        name = check.__name__.lstrip("_")
        logger.warning("Readiness: %s is full, it refuses writes (%s)", name, error)
        return "full"
    except Exception as error:
        name = check.__name__.lstrip("_")
        logger.warning("Readiness: %s is down (%s: %s)", name, type(error).__name__, error)
        return "down"
    return "ok"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    # The cache hides Redis errors (it degrades to the database), so ask Redis itself, through
    # the cache's pool and timeouts. The channel layer uses the same server (REDIS_URL). A write,
    # not a PING: a Redis at `maxmemory` under `noeviction` answers PING but refuses every write
    # (OOM), and the channel layer with it (every socket closes with 4503).
    from django.core.cache import cache
    from django_redis import get_redis_connection

    get_redis_connection("default").set(cache.make_key("readyz"), b"1", ex=10)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no dependency (see `readyz` for those)."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness for the load balancer: 503 naming the dependency this process cannot serve
    without (the database). Redis only accelerates (cache, sessions' copy, throttles, live
    updates): without it the answer is 200 "degraded", so a Redis outage never takes every
    process out of the balancer at once; monitoring alerts on "degraded"."""
    checks = dependency_checks()
    down = sorted(name for name, state in checks.items() if state != "ok")
    required_down = [name for name in down if name in REQUIRED]
    body = {
        "status": "unavailable" if required_down else "degraded" if down else "ok",
        "checks": checks,
        "down": down,
    }
    return JsonResponse(body, status=503 if required_down else 200)
