"""`check --deploy`: a server that takes payments needs Stripe's key and webhook secret."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def stripe_configured(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []  # the local checkout simulator stands in for Stripe
    errors = []
    if settings.CHECKOUT_SIMULATOR:
        errors.append(
            Error(
                "CHECKOUT_SIMULATOR is on: anyone could mark an order paid without paying.",
                hint="Unset CHECKOUT_SIMULATOR (it is for `make run`'s demo only).",
                id="payments.E003",
            )
        )
    if not settings.STRIPE_WEBHOOK_SECRET:
        errors.append(
            Error(
                "STRIPE_WEBHOOK_SECRET is not set: the Stripe webhook refuses every event.",
                hint="Put the signing secret of the Stripe dashboard's webhook endpoint in "
                "STRIPE_WEBHOOK_SECRET.",
                id="payments.E001",
            )
        )
    if not settings.STRIPE_SECRET_KEY:
        errors.append(
            Error(
                "STRIPE_SECRET_KEY is not set: with DEBUG off there is no checkout to pay at.",
                hint="Set STRIPE_SECRET_KEY to the account's secret (or restricted) key.",
                id="payments.E002",
            )
        )
    return errors
