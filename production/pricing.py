"""Server-side prices, and how money is shown (docs/decisions/0006)."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from babel import Locale
from babel.numbers import format_currency
from django.conf import settings

from production.lifecycle import Delivery, Priority
from production.models import Garment, Placement, Variant

RUSH_SURCHARGE_PERCENT = 25


@dataclass(frozen=True)
class SizeQuantity:
    size: str
    quantity: int
    # The colour's name (case-insensitive); None: the garment's default colour.
    color: str | None = None


@dataclass(frozen=True)
class QuoteLine:
    size: str
    quantity: int
    unit_amount: int
    variant: Variant | None = None


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    subtotal: int
    rush_surcharge: int
    total: int
    currency: str
    shipping: int = 0

    @property
    def total_quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


def default_upcharges(garment: Garment) -> dict[str, int]:
    """The upcharge of each size in the garment's default colour (one query); a garment without
    variants yet, its `size_upcharges`."""
    rows = Variant.objects.filter(garment=garment, color__is_default=True).values_list(
        "size", "upcharge"
    )
    found = dict(rows)
    return found or {size: int(amount) for size, amount in (garment.size_upcharges or {}).items()}


def shipping_rate(country_code: str) -> int:
    """What shipping an order to this country costs, in minor units: SHIPPING_RATES' rate for the
    country, else the flat SHIPPING_RATE."""
    return settings.SHIPPING_RATES.get(country_code.upper(), settings.SHIPPING_RATE)


def quote_order(
    *,
    garment: Garment,
    sizes: Sequence[SizeQuantity],
    priority: str,
    variants: Sequence[Variant] | None = None,
    extra_placements: Sequence[Placement] = (),
    delivery: str = Delivery.UNKNOWN,
    country_code: str = "",
) -> Quote:
    """Price in minor units: (garment price + the variant's upcharge + each extra placement's
    price) × quantity, plus any rush surcharge (on the items), plus shipping when `delivery` is
    shipping (`shipping_rate` of `country_code`; pickup and unknown: none). `variants[i]` is the
    variant of `sizes[i]` (without them, the variants of the garment's default colour:
    `default_upcharges`; the order form's live price passes the variants as the order does); the
    front placement is in the garment's price, `extra_placements` are the others the order
    prints."""
    placements = sum(placement.unit_amount for placement in extra_placements)
    if variants is None:
        upcharges = default_upcharges(garment)
        lines = tuple(
            QuoteLine(
                size=item.size,
                quantity=item.quantity,
                unit_amount=garment.base_price + upcharges.get(item.size, 0) + placements,
            )
            for item in sizes
        )
    else:
        lines = tuple(
            QuoteLine(
                size=item.size,
                quantity=item.quantity,
                unit_amount=garment.base_price + variant.upcharge + placements,
                variant=variant,
            )
            for item, variant in zip(sizes, variants, strict=True)
        )
    subtotal = sum(line.unit_amount * line.quantity for line in lines)
    # Round half up to the cent, so the surcharge never undercharges by a rounding artefact.
    rush = (subtotal * RUSH_SURCHARGE_PERCENT + 50) // 100 if priority == Priority.RUSH else 0
    shipping = shipping_rate(country_code) if delivery == Delivery.SHIPPING else 0
    return Quote(
        lines=lines,
        subtotal=subtotal,
        rush_surcharge=rush,
        total=subtotal + rush + shipping,
        currency=garment.currency,
        shipping=shipping,
    )


# How many digits Stripe's minor unit has (https://docs.stripe.com/currencies): amounts here are
# stored as Stripe counts them. ISK, HUF and TWD stay two-decimal in Stripe's API (an amount of
# 100 is 1 króna), whatever ISO 4217 says, so they are not listed.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())  # noqa: SIM905
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def format_money(amount: int | None, currency: str, *, plain: bool = False) -> str:
    """Minor units as people read them, in the shop's locale (MONEY_LOCALE, through Babel's
    CLDR data): en_US reads 1800 USD as "$18.00", 1800 JPY as "¥1,800", 1800 EUR as "€18.00";
    de_DE reads 1800 EUR as "18,00 €". `plain`: the bare number, no grouping, no symbol ("18.00",
    "1800"), which a spreadsheet reads as a number (the CSV export). Every page, mail, PDF,
    export and the admin formats money here; the API keeps minor units.
    """
    if amount is None:
        return ""
    code = currency.lower()
    digits = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    value = Decimal(amount).scaleb(-digits)  # exact: no float rounding on large amounts
    if plain:
        return f"{value:.{digits}f}"
    with localcontext() as context:
        # Babel rounds to the currency digits: precision enough to keep every digit.
        context.prec = max(context.prec, len(str(abs(amount))) + 4)
        return format_currency(value, code.upper(), locale=money_locale())


def money_locale() -> Locale:
    """The locale money is written in (MONEY_LOCALE, e.g. en_US, de_DE, ja_JP)."""
    return _locale(settings.MONEY_LOCALE)


def money_locale_tag() -> str:
    """MONEY_LOCALE as a BCP 47 tag ("en-US"), for a page's `lang` or a browser's Intl."""
    locale = money_locale()
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)


@functools.cache
def _locale(identifier: str) -> Locale:
    return Locale.parse(identifier.replace("-", "_"))
