"""Ops workflows over `production.services`: bulk changes (each order on its own), and the shop
floor's moves (a station's scan, a card moved on the production board)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from ops.floor import MAX_CODE_LENGTH, Stage, parse_code, stage_change
from ops.models import StationScan
from production import broadcasts
from production.exceptions import OrderError
from production.lifecycle import EventSource, OrderFacts, OrderState, Priority, ProductionStatus
from production.models import ProductionOrder
from production.services.orders import update_order, update_order_reporting

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# The fields a bulk action may set: the form's allow-list, and the service keyword for each.
BULK_FIELDS: dict[str, tuple[str, type]] = {
    "status": ("status", OrderState),
    "productionStatus": ("production_status", ProductionStatus),
    "priority": ("priority", Priority),
}


@dataclass
class BulkResult:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "ORD-000123: <why>"


def bulk_update_orders(
    *, order_ids: Iterable[UUID], actor: AbstractBaseUser, field_name: str, value: str
) -> BulkResult:
    """Set one field on many orders, one service call (one transaction) per order.

    Legal changes apply; refused ones are listed with the service's reason and the rest carry on.
    Orders that already have the value are left alone (no event is written for them). The orders,
    with the customer and garment a fulfilment mail names, are read once for all of them.
    """
    attribute, choices = BULK_FIELDS[field_name]
    target = choices(value)
    result = BulkResult()
    orders = (
        ProductionOrder.objects.select_related("owner", "garment")
        .filter(pk__in=list(order_ids))
        .order_by("reference")
    )
    with broadcasts.held_until_done():  # the live pages hear of all of them in one send
        for order in orders:
            _apply(order, attribute, target, actor, result)
    return result


def _apply(
    order: ProductionOrder,
    attribute: str,
    target: object,
    actor: AbstractBaseUser,
    result: BulkResult,
) -> None:
    """One order's change, in its own transaction, reported in `result`."""
    if getattr(order, attribute) == target:
        result.unchanged.append(order.reference)
        return
    try:
        update_order(order=order, actor=actor, source=EventSource.OPERATOR, **{attribute: target})
    except ProductionOrder.DoesNotExist:
        return  # deleted meanwhile: nothing to do
    except OrderError as error:
        result.skipped.append(error.message)
    else:
        result.changed.append(order.reference)


# --- the shop floor: scan stations and the production board -------------------------------------


@dataclass(frozen=True)
class StageMove:
    """What came of asking for an order to be at a stage: moved, already there, or refused."""

    order: ProductionOrder
    stage: Stage
    outcome: str  # a StationScan.Outcome value (moved, already, refused)
    message: str  # for the operator: "Moved to Printing", or the rulebook's reason

    @property
    def ok(self) -> bool:
        return self.outcome != StationScan.Outcome.REFUSED


def move_to_stage(
    *, order: ProductionOrder, stage: Stage, actor: AbstractBaseUser | None
) -> StageMove:
    """Take one order to a floor stage (a station's scan, a card moved on the board).

    The rulebook says what that means (`ops.floor.stage_change`: approve, start production, or the
    next production step) and `production.services.orders.update_order` does it, under the row
    lock, with
    its one event and broadcast. An order already at the stage is left alone (no event): a re-scan
    is harmless. A refusal changes nothing and carries the rulebook's sentence.
    """
    change = stage_change(OrderFacts.of(order), stage)
    if change.already:
        return StageMove(order, stage, StationScan.Outcome.ALREADY, f"Already at {stage.label}")
    if change.refusal:
        return StageMove(order, stage, StationScan.Outcome.REFUSED, change.refusal)
    try:
        moved, changed = update_order_reporting(
            order=order, actor=actor, source=EventSource.OPERATOR, **change.changes
        )
    except OrderError as error:  # another change got there first: the rule, checked under lock
        return StageMove(
            order, stage, StationScan.Outcome.REFUSED, _without_reference(order, error.message)
        )
    if not changed:  # the same move, an instant earlier (a double read of one ticket)
        return StageMove(moved, stage, StationScan.Outcome.ALREADY, f"Already at {stage.label}")
    return StageMove(moved, stage, StationScan.Outcome.MOVED, f"Moved to {stage.label}")


def _without_reference(order: ProductionOrder, message: str) -> str:
    return message.removeprefix(f"{order.reference}: ")


def scan_at_station(*, station: Stage, code: str, actor: AbstractBaseUser | None) -> StationScan:
    """A code read at a scan station: find the order it names, move it to the station's stage,
    and log the scan (listed on the station's page, newest first), whatever came of it.

    The order's change commits first (its own durable transaction in `update_order`); the log row
    follows. A crash in between loses a log line, never the move.
    """
    code = (code or "").strip()[:MAX_CODE_LENGTH]
    parsed = parse_code(code)
    order = None
    if parsed is not None:
        orders = ProductionOrder.objects.select_related("owner", "garment")
        if parsed.reference:
            order = orders.filter(reference=parsed.reference).first()
        else:
            order = orders.filter(pk=parsed.order_id).first()
    if order is None:
        shown = code if len(code) <= 40 else code[:40] + "…"
        if not code:
            message = "Nothing was scanned: scan the barcode on the job ticket."
        elif parsed is None:
            message = (
                f"“{shown}” is not an order code: scan the barcode on the job ticket "
                "or type its reference (ORD-000123)."
            )
        else:
            message = f"No order {parsed.reference or shown}: check the reference on the ticket."
        return StationScan.objects.create(
            station=station.key,
            code=code,
            outcome=StationScan.Outcome.UNKNOWN,
            message=message,
            scanned_by=actor,
        )
    result = move_to_stage(order=order, stage=station, actor=actor)
    scan = StationScan.objects.create(
        station=station.key,
        code=code,
        order=result.order,
        outcome=result.outcome,
        message=result.message,
        scanned_by=actor,
    )
    return scan
