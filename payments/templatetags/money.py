"""Amounts are stored in minor units (cents); templates show them as "18.00 USD"."""

from django import template

register = template.Library()

# Stripe's zero-decimal currencies that a shop like this could plausibly price in.
ZERO_DECIMAL = frozenset({"jpy", "krw", "vnd", "clp", "isk", "huf"})


@register.filter
def money(amount: int | None, currency: str = "usd") -> str:
    if amount is None:
        return ""
    code = (currency or "").lower()
    if code in ZERO_DECIMAL:
        return f"{amount:,} {code.upper()}"
    return f"{amount / 100:,.2f} {code.upper()}"
