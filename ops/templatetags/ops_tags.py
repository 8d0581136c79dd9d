from django import template

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "usd") -> str:
    """Minor units as a price: 1800, "usd" → "18.00 USD"."""
    if amount is None:
        return ""
    return f"{amount / 100:,.2f} {currency.upper()}"


@register.filter
def full_name(user: object) -> str:
    first = getattr(user, "first_name", "") or ""
    last = getattr(user, "last_name", "") or ""
    return f"{first} {last}".strip()
