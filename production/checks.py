"""`check --deploy`: the site's own address (SITE_URL) is an https one.

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
