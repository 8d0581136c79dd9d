"""`{{ amount|money:currency }}`: minor units (as stored and as Stripe counts) shown to people."""

from django import template

register = template.Library()

# Stripe's zero-decimal currencies: their minor unit is the whole unit.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)


@register.filter
def money(amount: int | None, currency: str = "usd") -> str:
    """12345, "usd" → "123.45 USD"; 500, "jpy" → "500 JPY"."""
    if amount is None:
        return ""
    code = (currency or "").lower()
    if code in ZERO_DECIMAL:
        return f"{int(amount):,} {code.upper()}"
    return f"{int(amount) / 100:,.2f} {code.upper()}"
