"""Errors to Sentry (sentry-sdk's Django integration), with no personal data.

Imported only when SENTRY_DSN is set. `send_default_pii=False` keeps out users' addresses, cookies
and request bodies; `scrub` (the `before_send` hook) also blanks whatever looks like an e-mail
address in messages, exceptions and local variables, and every value under a key that names an
address or an e-mail (a shipping address shown in a frame's variables, a form's `email` field).
Each event is tagged with the request id, so an error is found from the log line and back.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
REDACTED = "[redacted]"
# Keys whose values are personal data wherever they appear (lower-cased, '-' as '_').
PERSONAL_KEYS = frozenset(
    {
        "email",
        "to",
        "address",
        "address_line1",
        "address_line2",
        "line1",
        "line2",
        "street",
        "street_address",
        "postal_code",
        "postcode",
        "zip",
        "city",
        "phone",
        "name",
        "full_name",
        "shipping",
        "ship_to",
        "customer_email",
        "customer_details",
        "billing_details",
        "ip_address",
        "remote_addr",
        "http_x_forwarded_for",
        "cookie",
        "cookies",
        "authorization",
    }
)


# Parts of an event the SDK fills with facts about the process (runtime, modules), not data.
_SDK_SECTIONS = frozenset({"contexts", "sdk", "modules", "platform", "timestamp", "event_id"})


def init_sentry(dsn: str, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        before_send=scrub,
        before_send_transaction=scrub,
    )


def scrub(event: dict, hint: dict | None = None) -> dict:
    """The event with every e-mail address and personal field blanked, tagged with the request
    id of the request (or task) it happened in."""
    from production.plumbing import request_context

    cleaned = {k: v if k in _SDK_SECTIONS else _clean(v, k) for k, v in event.items()}
    request_id = request_context.current()
    if request_id:
        cleaned.setdefault("tags", {})["request_id"] = request_id
    cleaned.pop("user", None)  # never the user's e-mail or address; the request id finds them
    return cleaned


def _clean(value: Any, key: str = "") -> Any:
    if key and key.lower().replace("-", "_") in PERSONAL_KEYS:
        return REDACTED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return EMAIL.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Sentry sends headers and query strings as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and not isinstance(value[1], dict | list):
            name = value[0].lower().replace("-", "_")
            if name in PERSONAL_KEYS:
                return [value[0], REDACTED]
        return [_clean(item) for item in value]
    return value
