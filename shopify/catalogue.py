"""The store's products as garments: `sync_shopify` (every product, page by page) and the product
webhooks (one product, newest `updatedAt` wins). Idempotent: applying what is already there
changes nothing, and the report says what was added, changed and retired."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime

from production.models import Garment, PlacementCode, Variant
from production.services.catalogue import ColorSpec, PlacementSpec, upsert_catalogue
from shopify.client import AdminClient, ShopifyError
from shopify.models import ProductSync, WebhookDelivery

logger = logging.getLogger(__name__)

PRODUCT_FIELDS = """
  id title status updatedAt
  featuredMedia { preview { image { url } } }
  options { name values }
  metafield(namespace: $ns, key: $key) { value }
  variants(first: 100) {
    nodes { id sku price availableForSale selectedOptions { name value } }
  }
"""
PRODUCTS = f"""
query Products($first: Int!, $after: String, $ns: String!, $key: String!) {{
  products(first: $first, after: $after) {{
    nodes {{ {PRODUCT_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
PRODUCT = f"""
query Product($id: ID!, $ns: String!, $key: String!) {{
  product(id: $id) {{ {PRODUCT_FIELDS} }}
}}
"""
SHOP = """
query Shop { shop { currencyCode } }
"""
PAGE_SIZE = 50
COLOR_OPTIONS = ("color", "colour")
SIZE_OPTIONS = ("size",)
SWATCHES = {
    "black": "#111111",
    "white": "#ffffff",
    "navy": "#1f2a44",
    "grey": "#8a8d91",
    "gray": "#8a8d91",
    "red": "#c0392b",
    "blue": "#2e6fd8",
    "green": "#2e8b57",
}


@dataclass
class Report:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0

    def words(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.retired)} retired, "
            f"{self.unchanged} unchanged"
        )


def _metafield_names() -> tuple[str, str]:
    ns, _, key = settings.SHOPIFY_PLACEMENTS_METAFIELD.partition(".")
    return ns, key


def fetch_product(client: AdminClient, gid: str) -> dict[str, Any] | None:
    """The product as the Admin API has it, with the store's currency (None: no such product)."""
    ns, key = _metafield_names()
    data = client.execute(PRODUCT, {"id": gid, "ns": ns, "key": key}, operation="Product")
    product = data.get("product")
    if product is not None:
        product = {**product, "currency": shop_currency(client)}
    return product


def shop_currency(client: AdminClient) -> str:
    """The store's currency, as this shop's prices are kept ("usd")."""
    code = str(
        ((client.execute(SHOP, operation="Shop").get("shop") or {}).get("currencyCode")) or ""
    )
    if len(code) != 3 or not code.isalpha():
        raise ShopifyError(f"The store's currency is not one: {code!r}")
    return code.lower()


def sync_catalogue(client: AdminClient) -> Report:
    """Every product of the store as a garment; garments of products gone from the store retired."""
    ns, key = _metafield_names()
    report = Report()
    seen = set()
    currency = shop_currency(client)
    for node in client.pages(
        PRODUCTS, {"first": PAGE_SIZE, "ns": ns, "key": key}, ("products",), operation="Products"
    ):
        seen.add(node.get("id"))
        outcome, name = apply_product({**node, "currency": currency})
        _count(report, outcome, name)
    for sync in ProductSync.objects.select_related("garment").exclude(product_gid__in=seen):
        if retire(sync.product_gid):
            report.retired.append(sync.garment.name)
    return report


def _count(report: Report, outcome: str, name: str) -> None:
    if outcome == "added":
        report.added.append(name)
    elif outcome == "changed":
        report.changed.append(name)
    elif outcome == "retired":
        report.retired.append(name)
    else:
        report.unchanged += 1


def is_stale(gid: str, updated_at: object) -> bool:
    """An update of a product older than the one last applied (webhooks come out of order)."""
    when = parse_datetime(updated_at) if isinstance(updated_at, str) else None
    known = ProductSync.objects.filter(product_gid=gid).values_list("store_updated_at", flat=True)
    last = known.first()
    return bool(when and last and when <= last)


def apply_product_webhook(
    topic: str, payload: Mapping[str, Any], product: Mapping[str, Any] | None
) -> tuple[str, str]:
    gid = str(payload.get("admin_graphql_api_id") or f"gid://shopify/Product/{payload['id']}")
    if topic == "products/delete":
        return (
            (WebhookDelivery.Outcome.PRODUCT_RETIRED, f"{gid} no longer offered.")
            if retire(gid)
            else (WebhookDelivery.Outcome.UNCHANGED, "")
        )
    if product is None:
        if is_stale(gid, payload.get("updated_at")):
            return WebhookDelivery.Outcome.STALE, "An older update than the one applied."
        return WebhookDelivery.Outcome.PRODUCT_RETIRED if retire(gid) else (
            WebhookDelivery.Outcome.UNCHANGED
        ), "The store no longer has it."
    outcome, name = apply_product(product)
    if outcome == "stale":
        return WebhookDelivery.Outcome.STALE, "An older update than the one applied."
    return WebhookDelivery.Outcome.PRODUCT_SYNCED, f"{name}: {outcome}"


def retire(gid: str) -> bool:
    """The product is gone from the store: its garment is no longer offered (its orders keep it)."""
    sync = ProductSync.objects.filter(product_gid=gid).select_related("garment").first()
    if sync is None or (sync.deleted and not sync.garment.is_active):
        return False
    Garment.objects.filter(pk=sync.garment_id).update(is_active=False)
    ProductSync.objects.filter(pk=sync.pk).update(deleted=True)
    return True


def _money(value: object) -> int:
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        raise ShopifyError(f"A price the store sent is not a number: {value!r}") from None


def _placements(node: Mapping[str, Any]) -> list[PlacementSpec]:
    raw = (node.get("metafield") or {}).get("value")
    specs = []
    if raw:
        try:
            for entry in json.loads(raw):
                specs.append(
                    PlacementSpec(
                        code=PlacementCode(entry["code"]),
                        width_in=Decimal(str(entry["width_in"])),
                        height_in=Decimal(str(entry["height_in"])),
                        unit_amount=int(entry.get("unit_amount") or 0),
                    )
                )
            return specs
        except (ValueError, KeyError, TypeError, InvalidOperation):
            logger.warning("Shopify product %s: its placements metafield is unreadable", node["id"])
    for entry in settings.SHOPIFY_PLACEMENTS:
        code, _, area = entry.partition("=")
        area, _, price = area.partition("+")
        width, _, height = area.partition("x")
        specs.append(
            PlacementSpec(
                code=PlacementCode(code.strip()),
                width_in=Decimal(width),
                height_in=Decimal(height),
                unit_amount=int(price or 0),
            )
        )
    return specs


def _option(variant: Mapping[str, Any], names: Iterable[str]) -> str | None:
    for option in variant.get("selectedOptions") or []:
        if str(option.get("name", "")).strip().lower() in names:
            return str(option.get("value") or "").strip() or None
    return None


def _snapshot(garment: Garment) -> tuple:
    garment.refresh_from_db()
    return (
        garment.currency,
        garment.name,
        tuple(garment.sizes),
        garment.base_price,
        garment.image_url,
        garment.is_active,
        tuple(
            garment.variants.order_by("pk").values_list(
                "shopify_variant_gid", "sku", "upcharge", "in_stock", "color__name", "size"
            )
        ),
        tuple(
            garment.placements.order_by("pk").values_list(
                "code", "width_in", "height_in", "unit_amount"
            )
        ),
    )


def apply_product(node: Mapping[str, Any]) -> tuple[str, str]:
    """One product (the Admin API's shape) as a garment: "added", "changed", "unchanged",
    "retired" (not active in the store) or "stale" (older than what was applied)."""
    gid = str(node["id"])
    title = str(node.get("title") or gid)[:200]
    updated = parse_datetime(str(node.get("updatedAt") or "")) if node.get("updatedAt") else None
    variants = (node.get("variants") or {}).get("nodes") or []
    with transaction.atomic():
        sync = ProductSync.objects.select_for_update().filter(product_gid=gid).first()
        if sync and updated and sync.store_updated_at and updated < sync.store_updated_at:
            return "stale", title
        colors: dict[str, list[str]] = {}
        for variant in variants:
            color = _option(variant, COLOR_OPTIONS) or "Default"
            size = _option(variant, SIZE_OPTIONS) or "One size"
            colors.setdefault(color, [])
            if size not in colors[color]:
                colors[color].append(size)
        sizes = list(dict.fromkeys(s for group in colors.values() for s in group))
        prices = [_money(v.get("price")) for v in variants] or [0]
        base = min(prices)
        image = (((node.get("featuredMedia") or {}).get("preview") or {}).get("image") or {}).get(
            "url"
        ) or ""
        active = str(node.get("status") or "ACTIVE").upper() == "ACTIVE"
        garment = sync.garment if sync else Garment.objects.filter(shopify_gid=gid).first()
        before = _snapshot(garment) if garment else None
        fields = {
            "currency": str(node.get("currency") or "usd"),
            "name": title,
            "sizes": sizes,
            "base_price": base,
            "image_url": image[:2048],
            "is_active": active,
        }
        if garment is None:
            garment = Garment.objects.create(shopify_gid=gid, **fields)
        elif any(getattr(garment, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(garment, k, v)
            garment.save()
        existing_hex = {c.name.lower(): c.hex for c in garment.colors.all()}
        upsert_catalogue(
            garment,
            colors=[
                ColorSpec(
                    name=name,
                    hex=existing_hex.get(name.lower(), SWATCHES.get(name.lower(), "#cccccc")),
                    sizes=group,
                    default=position == 0,
                )
                for position, (name, group) in enumerate(colors.items())
            ],
            placements=_placements(node),
        )
        known = set()
        for variant, price in zip(variants, prices, strict=True):
            color = _option(variant, COLOR_OPTIONS) or "Default"
            size = _option(variant, SIZE_OPTIONS) or "One size"
            row = Variant.objects.get(garment=garment, color__name__iexact=color, size=size)
            known.add(row.pk)
            sku = str(variant.get("sku") or "").strip()[:64]
            wanted = {
                "shopify_variant_gid": str(variant["id"]),
                "upcharge": price - base,
                "in_stock": bool(variant.get("availableForSale", True)),
            }
            if sku and not Variant.objects.filter(sku=sku).exclude(pk=row.pk).exists():
                wanted["sku"] = sku
            if any(getattr(row, k) != v for k, v in wanted.items()):
                Variant.objects.filter(pk=row.pk).update(**wanted)
        # Variants the store no longer sells are no longer offered (orders keep theirs).
        garment.variants.exclude(pk__in=known).filter(in_stock=True).update(in_stock=False)
        if sync is None:
            ProductSync.objects.create(garment=garment, product_gid=gid, store_updated_at=updated)
        else:
            ProductSync.objects.filter(pk=sync.pk).update(store_updated_at=updated, deleted=False)
        after = _snapshot(garment)
    if before is None:
        return "added", title
    if after == before:
        return "unchanged", title
    if before[5] and not after[5]:
        return "retired", title
    return "changed", title


def last_update(gid: str) -> datetime | None:
    return (
        ProductSync.objects.filter(product_gid=gid)
        .values_list("store_updated_at", flat=True)
        .first()
    )
