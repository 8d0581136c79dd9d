"""The order state machine: which moves are legal, and what each state means on the shop floor.

Decided in DESIGN.md (the spec leaves it open). Only `production.services` applies these rules.
"""

from datetime import date, timedelta

from django.db import models


class OrderState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    IN_PRODUCTION = "in_production", "In production"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELED = "canceled", "Canceled"


class ProductionStatus(models.TextChoices):
    SPEC_REVIEW = "Spec Review", "Spec Review"
    QUEUED = "Queued", "Queued"
    PRINTING = "Printing", "Printing"
    FINISHING = "Finishing", "Finishing"
    READY = "Ready", "Ready"


class Priority(models.TextChoices):
    RUSH = "rush", "Rush"
    STANDARD = "standard", "Standard"
    HOLD = "hold", "Hold"


class EventSource(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"
    STRIPE = "stripe", "Stripe"
    SYSTEM = "system", "System"


# Who made a change, as a customer may see it: a role, never a person. Support staff working in
# the admin are operators to the customer. Which person it was stays on the event's `actor`
# column, shown to operators only (ops timeline, admin).
ACTOR_ROLES: dict[str, str] = {
    EventSource.CUSTOMER: "customer",
    EventSource.OPERATOR: "operator",
    EventSource.ADMIN: "operator",
    EventSource.STRIPE: "stripe",
    EventSource.SYSTEM: "system",
}


def actor_role(source: str) -> str:
    return ACTOR_ROLES.get(source, "system")


# Choice sets as the API spells them (named once in the OpenAPI schema).
ORDER_STATES: list[str] = OrderState.values
PRODUCTION_STATUSES: list[str] = ProductionStatus.values
PRIORITIES: list[str] = Priority.values
PRIORITY_LABELS: list[str] = [str(label) for label in Priority.labels]

ALLOWED: dict[OrderState, frozenset[OrderState]] = {
    OrderState.DRAFT: frozenset({OrderState.SUBMITTED, OrderState.CANCELED}),
    OrderState.SUBMITTED: frozenset({OrderState.APPROVED, OrderState.CANCELED}),
    OrderState.APPROVED: frozenset({OrderState.IN_PRODUCTION, OrderState.CANCELED}),
    OrderState.IN_PRODUCTION: frozenset({OrderState.FULFILLED, OrderState.CANCELED}),
    OrderState.FULFILLED: frozenset(),
    OrderState.CANCELED: frozenset(),
}

# Entering a state sets the production status. Canceled keeps whatever stage the order reached.
STATUS_MAP: dict[OrderState, ProductionStatus] = {
    OrderState.DRAFT: ProductionStatus.SPEC_REVIEW,
    OrderState.SUBMITTED: ProductionStatus.QUEUED,
    OrderState.APPROVED: ProductionStatus.QUEUED,
    OrderState.IN_PRODUCTION: ProductionStatus.PRINTING,
    OrderState.FULFILLED: ProductionStatus.READY,
}

# The customer-facing line written to the timeline for each move (the spec's getStatusMessage).
STATE_MESSAGES: dict[OrderState, str] = {
    OrderState.SUBMITTED: "Payment confirmed, order queued",
    OrderState.APPROVED: "Order approved for production",
    OrderState.IN_PRODUCTION: "Production started",
    OrderState.FULFILLED: "Order fulfilled and ready to ship",
    OrderState.CANCELED: "Order canceled",
}

# Only a payment confirmation may submit a draft: never a PATCH, the dashboard or the admin.
PAYMENT_ONLY: frozenset[tuple[OrderState, OrderState]] = frozenset(
    {(OrderState.DRAFT, OrderState.SUBMITTED)}
)

# Stages an operator advances through while the order is in production (forward only).
PRODUCTION_STEPS: tuple[ProductionStatus, ...] = (
    ProductionStatus.PRINTING,
    ProductionStatus.FINISHING,
    ProductionStatus.READY,
)

# The five stages the customer sees on the progress bar, in order.
STAGES: tuple[ProductionStatus, ...] = tuple(ProductionStatus)

FINAL_STATES: frozenset[OrderState] = frozenset({OrderState.FULFILLED, OrderState.CANCELED})

# Lead time in calendar days from payment to "ready to ship" (docs/decisions.md).
LEAD_DAYS: dict[Priority, int] = {Priority.RUSH: 3, Priority.STANDARD: 7, Priority.HOLD: 7}


def transition_error(current: OrderState, to: OrderState, *, source: EventSource) -> str | None:
    """Why `current → to` is refused for `source`, or None when the move is legal."""
    current, to = OrderState(current), OrderState(to)
    if to not in ALLOWED[current]:
        return f"{current} → {to} is not allowed"
    if (current, to) in PAYMENT_ONLY and source != EventSource.STRIPE:
        return f"{current} → {to} happens only when payment is confirmed"
    return None


def allowed_targets(current: OrderState, *, source: EventSource) -> list[OrderState]:
    """The states an actor from `source` may move an order in `current` to, in flow order."""
    return [s for s in OrderState if transition_error(current, s, source=source) is None]


def production_step_error(
    state: OrderState, current: ProductionStatus, to: ProductionStatus
) -> str | None:
    """Why the production status cannot move from `current` to `to`, or None when it can."""
    state, current, to = OrderState(state), ProductionStatus(current), ProductionStatus(to)
    if state != OrderState.IN_PRODUCTION:
        return f"production status changes only while in_production (order is {state})"
    if to not in PRODUCTION_STEPS:
        return f"{to} is not a production step (use {', '.join(PRODUCTION_STEPS)})"
    if PRODUCTION_STEPS.index(to) <= PRODUCTION_STEPS.index(current):
        return f"{current} → {to} is not allowed (production status only advances)"
    return None


def due_date_for(*, submitted_on: date, priority: Priority) -> date:
    """The promised ready-to-ship date for an order paid on `submitted_on`."""
    return submitted_on + timedelta(days=LEAD_DAYS[Priority(priority)])


def eta_days(*, status: OrderState, priority: Priority, due_date: date | None, today: date) -> int:
    """Whole days until the order should be ready to ship (the spec's `etaDays`).

    Final orders have nothing left to wait for (0). An unpaid draft shows its full lead time; a paid
    order counts down to its promised date and never goes below 0 while it is late.
    """
    if OrderState(status) in FINAL_STATES:
        return 0
    if due_date is None:
        return LEAD_DAYS[Priority(priority)]
    return max(0, (due_date - today).days)
