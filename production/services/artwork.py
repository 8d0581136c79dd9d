"""What people do about an order's artwork check (issue 24): the customer acknowledges its
warnings before paying, an operator accepts a design that failed (with a reason), and a draft's
design is replaced (checked again). Each is one event on the order's timeline ("Artwork proof"
kind, `metadata.preflight` says which), written with the row lock like every order change. The
check itself is the artwork app's (`artwork.tasks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from artwork.models import PreflightReport, Verdict
from artwork.tasks import request_preflight
from production.exceptions import IllegalTransition, InvalidOrder, OrderError
from production.lifecycle import EventSource, OrderState
from production.models import FulfillmentEvent, OrderDesign, ProductionOrder
from production.services.changes import Change, clean_note, lock_order, save_changes

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser


def _change(order: ProductionOrder, message: str, what: str, **extra: object) -> Change:
    """The timeline entry of an artwork step: `what` in its metadata (`preflight`)."""
    return Change(
        kind=FulfillmentEvent.Kind.PROOF,
        field="message",
        before=None,
        after=None,
        status=order.production_status,
        message=message,
        metadata={"preflight": what, **extra},
    )


def _event(
    order: ProductionOrder,
    message: str,
    what: str,
    actor: User | None,
    source: EventSource,
    **extra: object,
) -> FulfillmentEvent:
    change = _change(order, message, what, **extra)
    [event] = save_changes(order, [change], actor=actor, source=source)
    return event


def acknowledge_artwork_warnings(*, order: ProductionOrder | UUID, actor: User) -> FulfillmentEvent:
    """The customer has read the warnings and wants the designs printed as they are."""
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        if locked.status != OrderState.DRAFT:
            raise IllegalTransition(
                f"{locked.reference} is paid or canceled: nothing to confirm.", field="preflight"
            )
        reports = PreflightReport.objects.select_for_update().filter(
            order_id=order_id, verdict=Verdict.WARNING, acknowledged_at__isnull=True
        )
        warned = list(reports.select_related("design__placement"))
        if not warned:
            raise OrderError("There are no artwork warnings to confirm.", field="preflight")
        reports.update(acknowledged_at=timezone.now(), acknowledged_by=actor)
        names = ", ".join(r.design.placement.name for r in warned)
        return _event(
            locked,
            f"Artwork warnings read and accepted by the customer ({names}): print as it is",
            "acknowledged",
            actor,
            EventSource.CUSTOMER,
            placements=[r.design.placement.code for r in warned],
        )


def override_artwork_fail(
    *, order: ProductionOrder | UUID, placement: str, actor: User, reason: str
) -> FulfillmentEvent:
    """An operator accepts a design the check failed, saying why (the customer sees the reason)."""
    reason = clean_note(reason)
    if not reason:
        raise OrderError("Say why the design is accepted.", field="reason")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        report = (
            PreflightReport.objects.select_for_update()
            .select_related("design__placement")
            .filter(order_id=order_id, design__placement__code=placement)
            .first()
        )
        if report is None or report.verdict != Verdict.FAIL:
            raise OrderError("Only a design the check failed can be accepted.", field="preflight")
        if report.overridden_at is not None:
            raise OrderError("This design was accepted already.", field="preflight")
        report.overridden_at, report.overridden_by = timezone.now(), actor
        report.override_reason = reason
        report.save(update_fields=["overridden_at", "overridden_by", "override_reason"])
        return _event(
            locked,
            f"Artwork accepted by the shop despite the check ({report.design.placement.name}): "
            f"{reason}",
            "override",
            actor,
            EventSource.OPERATOR,
            placement=placement,
        )


def replace_design(
    *, order: ProductionOrder | UUID, placement: str, url: str, actor: User
) -> FulfillmentEvent:
    """A draft's design at `placement` replaced by the customer; it is checked again."""
    url = (url or "").strip()
    if not url.startswith(("http://", "https://", "/")) or len(url) > 2048:
        raise InvalidOrder({"designUrl": ["Enter the full link (https://…) to the design file."]})
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        if locked.status != OrderState.DRAFT:
            raise IllegalTransition(
                f"{locked.reference} is paid or canceled: its design cannot be changed here.",
                field="designUrl",
            )
        design = (
            OrderDesign.objects.select_related("placement")
            .filter(order_id=order_id, placement__code=placement)
            .first()
        )
        if design is None:
            raise OrderError("The order prints nothing there.", field="designUrl")
        design.url = url
        design.save(update_fields=["url"])
        extra_fields = []
        if placement == "front":
            locked.design_url = url
            extra_fields.append("design_url")
        event = _event_with_fields(locked, design, actor, extra_fields)
        request_preflight(locked, designs=[design])
    return event


def _event_with_fields(
    order: ProductionOrder, design: OrderDesign, actor: User, extra_fields: list[str]
) -> FulfillmentEvent:
    change = Change(
        kind=FulfillmentEvent.Kind.PROOF,
        field="message",
        before=None,
        after=None,
        status=order.production_status,
        message=f"New design for the {design.placement.name.lower()}: being checked",
        metadata={"preflight": "replaced", "placement": design.placement.code},
    )
    [event] = save_changes(
        order, [change], actor=actor, source=EventSource.CUSTOMER, extra_fields=extra_fields
    )
    return event


CHECKOUT_CLOSED = "checkout_closed"  # metadata.preflight of the event that closes a session


def close_checkout_session(*, order: ProductionOrder | UUID, session_id: str) -> bool:
    """A draft's Checkout Session the payments app expired because the artwork check failed after
    it was made (decision 0069): the order forgets it (the next payment makes a new one) and the
    timeline says so, its metadata naming the session (`closed_checkout_sessions`), so that the
    session's own `checkout.session.expired` event does not cancel the draft. False when the
    order has moved on meanwhile (paid, canceled, another session): nothing changes."""
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        if locked.status != OrderState.DRAFT or locked.stripe_checkout_session_id != session_id:
            return False
        locked.stripe_checkout_session_id = None
        locked.checkout_url = ""
        change = _change(
            locked,
            "Payment link closed: the artwork check failed, replace the design first",
            CHECKOUT_CLOSED,
            checkoutSessionId=session_id,
        )
        save_changes(
            locked,
            [change],
            actor=None,
            source=EventSource.SYSTEM,
            extra_fields=["stripe_checkout_session_id", "checkout_url"],
        )
    return True


def closed_checkout_sessions(order: ProductionOrder | UUID) -> list[str]:
    """The Checkout Sessions of the order that the shop closed for its artwork, oldest first."""
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    return [
        str(metadata.get("checkoutSessionId"))
        for metadata in FulfillmentEvent.objects.filter(
            order_id=order_id,
            kind=FulfillmentEvent.Kind.PROOF,
            metadata__preflight=CHECKOUT_CLOSED,
        )
        .order_by("pk")
        .values_list("metadata", flat=True)
    ]
