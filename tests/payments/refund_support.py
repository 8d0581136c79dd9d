"""Orders paid the way Stripe pays them (a signed checkout event through the webhook's code), so
their payment is on record for refunds; and the refund rows a test reads."""

from __future__ import annotations

import json

from payments.models import Payment, Refund
from payments.services import receive_webhook, start_checkout
from production.lifecycle import EventSource, OrderState, walk_from_payment
from production.models import ProductionOrder
from production.services.orders import update_order
from tests.factories import make_order, operator_user, receipt_already_sent
from tests.payments.stripe_events import checkout_session, sign, stripe_event


def paid_order(*, state: OrderState = OrderState.SUBMITTED, **kwargs: object) -> ProductionOrder:
    """A draft ($90.00 unless sizes say otherwise), paid through a signed
    checkout.session.completed, then walked to `state` by an operator."""
    draft = make_order(**kwargs)
    start_checkout(order=draft)
    draft.refresh_from_db()
    event = stripe_event(
        "checkout.session.completed", checkout_session(draft), f"evt_paid_{draft.pk.hex[:12]}"
    )
    payload = json.dumps(event)
    result = receive_webhook(payload=payload.encode(), signature=sign(payload))
    assert result.outcome == "submitted", result
    receipt_already_sent(draft)
    actor = operator_user()
    for change in walk_from_payment(state):
        update_order(order=draft, actor=actor, source=EventSource.OPERATOR, **change)
    return ProductionOrder.objects.get(pk=draft.pk)


def payment_of(order: ProductionOrder) -> Payment:
    return Payment.objects.get(order=order)


def refunds_of(order: ProductionOrder) -> list[tuple[int, str, str]]:
    """(amount, state, reason) of each refund of the order, oldest first."""
    return list(Refund.objects.filter(order=order).values_list("amount", "state", "reason"))
