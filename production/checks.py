"""`check --deploy`: the site's own address (SITE_URL) is an https one, and nothing in the
database settings keeps state on a server connection a transaction-mode pooler would share.

SITE_URL is the base of every link the app sends away from a request: Stripe's return URLs, the
links in customer e-mails, the QR codes on job tickets. Over plain http those links hand the
session, and the customer, to whoever sits on the network path."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def site_url_https(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return []  # `make run` serves itself on http://127.0.0.1
    site_url = settings.SITE_URL.strip()
    if not site_url:
        return [
            Warning(
                "SITE_URL is not set: e-mail links and ticket QR codes are relative, and Stripe's "
                "return URLs follow whatever host a request named.",
                hint="Set SITE_URL to the site's https address, e.g. https://shop.example.com.",
                id="production.W001",
            )
        ]
    parts = urlsplit(site_url)
    if parts.scheme != "https" or not parts.hostname:
        return [
            Error(
                f"SITE_URL is {site_url!r}: links in e-mails, ticket QR codes and Stripe's "
                "return URLs would not use https.",
                hint="Set SITE_URL to the site's https address, e.g. https://shop.example.com.",
                id="production.E001",
            )
        ]
    return []


# Connection options that set state on the server session when a connection opens: behind a
# transaction-mode pooler the next transaction may run on another server connection without it.
SESSION_OPTIONS = {
    "options": "a startup parameter (`-c statement_timeout=…`) PgBouncer refuses, or drops "
    "unseen when it is in ignore_startup_parameters",
    "assume_role": "a role set on each new connection, which stays on the server connection",
}


@register(Tags.database, deploy=True)
def database_pooler_safe(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Under DATABASE_POOLER=transaction, no connection option that needs a session of its own
    (docs/decisions/0070-pgbouncer-transaction-pooling.md)."""
    return pooler_problems(
        getattr(settings, "DATABASE_POOLER", ""),
        settings.DATABASES["default"].get("OPTIONS", {}),
    )


def pooler_problems(pooler: str, options: dict[str, Any]) -> list[CheckMessage]:
    """A warning per connection option in `options` that transaction pooling would break."""
    if pooler != "transaction":
        return []
    return [
        Warning(
            f"DATABASE_POOLER=transaction with the database option {name!r}: {why}.",
            hint="Set it on the server instead: ALTER ROLE … SET … (or ALTER DATABASE … SET …).",
            id="production.W002",
        )
        for name, why in SESSION_OPTIONS.items()
        if options.get(name)
    ]
