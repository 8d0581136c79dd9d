"""The order state machine and the shop's rulebook: which moves are legal, who may make them,
what must hold first, and what each state means on the shop floor.

The spec leaves it open; docs/rulebook.md is generated from this module (`manage.py rulebook
--write`). Only `production.services` applies these rules; every surface builds its choices from
them (`offered_moves`) and shows their refusals as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


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


class Delivery(models.TextChoices):
    """How an order reaches the customer. Orders made before the choice existed are `unknown`:
    operators may ship them as before (the ops page says the address is missing)."""

    SHIPPING = "shipping", "Shipping"
    PICKUP = "pickup", "Pickup at the shop"
    UNKNOWN = "unknown", "Unknown"


class EventSource(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"
    STRIPE = "stripe", "Stripe"
    SYSTEM = "system", "System"
    STORE = "store", "Online store"


# Who made a change, as a customer may see it: a role, never a person. Support staff working in
# the admin are operators to the customer. Which person it was stays on the event's `actor`
# column, shown to operators only (ops timeline, admin).
ACTOR_ROLES: dict[str, str] = {
    EventSource.CUSTOMER: "customer",
    EventSource.OPERATOR: "operator",
    EventSource.ADMIN: "operator",
    EventSource.STRIPE: "stripe",
    EventSource.SYSTEM: "system",
    EventSource.STORE: "store",
}


def actor_role(source: str) -> str:
    return ACTOR_ROLES.get(source, "system")


# Choice sets as the API spells them (named once in the OpenAPI schema).
ORDER_STATES: list[str] = OrderState.values
PRODUCTION_STATUSES: list[str] = ProductionStatus.values
PRIORITIES: list[str] = Priority.values
DELIVERIES: list[str] = Delivery.values  # the OpenAPI enum DeliveryEnum
DELIVERY_CHOICES: list[str] = [Delivery.SHIPPING, Delivery.PICKUP]  # what an order may ask for
PRIORITY_LABELS: list[str] = [str(label) for label in Priority.labels]

# --- the rulebook ---------------------------------------------------------------------------------
#
# Every move an order can make — a change of state, or a production step — with who may make it,
# what must hold first, and the line the customer reads on the timeline. The services apply it;
# every surface (API, ops pages, bulk, admin, webhook, seed data, live pages) asks it for the
# choices it offers and shows its refusals, which are written for people.


class Actor(models.TextChoices):
    """Who asks for a move: a role, as the rulebook sees it."""

    CUSTOMER = "customer", "The customer"
    OPERATOR = "operator", "An operator"
    STRIPE = "stripe", "Stripe"
    SYSTEM = "system", "The system"
    # The shop's online store (Shopify): it took the payment of a store order, and its
    # cancellation cancels the order here while nothing is printed yet.
    STORE = "store", "The online store"


def actor_of(source: str) -> Actor:
    """The rulebook's actor for an event source: support staff in the admin act as operators."""
    return Actor(actor_role(source))


@dataclass(frozen=True)
class OrderFacts:
    """What the rules look at: an order's state, production step and priority, which artwork
    proof (its revision number) waits for the customer's answer, if one does, and how many of its
    items have shipped or been picked up."""

    status: OrderState
    production_status: ProductionStatus
    priority: Priority
    proof_waiting: int | None = None
    shipped_quantity: int = 0

    @classmethod
    def of(cls, order: object) -> OrderFacts:
        # Columns of the order row (kept by the services), so the rules cost no extra query.
        return cls(
            OrderState(order.status),
            ProductionStatus(order.production_status),
            Priority(order.priority),
            order.waiting_proof_revision,
            order.shipped_quantity,
        )


Guard = Callable[[OrderFacts], "str | None"]


def _not_on_hold(facts: OrderFacts) -> str | None:
    """The order is not on hold."""
    if facts.priority == Priority.HOLD:
        return "Release the hold first: the order is on hold."
    return None


def _ready(facts: OrderFacts) -> str | None:
    """The production status is Ready."""
    if facts.production_status != ProductionStatus.READY:
        step = PRODUCTION_STEPS[PRODUCTION_STEPS.index(facts.production_status) + 1]
        return f"{STEP_TODO[step]} first: the order is at {facts.production_status}."
    return None


def _no_proof_waiting(facts: OrderFacts) -> str | None:
    """No proof waits for the customer's answer."""
    if facts.proof_waiting:
        return f"The customer has not answered proof {facts.proof_waiting} yet."
    return None


def _proof_waiting(facts: OrderFacts) -> str | None:
    """A proof waits for the customer's answer."""
    if not facts.proof_waiting:
        return "No proof is waiting for the customer's answer."
    return None


@dataclass(frozen=True)
class Move:
    """One change of state an order may make."""

    to: OrderState
    actors: frozenset[Actor]
    label: str  # what the operator's button says
    message: str  # what the customer reads on the timeline
    guard: Guard | None = None
    final: bool = False  # cannot be undone: surfaces ask for confirmation
    needs_reason: Callable[[OrderFacts], bool] | None = None  # a note explaining it is required


def _after_production_started(facts: OrderFacts) -> bool:
    """Once production has started."""
    return facts.status == OrderState.IN_PRODUCTION


def _nothing_shipped(facts: OrderFacts) -> str | None:
    """Nothing has left the shop yet."""
    if facts.shipped_quantity:
        return (
            "Part of the order has already left the shop: ship or hand over the rest, "
            "it can no longer be canceled."
        )
    return None


_CANCEL = "Order canceled"
RULES: dict[OrderState, tuple[Move, ...]] = {
    OrderState.DRAFT: (
        Move(
            OrderState.SUBMITTED,
            frozenset({Actor.STRIPE, Actor.STORE}),
            "Payment confirmed",
            "Payment confirmed, order queued",
        ),
        Move(
            OrderState.CANCELED,
            frozenset({Actor.STRIPE, Actor.SYSTEM, Actor.OPERATOR}),
            "Cancel order",
            _CANCEL,
            final=True,
        ),
    ),
    OrderState.SUBMITTED: (
        # An operator approves the artwork as sent, unless a proof waits for the customer; then
        # the customer's answer approves it (`services.decide_proof`, also when an operator
        # records an answer given by phone). Two moves to one state: each actor has its own.
        Move(
            OrderState.APPROVED,
            frozenset({Actor.OPERATOR}),
            "Approve artwork",
            "Artwork approved for printing",
            guard=_no_proof_waiting,
        ),
        Move(
            OrderState.APPROVED,
            frozenset({Actor.CUSTOMER}),
            "Approve proof",
            "Proof approved",
            guard=_proof_waiting,
        ),
        Move(
            OrderState.CANCELED,
            frozenset({Actor.OPERATOR, Actor.STORE}),
            "Cancel order",
            _CANCEL,
            final=True,
        ),
    ),
    OrderState.APPROVED: (
        Move(
            OrderState.IN_PRODUCTION,
            frozenset({Actor.OPERATOR}),
            "Start production",
            "Production started",
            guard=_not_on_hold,
        ),
        Move(
            OrderState.CANCELED,
            frozenset({Actor.OPERATOR, Actor.STORE}),
            "Cancel order",
            _CANCEL,
            final=True,
        ),
    ),
    OrderState.IN_PRODUCTION: (
        Move(
            OrderState.FULFILLED,
            frozenset({Actor.OPERATOR}),
            "Mark fulfilled",
            "Order complete: it has left the shop",
            guard=_ready,
            final=True,
        ),
        Move(
            OrderState.CANCELED,
            frozenset({Actor.OPERATOR}),
            "Cancel order",
            _CANCEL,
            guard=_nothing_shipped,
            final=True,
            needs_reason=_after_production_started,
        ),
    ),
    OrderState.FULFILLED: (),
    OrderState.CANCELED: (),
}

# Entering a state sets the production status. Canceled keeps whatever stage the order reached.
STATUS_MAP: dict[OrderState, ProductionStatus] = {
    OrderState.DRAFT: ProductionStatus.SPEC_REVIEW,
    OrderState.SUBMITTED: ProductionStatus.QUEUED,
    OrderState.APPROVED: ProductionStatus.QUEUED,
    OrderState.IN_PRODUCTION: ProductionStatus.PRINTING,
    OrderState.FULFILLED: ProductionStatus.READY,
}

# Stages an operator advances through while the order is in production, one at a time.
PRODUCTION_STEPS: tuple[ProductionStatus, ...] = (
    ProductionStatus.PRINTING,
    ProductionStatus.FINISHING,
    ProductionStatus.READY,
)
# What finishing the stage before each step means, in the words of a refusal and a button.
STEP_TODO: dict[ProductionStatus, str] = {
    ProductionStatus.FINISHING: "Finish printing",
    ProductionStatus.READY: "Mark it Ready",
}
STEP_LABELS: dict[ProductionStatus, str] = {
    ProductionStatus.FINISHING: "Printing done → Finishing",
    ProductionStatus.READY: "Finishing done → Ready",
}

# The five stages the customer sees on the progress bar, in order.
STAGES: tuple[ProductionStatus, ...] = tuple(ProductionStatus)

FINAL_STATES: frozenset[OrderState] = frozenset({OrderState.FULFILLED, OrderState.CANCELED})

# Lead time in calendar days from payment to "ready to ship" (docs/decisions/0007).
LEAD_DAYS: dict[Priority, int] = {Priority.RUSH: 3, Priority.STANDARD: 7, Priority.HOLD: 7}


def move_to(current: OrderState, to: OrderState, actor: Actor | None = None) -> Move | None:
    """The rule for `current → to` (the one for `actor`, where actors have their own), if any."""
    moves = [move for move in RULES[OrderState(current)] if move.to == to]
    if actor is not None:
        return next((m for m in moves if actor in m.actors), moves[0] if moves else None)
    return moves[0] if moves else None


def move_refusal(
    facts: OrderFacts, to: OrderState, *, actor: Actor, reason: str = ""
) -> str | None:
    """Why `actor` may not move an order with these facts to `to` now, in words for a person;
    None when the move is allowed. `reason` is the note given with the move."""
    to = OrderState(to)
    move = move_to(facts.status, to, actor)
    if move is None:
        return _unreachable(facts, to, actor)
    if actor not in move.actors:
        if to == OrderState.SUBMITTED:
            return "Only a confirmed payment submits an order."
        return f"{actor.label} cannot do this: {move.label.lower()} is for {_who(move)}."
    if move.guard is not None and (refused := move.guard(facts)):
        return refused
    if move.needs_reason is not None and move.needs_reason(facts) and not reason.strip():
        return (
            f"Say why: a reason is needed to cancel an order that is {facts.status.label.lower()}."
        )
    return None


def _unreachable(facts: OrderFacts, to: OrderState, actor: Actor) -> str:
    if facts.status in FINAL_STATES:
        return f"The order is {facts.status.label.lower()}: it cannot change any more."
    # The way there, one rule at a time: name the first step still to take.
    path = path_between(facts.status, to)
    if path and path[0] == OrderState.SUBMITTED:
        return "The order is not paid yet: payment comes first."
    if path:
        first = move_to(facts.status, path[0], actor)
        if actor in first.actors and first.guard is not None and (refused := first.guard(facts)):
            return refused  # e.g. no production while the customer has a proof to answer
        return f"{first.label} first: the order is {facts.status.label}."
    return f"The order is {facts.status.label}: it cannot go back to {to.label}."


def path_between(start: OrderState, goal: OrderState) -> list[OrderState]:
    """The states an order passes through from `start` to `goal` (ending with `goal`) along the
    rules, fewest moves first; [] when there is no way."""
    seen, frontier = {start}, [[start]]
    while frontier:
        route = frontier.pop(0)
        for move in RULES[route[-1]]:
            if move.to == goal:
                return [*route[1:], goal]
            if move.to not in seen:
                seen.add(move.to)
                frontier.append([*route, move.to])
    return []


def _who(move: Move) -> str:
    names = [actor.label[0].lower() + actor.label[1:] for actor in Actor if actor in move.actors]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def moves_for(facts: OrderFacts, *, actor: Actor) -> list[Move]:
    """The state moves `actor` may make now (a reason, where one is needed, is asked for)."""
    return [
        move
        for move in RULES[facts.status]
        if actor in move.actors and (move.guard is None or move.guard(facts) is None)
    ]


def step_refusal(facts: OrderFacts, to: ProductionStatus, *, actor: Actor) -> str | None:
    """Why `actor` may not move the production status to `to` now, in words for a person."""
    to = ProductionStatus(to)
    if actor not in STEP_ACTORS:
        return f"{actor.label} cannot change the production status: operators do."
    if facts.status != OrderState.IN_PRODUCTION:
        return f"Start production first: the order is {facts.status.label}."
    if to not in PRODUCTION_STEPS or PRODUCTION_STEPS.index(to) <= PRODUCTION_STEPS.index(
        facts.production_status
    ):
        return f"The order is already at {facts.production_status}: production only moves on."
    if (held := _not_on_hold(facts)) is not None:
        return held  # a paused order does not move on the floor either
    following = next_step(facts)
    if to != following:
        return f"{STEP_TODO[following]} first: the order is at {facts.production_status}."
    return None


def next_step(facts: OrderFacts) -> ProductionStatus | None:
    """The production step an operator takes next, if the order is in production and not Ready."""
    if facts.status != OrderState.IN_PRODUCTION or facts.production_status not in PRODUCTION_STEPS:
        return None
    position = PRODUCTION_STEPS.index(facts.production_status)
    return PRODUCTION_STEPS[position + 1] if position + 1 < len(PRODUCTION_STEPS) else None


def walk_from_payment(
    state: OrderState, step: ProductionStatus | None = None, priority: Priority = Priority.STANDARD
) -> list[dict[str, OrderState | ProductionStatus]]:
    """The operator's changes that take a just-paid order to `state` (and, in production, to
    `step`) the way the rules lead: each move, and each production step a move waits for, as
    keywords of `services.update_order` (demo data and test factories walk orders with it)."""
    facts = OrderFacts(OrderState.SUBMITTED, ProductionStatus.QUEUED, Priority(priority))
    changes: list[dict[str, OrderState | ProductionStatus]] = []
    for target in path_between(facts.status, OrderState(state)):
        while move_refusal(facts, target, actor=Actor.OPERATOR, reason="demo") and (
            following := next_step(facts)
        ):
            changes.append({"production_status": following})
            facts = replace(facts, production_status=following)
        changes.append({"status": target})
        facts = replace(facts, status=target, production_status=STATUS_MAP[target])
    while step not in (None, facts.production_status) and (following := next_step(facts)):
        changes.append({"production_status": following})
        facts = replace(facts, production_status=following)
    return changes


def ship_refusal(facts: OrderFacts, *, actor: Actor) -> str | None:
    """Why `actor` may not record a shipment, a pickup or "ready for pickup" now.

    Items leave the shop on the way to `fulfilled`, so the fulfil move's rule decides (production
    status Ready, nothing final), in its own words: "Mark it Ready first: the order is at
    Finishing." The last item to leave fulfils the order through that same move."""
    if actor != Actor.OPERATOR:
        return f"{actor.label} cannot record a shipment: operators do."
    return move_refusal(facts, OrderState.FULFILLED, actor=actor)


def parcel_refusal(
    facts: OrderFacts, *, actor: Actor, delivery: str, has_address: bool
) -> str | None:
    """Why `actor` may not hand a parcel of this order to a carrier now: what shipping needs
    (`ship_refusal`), then the delivery the customer chose: an order for pickup gets no shipment,
    and one to ship needs its address. Orders from before the choice (`unknown`) ship as before."""
    if (refused := ship_refusal(facts, actor=actor)) is not None:
        return refused
    if delivery == Delivery.PICKUP:
        return "The customer collects this order at the shop: record the pickup instead."
    if delivery == Delivery.SHIPPING and not has_address:
        return "The order has no shipping address: add one first."
    return None


def pickup_refusal(facts: OrderFacts, *, actor: Actor, delivery: str) -> str | None:
    """Why `actor` may not record that the customer collected this order at the shop now (or
    tell them it waits there): what shipping needs (`ship_refusal`), then the delivery the
    customer chose: an order to ship goes to its address, not over the counter. Orders from
    before the choice (`unknown`) may be picked up as before."""
    if (refused := ship_refusal(facts, actor=actor)) is not None:
        return refused
    if delivery == Delivery.SHIPPING:
        return "The customer chose shipping: record a shipment to their address instead."
    return None


def address_correction_refusal(
    facts: OrderFacts, *, actor: Actor, delivery: str = Delivery.SHIPPING
) -> str | None:
    """Why `actor` may not correct (or add) the order's shipping address now: operators do, until
    the first parcel leaves; an order for pickup has none."""
    if actor != Actor.OPERATOR:
        return f"{actor.label} cannot correct the shipping address: operators do."
    if facts.status == OrderState.CANCELED:
        return "The order is canceled: it cannot change any more."
    if facts.shipped_quantity > 0:
        return "A parcel has left already: the address can no longer change."
    if delivery == Delivery.PICKUP:
        return "The customer collects this order at the shop: it has no shipping address."
    return None


def correction_refusal(facts: OrderFacts, *, actor: Actor) -> str | None:
    """Why `actor` may not correct a recorded shipment's carrier or tracking number now. A wrong
    number is often noticed after the last parcel left, so a fulfilled order may be corrected."""
    if actor != Actor.OPERATOR:
        return f"{actor.label} cannot correct a shipment: operators do."
    if facts.status == OrderState.CANCELED:
        return "The order is canceled: it cannot change any more."
    return None


def proof_refusal(facts: OrderFacts, *, actor: Actor) -> str | None:
    """Why `actor` may not send an artwork proof for an order with these facts now."""
    if actor != Actor.OPERATOR:
        return f"{actor.label} cannot send a proof: operators do."
    if facts.status != OrderState.SUBMITTED:
        if facts.status == OrderState.DRAFT:
            return "The order is not paid yet: payment comes first."
        return f"Proofs come before the artwork is approved: the order is {facts.status.label}."
    return None


# --- what a surface offers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """One choice a surface offers for an order: a change of state or a production step."""

    field: str  # the `services.orders.update_order` keyword: "status" or "production_status"
    to: OrderState | ProductionStatus
    label: str  # what the button says
    refusal: str | None = None  # why not now: offered, but disabled, with these words beside it
    forward: bool = False  # the state move that takes the order on: the prominent button
    final: bool = False  # cannot be undone: the surface asks for confirmation first
    needs_reason: bool = False  # a note saying why is required with it

    @property
    def allowed(self) -> bool:
        return self.refusal is None


STATUS_FIELD = "status"
STEP_FIELD = "production_status"
STEP_ACTORS: frozenset[Actor] = frozenset({Actor.OPERATOR})  # who moves an order on the floor


def offered_moves(facts: OrderFacts, actor: Actor) -> list[Offer]:
    """What a surface offers `actor` for an order with these facts: each state move the rules
    give `actor` from the order's state (with its guard's refusal when it cannot be made now),
    then the next production step, if there is one. The first state move that is not a
    cancelation is the way forward; canceling stays secondary."""
    offers = [
        Offer(
            STATUS_FIELD,
            move.to,
            move.label,
            refusal=move.guard(facts) if move.guard is not None else None,
            final=move.final,
            needs_reason=bool(move.needs_reason and move.needs_reason(facts)),
        )
        for move in RULES[facts.status]
        if actor in move.actors
    ]
    forward = next((i for i, o in enumerate(offers) if o.to != OrderState.CANCELED), None)
    if forward is not None:
        offers[forward] = replace(offers[forward], forward=True)
    step = next_step(facts)
    if step is not None and actor in STEP_ACTORS:
        offers.append(
            Offer(
                STEP_FIELD, step, STEP_LABELS[step], refusal=step_refusal(facts, step, actor=actor)
            )
        )
    return offers


def offered_anywhere(actor: Actor) -> list[Offer]:
    """Every move `offered_moves` gives `actor` for some order, whatever its facts (the bulk menu
    offers these; each order is then checked on its own): states in the order of `OrderState`,
    then production steps in the order of the floor. Refusals and "forward" belong to one order,
    so these have none."""
    found: dict[tuple[str, str], Offer] = {}
    for status in OrderState:
        # Each production status an order in this state may be at (canceled keeps any).
        steps = (
            PRODUCTION_STEPS if status == OrderState.IN_PRODUCTION else (STATUS_MAP.get(status),)
        )
        for step in steps:
            facts = OrderFacts(status, step or ProductionStatus.QUEUED, Priority.STANDARD)
            for offer in offered_moves(facts, actor):
                found.setdefault(
                    (offer.field, offer.to), replace(offer, refusal=None, forward=False)
                )
    order = [*OrderState, *ProductionStatus]
    return sorted(found.values(), key=lambda o: (o.field != STATUS_FIELD, order.index(o.to)))


def operator_targets() -> list[OrderState]:
    """Every state an operator may ever move an order to (bulk changes offer these)."""
    return [o.to for o in offered_anywhere(Actor.OPERATOR) if o.field == STATUS_FIELD]


# --- the other rules of an order ------------------------------------------------------------------
#
# Some refusals name the order: the services put its reference before them ("ORD-000123: …").


def change_sequence(facts: OrderFacts) -> tuple[str, str, str]:
    """The order in which one request's changes apply (an API PATCH, the admin's form), as the
    keywords of `services.orders.update_order`. Priority first: releasing a hold and starting
    production is one request, and holding and starting is refused whole. Then, for an order
    already in production, the production step before the state: take it to Ready and fulfil it
    in one request. Otherwise the state before the step: start production, then move on."""
    if facts.status == OrderState.IN_PRODUCTION:
        return ("priority", STEP_FIELD, STATUS_FIELD)
    return ("priority", STATUS_FIELD, STEP_FIELD)


def priority_refusal(facts: OrderFacts) -> str | None:
    """Why the order's priority may not change now: a fulfilled or canceled order keeps the
    priority it ended with. (The services put the order's reference before these words.)"""
    if facts.status in FINAL_STATES:
        return f"priority cannot change once the order is {facts.status.value}"
    return None


def pickup_notice_refusal(
    facts: OrderFacts,
    *,
    actor: Actor,
    told_at: datetime | None,
    delivery: str = Delivery.UNKNOWN,
) -> str | None:
    """Why `actor` may not tell the customer now that their order waits at the shop for pickup:
    what a pickup needs first (`pickup_refusal`: not for an order to ship), then once per order.
    `told_at`: when the customer was told, if they were. (The services put the order's
    reference before the last refusal.)"""
    if (refused := pickup_refusal(facts, actor=actor, delivery=delivery)) is not None:
        return refused
    if told_at is not None:
        told = timezone.localtime(told_at).strftime("%Y-%m-%d %H:%M")
        return f"the customer was already told it is ready for pickup ({told})."
    return None


def proof_answer_refusal(
    *, by_phone: bool, operator: bool = False, owner: bool = False
) -> str | None:
    """Who records the customer's answer to a proof: the customer, on their order page or through
    the API; or an operator, who records an answer the customer gave by phone (`by_phone`).
    Either way the answer is the customer's: approving is the customer's move ("Approve proof").
    `operator`: the person recording it is an operator; `owner`: they are the order's customer."""
    if by_phone and not operator:
        return "Only operators record a decision given by phone."
    if not by_phone and not owner:
        return (
            "Only the customer decides on a proof; operators record a phone decision "
            'with "via": "phone".'
        )
    return None


def payment_refusal(facts: OrderFacts, *, reference: str = "The order") -> str | None:
    """Why the order cannot be paid now: it is payable only while a payment can submit it, that
    is while it is a draft (starting a checkout, the checkout simulator's Pay button, a payment
    Stripe confirms). `reference` names the order in the words."""
    payable = any(
        m.to == OrderState.SUBMITTED and Actor.STRIPE in m.actors for m in RULES[facts.status]
    )
    if not payable:
        return f"{reference} is {facts.status.value}: nothing to pay."
    return None


def artwork_hold_until(verdict: str, *, queued_at: datetime | None) -> datetime | None:
    """When a check still running stops holding the payment: PREFLIGHT_PENDING_HOLD seconds after
    it was queued (`queued_at`, the newest of the order's pending checks; unknown: from now).
    None when nothing is pending. A worker that is down must not stop sales for longer."""
    if verdict != "pending":
        return None
    return (queued_at or timezone.now()) + timedelta(seconds=settings.PREFLIGHT_PENDING_HOLD)


def artwork_refusal(
    verdict: str,
    *,
    acknowledged: bool,
    queued_at: datetime | None = None,
    now: datetime | None = None,
) -> str | None:
    """Why the artwork check stops a checkout (issue 24, decisions 0061 and 0069): a design that
    will not print well (a fail no operator accepted) until it is replaced or accepted, warnings
    until the customer says to print it as it is, and a check still running until its verdict
    arrives or its hold ends (`artwork_hold_until`: after it, payment opens with the check still
    running and operators see its report later). `verdict` is the order's (`artwork.models`:
    unchecked, pending, pass, warning, fail); an unchecked order has no check to wait for."""
    if verdict == "fail":
        return (
            "The artwork check found a design that will not print well: replace the design "
            "(the check says what to change), or ask the shop to accept it, then pay."
        )
    if verdict == "warning" and not acknowledged:
        return (
            "The artwork check has warnings: read them and confirm that the design should be "
            "printed as it is, then pay."
        )
    hold_until = artwork_hold_until(verdict, queued_at=queued_at)
    if hold_until is not None and (now or timezone.now()) < hold_until:
        return (
            "Your artwork is being checked: payment opens as soon as the check is done, "
            f"at most {settings.PREFLIGHT_PENDING_HOLD} seconds after it started."
        )
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


# --- what the customer reads ----------------------------------------------------------------------
#
# One status line per order in plain words, instead of the order state and the production status
# side by side (a draft is at "Spec Review" only as far as the shop floor is concerned), the
# progress bar's steps, the estimate as a date and what happened to the money of a canceled order.
# The order JSON carries them (statusText, etaText, holdText, progress, canceledText, shippedText),
# so the live page's script shows the same words as the server-rendered page and has none of its
# own.

CUSTOMER_WORDS: dict[str, str] = {
    OrderState.DRAFT: "Waiting for payment",
    OrderState.SUBMITTED: "Paid — the shop is checking your artwork",
    OrderState.APPROVED: "Artwork approved — waiting to be printed",
    OrderState.FULFILLED: "Shipped — every item has left the shop",
    OrderState.CANCELED: "Canceled",
    ProductionStatus.PRINTING: "Printing",
    ProductionStatus.FINISHING: "Finishing",
    ProductionStatus.READY: "Ready to ship",
    "ready_pickup": "Ready — the shop will tell you when to collect it",
    "picked_up": "Picked up at the shop",
    "proof_waiting": "Your proof is ready to approve",
    "changes_requested": "Changes requested — the shop is preparing a new proof",
    "paid_thanks": "Thank you — your payment is confirmed.",
    "hold": "On hold: the shop paused this order and will be in touch.",
    # The estimate, with {days} or {date} ("Tue 15 Dec") filled in; none once the order is ready.
    "eta_draft": "About {days} days after payment",
    "eta_hold": "A new date once the shop resumes the order",
    "eta_date": "Ready by {date}",
    "eta_late": "Running late: it was due {date}",
    "shipped_progress": "{shipped} of {total} items shipped",
    "pickup_ready": "Ready for pickup at the shop",
    # The canceled banner: what happened to the order and to the money.
    "canceled_banner": "This order was canceled: it will not be printed or shipped.",
    "canceled_unpaid": "You were not charged.",
    "canceled_refund": "{refund}.",
    "canceled_no_refund": "No refund has been made yet: the shop will be in touch about it.",
    # A shipment's line.
    "shipment_picked_up": "Picked up at the shop",
    "shipment_shipped": "shipped",
    "message_from_shop": "Message from the print shop:",
}

# The progress bar, step by step; the last two read differently for an order picked up at the
# shop. An order's place on it: `customer_progress`.
CUSTOMER_STEPS: tuple[str, ...] = ("payment", "artwork", "printing", "finishing", "ready", "sent")
STEP_WORDS: dict[str, str] = {
    "payment": "Payment",
    "payment_done": "Paid",
    "artwork": "Artwork check",
    "artwork_done": "Artwork approved",
    "printing": "Printing",
    "finishing": "Finishing",
    "ready": "Ready to ship",
    "ready_pickup": "Ready for pickup",
    "sent": "Shipped",
    "sent_pickup": "Picked up",
}
# How many steps an order in production has done, by production status (canceled orders too).
_DONE_AT: dict[ProductionStatus, int] = {
    ProductionStatus.SPEC_REVIEW: 0,
    ProductionStatus.QUEUED: 1,
    ProductionStatus.PRINTING: 2,
    ProductionStatus.FINISHING: 3,
    ProductionStatus.READY: 4,
}

# What the customer reads on the timeline for a production step: what the shop did.
STEP_MESSAGES: dict[ProductionStatus, str] = {
    ProductionStatus.FINISHING: "Printing done: the order is being finished",
    ProductionStatus.READY: "Finished and checked: the order is ready",
}


def _picked_up(order: object) -> bool:
    return getattr(order, "delivery", None) == Delivery.PICKUP


def _changes_requested(order: object) -> bool:
    """The customer asked for changes to the last proof and no new one is out yet (the model's
    `changes_requested`, from a prefetch or an annotation)."""
    return bool(getattr(order, "changes_requested", False))


def customer_stage_text(order: object) -> str:
    """The order's one status line, as its customer reads it."""
    facts = OrderFacts.of(order)
    if facts.status == OrderState.FULFILLED:
        return CUSTOMER_WORDS["picked_up" if _picked_up(order) else OrderState.FULFILLED]
    if facts.status in (OrderState.DRAFT, OrderState.CANCELED):
        return CUSTOMER_WORDS[facts.status]
    if facts.status == OrderState.IN_PRODUCTION and facts.shipped_quantity:
        return shipped_text(order)
    if facts.status == OrderState.IN_PRODUCTION and order.pickup_ready_at:  # type: ignore[attr-defined]
        return CUSTOMER_WORDS["pickup_ready"]
    if facts.proof_waiting:
        return CUSTOMER_WORDS["proof_waiting"]
    if facts.status == OrderState.SUBMITTED and _changes_requested(order):
        return CUSTOMER_WORDS["changes_requested"]
    if facts.status == OrderState.IN_PRODUCTION:
        if facts.production_status == ProductionStatus.READY and _picked_up(order):
            return CUSTOMER_WORDS["ready_pickup"]
        return CUSTOMER_WORDS[facts.production_status]
    return CUSTOMER_WORDS[facts.status]


def shipped_text(order: object) -> str:
    """ "2 of 3 items shipped", or "" while nothing has left the shop."""
    shipped = order.shipped_quantity  # type: ignore[attr-defined]
    if not shipped:
        return ""
    return CUSTOMER_WORDS["shipped_progress"].format(
        shipped=shipped,
        total=order.total_quantity,  # type: ignore[attr-defined]
    )


def customer_hold_text(order: object) -> str:
    """Why a held order is not moving, or "" when it is not on hold (or is over)."""
    facts = OrderFacts.of(order)
    if facts.priority == Priority.HOLD and facts.status not in FINAL_STATES:
        return CUSTOMER_WORDS["hold"]
    return ""


def day_words(value: date) -> str:
    """A date as the customer reads it: "Tue 15 Dec"."""
    return f"{value:%a} {value.day} {value:%b}"


def customer_eta_text(order: object) -> str:
    """The estimate as the customer reads it: the date the order should be ready ("Ready by Tue
    15 Dec"); nothing once it is ready, shipped or over; no date for what has not started or is
    paused."""
    facts = OrderFacts.of(order)
    if facts.status in FINAL_STATES:
        return ""
    if facts.status == OrderState.IN_PRODUCTION and (
        facts.production_status == ProductionStatus.READY
        or facts.shipped_quantity
        or order.pickup_ready_at  # type: ignore[attr-defined]
    ):
        return ""
    if facts.priority == Priority.HOLD:
        return CUSTOMER_WORDS["eta_hold"]
    due = order.due_date  # type: ignore[attr-defined]
    if facts.status == OrderState.DRAFT or due is None:
        return CUSTOMER_WORDS["eta_draft"].format(days=LEAD_DAYS[facts.priority])
    if due < timezone.localdate():
        return CUSTOMER_WORDS["eta_late"].format(date=day_words(due))
    return CUSTOMER_WORDS["eta_date"].format(date=day_words(due))


def customer_progress(order: object) -> list[dict[str, str]]:
    """The progress bar: each step's name, its words and whether it is `done`, `current` (where
    the order is now) or `todo`. A shipped order is at "Shipped", never at "Ready to ship"; a
    canceled one keeps the steps it had done and has no current step."""
    facts = OrderFacts.of(order)
    pickup = _picked_up(order)
    current: int | None
    if facts.status == OrderState.FULFILLED:
        done, current = 5, 5
    elif facts.status == OrderState.DRAFT:
        done, current = 0, 0
    elif facts.status == OrderState.SUBMITTED:
        done, current = 1, 1
    elif facts.status == OrderState.APPROVED:
        done, current = 2, 2
    elif facts.status == OrderState.IN_PRODUCTION:
        done = 5 if facts.shipped_quantity else _DONE_AT[facts.production_status]
        current = done
    else:  # canceled: where it stopped
        done = 5 if facts.shipped_quantity else _DONE_AT[facts.production_status]
        current = None
    steps = []
    for i, step in enumerate(CUSTOMER_STEPS):
        key = step
        if step in ("payment", "artwork") and i < done:
            key = f"{step}_done"
        elif step in ("ready", "sent") and pickup:
            key = f"{step}_pickup"
        state = "current" if i == current else "done" if i < done else "todo"
        steps.append({"step": step, "label": STEP_WORDS[key], "state": state})
    return steps


def customer_canceled_text(order: object) -> str:
    """What the banner of a canceled order says: that it will not be made, and what happened to
    the money (the latest refund on its timeline, in that event's words); "" for other orders."""
    if order.status != OrderState.CANCELED:  # type: ignore[attr-defined]
        return ""
    if order.submitted_at is None:  # type: ignore[attr-defined]
        money = CUSTOMER_WORDS["canceled_unpaid"]
    else:
        refunds = [
            event
            for event in order.events.all()  # type: ignore[attr-defined]
            if event.kind == "refund" and event.message
        ]
        money = (
            CUSTOMER_WORDS["canceled_refund"].format(refund=refunds[-1].message.rstrip("."))
            if refunds
            else CUSTOMER_WORDS["canceled_no_refund"]
        )
    return f"{CUSTOMER_WORDS['canceled_banner']} {money}"


# --- what the operators read ---------------------------------------------------------------------
#
# One status per order as an operator says it (the ops list, the board's badges, the ops order
# page's summary), and the next step the shop owes it, instead of the order state beside the
# production status ("Fulfilled / Ready").

OPERATOR_WORDS: dict[str, str] = {
    OrderState.DRAFT: "Unpaid draft",
    OrderState.SUBMITTED: "Paid — check the artwork",
    OrderState.APPROVED: "Approved — to print",
    OrderState.FULFILLED: "Shipped",
    OrderState.CANCELED: "Canceled",
    ProductionStatus.PRINTING: "Printing",
    ProductionStatus.FINISHING: "Finishing",
    ProductionStatus.READY: "Ready to ship",
    "ready_pickup": "Ready for pickup",
    "pickup_told": "Waiting for pickup",
    "picked_up": "Picked up",
    "partly_shipped": "Partly shipped ({shipped} of {total})",
    "proof_waiting": "Proof {revision} out — waiting for the customer",
    "changes_requested": "Changes requested — send a new proof",
}

OPERATOR_NEXT: dict[str, str] = {
    OrderState.DRAFT: "Nothing yet: the customer has not paid.",
    OrderState.SUBMITTED: "Check the artwork: approve it, or send a proof.",
    OrderState.APPROVED: "Start production.",
    OrderState.FULFILLED: "Nothing: every item has left the shop.",
    "picked_up": "Nothing: the customer took everything.",
    OrderState.CANCELED: "Nothing: the order is canceled.",
    ProductionStatus.PRINTING: "Finish printing.",
    ProductionStatus.FINISHING: "Mark it Ready.",
    ProductionStatus.READY: "Record the shipment.",
    "ready_pickup": "Tell the customer it is ready for pickup.",
    "pickup_told": "Record the pickup when the customer comes.",
    "partly_shipped": "Ship the rest.",
    "proof_waiting": "Wait for the customer's answer to proof {revision} (or a call).",
    "changes_requested": "Send proof {revision} with the customer's changes.",
    "hold": "Release the hold first: the order is on hold.",
}


def _operator_key(
    facts: OrderFacts, *, delivery: str, changes_requested: bool, pickup_told: bool
) -> str:
    if facts.status == OrderState.FULFILLED and delivery == Delivery.PICKUP:
        return "picked_up"
    if facts.status in (OrderState.DRAFT, *FINAL_STATES):
        return facts.status
    if facts.status == OrderState.SUBMITTED:
        if facts.proof_waiting:
            return "proof_waiting"
        return "changes_requested" if changes_requested else facts.status
    if facts.status == OrderState.APPROVED:
        return facts.status
    if facts.shipped_quantity:
        return "partly_shipped"
    if facts.production_status == ProductionStatus.READY and delivery == Delivery.PICKUP:
        return "pickup_told" if pickup_told else "ready_pickup"
    return facts.production_status


def operator_words(
    facts: OrderFacts,
    *,
    delivery: str = Delivery.UNKNOWN,
    changes_requested: bool = False,
    pickup_told: bool = False,
    total_quantity: int = 0,
    next_proof: int = 1,
) -> tuple[str, str]:
    """The order's status as an operator says it, and the next step the shop owes it."""
    key = _operator_key(
        facts, delivery=delivery, changes_requested=changes_requested, pickup_told=pickup_told
    )
    values = {
        "shipped": facts.shipped_quantity,
        "total": total_quantity,
        "revision": facts.proof_waiting or next_proof,
    }
    status = OPERATOR_WORDS[key].format(**values)
    following = OPERATOR_NEXT[key].format(**values)
    held = facts.priority == Priority.HOLD and facts.status not in (OrderState.DRAFT, *FINAL_STATES)
    return status, OPERATOR_NEXT["hold"] if held else following


# Paid and not over: the orders on the shop floor (the production board), those an operator has a
# way forward for.
OPEN_STATES: tuple[OrderState, ...] = tuple(
    status
    for status in OrderState
    if any(
        offer.forward
        for offer in offered_moves(
            OrderFacts(status, STATUS_MAP.get(status, ProductionStatus.READY), Priority.STANDARD),
            Actor.OPERATOR,
        )
    )
)
