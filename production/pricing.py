"""Server-side prices: the client never sends an amount (docs/decisions.md, "Pricing")."""

from collections.abc import Sequence
from dataclasses import dataclass

from production.lifecycle import Priority
from production.models import Garment

RUSH_SURCHARGE_PERCENT = 25


@dataclass(frozen=True)
class SizeQuantity:
    size: str
    quantity: int


@dataclass(frozen=True)
class QuoteLine:
    size: str
    quantity: int
    unit_amount: int


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    subtotal: int
    rush_surcharge: int
    total: int
    currency: str

    @property
    def total_quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


def quote_order(*, garment: Garment, sizes: Sequence[SizeQuantity], priority: str) -> Quote:
    """Price in minor units: (unit price + size upcharge) × quantity, plus any rush surcharge."""
    lines = tuple(
        QuoteLine(size=item.size, quantity=item.quantity, unit_amount=garment.unit_price(item.size))
        for item in sizes
    )
    subtotal = sum(line.unit_amount * line.quantity for line in lines)
    # Round half up to the cent, so the surcharge never undercharges by a rounding artefact.
    rush = (subtotal * RUSH_SURCHARGE_PERCENT + 50) // 100 if priority == Priority.RUSH else 0
    return Quote(
        lines=lines,
        subtotal=subtotal,
        rush_surcharge=rush,
        total=subtotal + rush,
        currency=garment.currency,
    )
