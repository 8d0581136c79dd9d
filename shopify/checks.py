"""`check`: a connected store needs its token and webhook secret; the settings that map designs and
placements must name placements this shop has."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from production.models import PlacementCode


@register(Tags.security, deploy=True)
def simulator_off(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG or not settings.SHOPIFY_SIMULATOR:
        return []
    return [
        Error(
            "SHOPIFY_SIMULATOR is on: anyone could send signed store orders (its secret is known).",
            hint="Unset SHOPIFY_SIMULATOR (it is for `make run`'s demo only).",
            id="shopify.E004",
        )
    ]


@register(Tags.security)
def store_configured(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    if settings.SHOPIFY_STORE_DOMAIN:
        for name in ("SHOPIFY_ADMIN_TOKEN", "SHOPIFY_API_SECRET"):
            if not getattr(settings, name):
                errors.append(
                    Error(
                        f"SHOPIFY_STORE_DOMAIN is set but {name} is not: the store cannot be "
                        + ("read." if name == "SHOPIFY_ADMIN_TOKEN" else "heard (webhooks 503)."),
                        hint="Set it from the store's custom app (docs/operations.md).",
                        id="shopify.E001",
                    )
                )
    codes = set(PlacementCode.values)
    unknown = sorted(set(settings.SHOPIFY_DESIGN_PROPERTIES) - codes)
    if unknown:
        errors.append(
            Error(
                f"SHOPIFY_DESIGN_PROPERTIES names placements this shop does not have: {unknown}.",
                hint=f"Use placement codes: {', '.join(sorted(codes))}.",
                id="shopify.E002",
            )
        )
    for entry in settings.SHOPIFY_PLACEMENTS:
        code, _, area = entry.partition("=")
        area, _, price = area.partition("+")
        width, _, height = area.partition("x")
        try:
            ok = code.strip() in codes and float(width) > 0 and float(height) > 0
            ok = ok and int(price or 0) >= 0
        except ValueError:
            ok = False
        if not ok:
            errors.append(
                Error(
                    f"SHOPIFY_PLACEMENTS entry {entry!r} is not code=WIDTHxHEIGHT[+minor units].",
                    hint="For example front=12x16,back=12x16+500.",
                    id="shopify.E003",
                )
            )
    return errors
