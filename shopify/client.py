"""The store's Admin GraphQL API over plain HTTPS (urllib3), at the version pinned in settings.

Shopify limits GraphQL by query cost: each answer says what the query cost and what is left in the
bucket (`extensions.cost.throttleStatus`). The client waits before a query the bucket cannot pay
for, waits and retries a THROTTLED answer, a 429 and a 5xx with exponential backoff, and pages
through connections by cursor (`pageInfo.endCursor`). With DEBUG or SHOPIFY_SIMULATOR and no store
domain it talks to the local simulator (`shopify.simulator`) instead, in-process.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from django.conf import settings

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 1.0
MAX_WAIT_SECONDS = 30.0


class ShopifyError(Exception):
    """The store's API refused or failed. `retryable`: trying again later may succeed (5xx,
    throttled, connection lost); otherwise a person must look (401, userErrors, bad query)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class Throttle:
    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0
    last_cost: float = 0.0

    def wait_for(self, cost: float) -> float:
        """Seconds to wait until the bucket holds `cost`."""
        if self.available >= cost or self.restore_rate <= 0:
            return 0.0
        return min((cost - self.available) / self.restore_rate, MAX_WAIT_SECONDS)


Transport = Callable[[str, bytes, Mapping[str, str]], tuple[int, Mapping[str, str], bytes]]


def _http_transport(timeout: float) -> Transport:
    pool = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False
    )

    def send(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Mapping, bytes]:
        response = pool.request("POST", url, body=body, headers=dict(headers))
        return response.status, response.headers, response.data

    return send


class AdminClient:
    def __init__(
        self,
        *,
        endpoint: str,
        token: str,
        transport: Transport,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.endpoint = endpoint
        self.token = token
        self.transport = transport
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.throttle = Throttle()
        self.requests = 0

    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation: str = ""
    ) -> dict[str, Any]:
        """The `data` of one query or mutation, after waiting out throttling and retrying what
        may pass later. Raises ShopifyError."""
        body = json.dumps(
            {"query": query, "variables": dict(variables or {}), "operationName": operation or None}
        ).encode()
        headers = {"Content-Type": "application/json", "X-Shopify-Access-Token": self.token}
        for attempt in range(1, self.max_attempts + 1):
            if wait := self.throttle.wait_for(self.throttle.last_cost):
                self.sleep(wait)  # the last query's cost is the best guess of this one's
            try:
                self.requests += 1
                status, response_headers, raw = self.transport(self.endpoint, body, headers)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                error = ShopifyError(f"The store could not be reached: {exc}", retryable=True)
                self._back_off(attempt, error)
                continue
            if status == 429 or status >= 500:
                error = ShopifyError(f"The store answered HTTP {status}.", retryable=True)
                self._back_off(attempt, error, _retry_after(response_headers))
                continue
            if status != 200:
                raise ShopifyError(f"The store refused the request: HTTP {status}.")
            try:
                answer = json.loads(raw)
            except ValueError as exc:
                raise ShopifyError("The store's answer is not JSON.", retryable=True) from exc
            self._note_cost(answer)
            errors = answer.get("errors") or []
            if any(_code(e) == "THROTTLED" for e in errors):
                error = ShopifyError("The store throttled the query.", retryable=True)
                wait = self.throttle.wait_for(self.throttle.last_cost) or BACKOFF_SECONDS
                self._back_off(attempt, error, wait)
                continue
            if errors:
                words = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
                raise ShopifyError(f"The store refused the query: {words or errors}")
            data = answer.get("data")
            if not isinstance(data, dict):
                raise ShopifyError("The store's answer has no data.")
            return data
        raise AssertionError("unreachable")  # _back_off raises on the last attempt

    def pages(
        self, query: str, variables: Mapping[str, Any], path: tuple[str, ...], *, operation: str
    ) -> Iterator[dict[str, Any]]:
        """Every node of the connection at `path` in the answer, page after page (the query
        takes `$after`)."""
        after = None
        while True:
            data = self.execute(query, {**variables, "after": after}, operation=operation)
            connection: Any = data
            for key in path:
                connection = (connection or {}).get(key)
            if not isinstance(connection, dict):
                raise ShopifyError(f"The store's answer has no {'.'.join(path)}.")
            yield from connection.get("nodes") or []
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")

    def _note_cost(self, answer: Mapping[str, Any]) -> None:
        cost = (answer.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            self.throttle.maximum = float(status.get("maximumAvailable", self.throttle.maximum))
            self.throttle.available = float(
                status.get("currentlyAvailable", self.throttle.available)
            )
            self.throttle.restore_rate = float(
                status.get("restoreRate", self.throttle.restore_rate)
            )
            self.throttle.last_cost = float(
                cost.get("requestedQueryCost", self.throttle.last_cost) or 0
            )
        except (TypeError, ValueError):
            pass

    def _back_off(self, attempt: int, error: ShopifyError, wait: float | None = None) -> None:
        if attempt >= self.max_attempts:
            raise error
        delay = wait if wait is not None else BACKOFF_SECONDS * 2 ** (attempt - 1)
        logger.warning("Shopify: %s Retrying in %.1f s.", error, delay)
        self.sleep(min(delay, MAX_WAIT_SECONDS))


def _code(error: object) -> str:
    if isinstance(error, dict):
        return str((error.get("extensions") or {}).get("code") or "")
    return ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers.get("Retry-After") or "")
    except ValueError:
        return None


def get_client() -> AdminClient:
    """The client of the configured store, or of the local simulator (DEBUG, no store)."""
    if not settings.SHOPIFY_STORE_DOMAIN and not settings.SHOPIFY_API_BASE:
        if not (settings.DEBUG or settings.SHOPIFY_SIMULATOR):
            raise ShopifyError("SHOPIFY_STORE_DOMAIN is not set.")
        from shopify import simulator

        return AdminClient(
            endpoint="simulator", token="simulator", transport=simulator.transport, sleep=_no_wait
        )
    base = settings.SHOPIFY_API_BASE or f"https://{settings.SHOPIFY_STORE_DOMAIN}"
    return AdminClient(
        endpoint=f"{base.rstrip('/')}/admin/api/{settings.SHOPIFY_API_VERSION}/graphql.json",
        token=settings.SHOPIFY_ADMIN_TOKEN,
        transport=_http_transport(settings.SHOPIFY_API_TIMEOUT),
    )


def _no_wait(seconds: float) -> None:
    return None
