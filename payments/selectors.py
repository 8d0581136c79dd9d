"""Reads of payments and refunds (the ops order page)."""

from __future__ import annotations

from dataclasses import dataclass, field

from payments.models import Payment, Refund
from production.models import ProductionOrder


@dataclass(frozen=True)
class RefundSummary:
    """An order's money: paid, refunded, on its way back, what may still be refunded."""

    currency: str
    paid: int = 0
    refunded: int = 0
    pending: int = 0
    refunds: list[Refund] = field(default_factory=list)
    has_payment: bool = False

    @property
    def refundable(self) -> int:
        return self.paid - self.refunded - self.pending

    @property
    def failed(self) -> list[Refund]:
        return [r for r in self.refunds if r.state in (Refund.State.FAILED, Refund.State.CANCELED)]


def refund_summary(*, order: ProductionOrder) -> RefundSummary:
    """Two queries: the order's payments, and its refunds with who asked."""
    payments = list(Payment.objects.filter(order=order))
    refunds = list(Refund.objects.filter(order=order).select_related("requested_by"))
    return RefundSummary(
        currency=payments[0].currency if payments else order.currency,
        paid=sum(p.amount for p in payments),
        refunded=sum(r.amount for r in refunds if r.state == Refund.State.SUCCEEDED),
        pending=sum(r.amount for r in refunds if r.state == Refund.State.PENDING),
        refunds=refunds,
        has_payment=bool(payments),
    )
