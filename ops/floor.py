"""The shop floor's stages: the production board's columns and the scan stations, as the rulebook
defines them, and the codes a station reads.

A stage is where an order is on the floor, told by its state and, in production, its step. The
board shows the open orders (paid, not yet fulfilled or canceled) in five stages; the stations are
the production steps (`lifecycle.PRODUCTION_STEPS`): scanning a ticket there moves the order to that
step. What it takes to reach a stage, and why an order cannot, is the rulebook's
(`stage_change`); `ops.services` applies it through `production.services`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from production.lifecycle import (
    PRODUCTION_STEPS,
    Actor,
    OrderFacts,
    OrderState,
    ProductionStatus,
    move_refusal,
    step_refusal,
)


@dataclass(frozen=True)
class Stage:
    """One column of the board: the orders in `status` (and, in production, at `step`)."""

    key: str  # in URLs and the page: "spec-review", "printing"
    label: str
    status: OrderState
    step: ProductionStatus | None = None

    @property
    def is_station(self) -> bool:
        return self.step is not None


# The board's columns cover the rulebook's open states (`lifecycle.OPEN_STATES`, paid and not over).
# Paid orders whose artwork is not approved yet wait in Spec Review (with or without a proof
# waiting for the customer); approved ones are queued; production has a column per step.
STAGES: tuple[Stage, ...] = (
    Stage("spec-review", "Spec Review", OrderState.SUBMITTED),
    Stage("queued", "Queued", OrderState.APPROVED),
    *(
        Stage(step.value.lower(), step.label, OrderState.IN_PRODUCTION, step)
        for step in PRODUCTION_STEPS
    ),
)
STAGES_BY_KEY: dict[str, Stage] = {stage.key: stage for stage in STAGES}
# A scan station per production step: Printing (starts production), Finishing, Ready (packing).
STATIONS: tuple[Stage, ...] = tuple(stage for stage in STAGES if stage.is_station)
STATIONS_BY_KEY: dict[str, Stage] = {stage.key: stage for stage in STATIONS}


def stage_of(facts: OrderFacts) -> Stage | None:
    """The board stage of an order with these facts; None when it is not on the board."""
    for stage in STAGES:
        if facts.status == stage.status and stage.step in (None, facts.production_status):
            return stage
    return None


@dataclass(frozen=True)
class StageChange:
    """What moving an order to a stage takes: the `update_order` keywords, or why it cannot."""

    changes: dict[str, OrderState | ProductionStatus]
    refusal: str | None = None
    already: bool = False  # the order is at that stage: nothing to do


def stage_change(facts: OrderFacts, stage: Stage) -> StageChange:
    """Ask the rulebook what taking an order with `facts` to `stage` means for an operator.

    Entering a stage of another state is a state move (Queued: approve the artwork; Printing from
    Queued: start production); a later production step is a step. The refusal is the rulebook's
    own sentence: for a step of an order not in production, the first thing the state move would
    need (paid, approved, not on hold, not final), else the step's.
    """
    if stage_of(facts) == stage:
        return StageChange({}, already=True)
    actor = Actor.OPERATOR
    entering = stage.status != facts.status and stage.step in (None, PRODUCTION_STEPS[0])
    if entering:
        refusal = move_refusal(facts, stage.status, actor=actor)
        return StageChange({} if refusal else {"status": stage.status}, refusal)
    if facts.status != OrderState.IN_PRODUCTION:
        refusal = move_refusal(facts, OrderState.IN_PRODUCTION, actor=actor) or step_refusal(
            facts, stage.step, actor=actor
        )
        return StageChange({}, refusal)
    refusal = step_refusal(facts, stage.step, actor=actor)
    return StageChange({} if refusal else {"production_status": stage.step}, refusal)


# --- the codes a station reads ---------------------------------------------------------------

MAX_CODE_LENGTH = 300
_REFERENCE = re.compile(r"(?:ORD-?)?0*(\d{1,12})", re.IGNORECASE)
_ORDER_PATH = re.compile(
    r"/ops/orders/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OrderCode:
    """A scanned code, understood: an order reference, or the id from an ops order URL."""

    reference: str | None = None
    order_id: UUID | None = None


def parse_code(text: str) -> OrderCode | None:
    """What a scanner (or a person) typed at a station; None when it names no order.

    The ticket's barcode holds the reference (`ORD-000123`): read without regard to case, spaces
    around it, or the zero padding (`ord-123`, `123`, as the ops search reads them). Its QR code
    holds the ops order page's URL, which a USB scanner types like any other code.
    """
    text = (text or "").strip()
    if not text or len(text) > MAX_CODE_LENGTH:
        return None
    if match := _REFERENCE.fullmatch(text):
        return OrderCode(reference=f"ORD-{int(match.group(1)):06d}")
    is_url = text.lower().startswith(("http://", "https://", "/"))
    if is_url and (match := _ORDER_PATH.search(urlsplit(text).path)):
        return OrderCode(order_id=UUID(match.group(1)))
    return None
