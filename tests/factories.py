"""Factories: users, garments, and orders made through the real services."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from production.accounts.access import operators_group
from production.lifecycle import (
    EventSource,
    OrderState,
    Priority,
    ProductionStatus,
    walk_from_payment,
)
from production.models import Garment, LineItem, ProductionOrder
from production.pricing import SizeQuantity
from production.services.catalogue import ensure_catalogue
from production.services.orders import (
    cancel_unpaid_order,
    create_draft_order,
    refresh_technique_bits,
    submit_paid_order,
    update_order,
)
from production.services.proofs import send_proof

# A valid US ship-to address as the order form (/orders/new/) posts it: Shipping is the form's
# required, preselected delivery, so a test posting the form adds this unless it tests delivery.
ORDER_FORM_ADDRESS = {
    "delivery": "shipping",
    "ship_name": "Ada Lovelace",
    "ship_address1": "1600 Amphitheatre Pkwy",
    "ship_city": "Mountain View",
    "ship_state": "CA",
    "ship_zip": "94043",
    "ship_country": "US",
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda u: u.email)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-123")

    @factory.post_generation
    def operator(self, create: bool, extracted: bool | None, **kwargs) -> None:
        if extracted:
            self.groups.add(operators_group())
        if create:
            self.save()


def operator_user(**kwargs) -> object:
    return UserFactory(operator=True, **kwargs)


def token_for(user: object) -> str:
    return Token.objects.get_or_create(user=user)[0].key


class GarmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Garment
        django_get_or_create = ("shopify_gid",)
        skip_postgeneration_save = True

    shopify_gid = factory.Sequence(lambda n: f"gid://shopify/Product/{900000 + n}")
    name = factory.Sequence(lambda n: f"Tee {n}")
    sizes = factory.LazyFunction(lambda: ["S", "M", "L", "XL", "XXL"])
    base_price = 1800
    currency = "usd"
    size_upcharges = factory.LazyFunction(lambda: {"XXL": 200})
    techniques = factory.LazyFunction(lambda: ["dtg", "screen"])
    is_active = True

    @factory.post_generation
    def catalogue(self, create: bool, extracted: object, **kwargs) -> None:
        """Its default colour, a variant per size and a front placement, as migration 0013 gave
        the garments of its day."""
        if create:
            ensure_catalogue(self)


def make_order(
    *,
    owner: object | None = None,
    garment: Garment | None = None,
    sizes: list[tuple[str, int]] | None = None,
    priority: Priority = Priority.STANDARD,
    state: OrderState = OrderState.DRAFT,
    step: ProductionStatus | None = None,
    operator: object | None = None,
    delivery: str | None = None,
    shipping: dict | None = None,
) -> ProductionOrder:
    """An order walked to `state` (and, in production, to production `step`) through the
    services, as production would; `delivery` and `shipping` as create_draft_order takes them."""
    owner = owner or UserFactory()
    garment = garment or GarmentFactory()
    order = create_draft_order(
        owner=owner,
        garment_gid=garment.shopify_gid,
        design_url="https://cdn.example.com/design.png",
        sizes=[SizeQuantity(s, q) for s, q in (sizes or [("M", 2), ("L", 3)])],
        priority=priority,
        delivery=delivery,
        shipping=shipping,
    )
    if state == OrderState.DRAFT:
        return order
    if state == OrderState.CANCELED:
        cancel_unpaid_order(order=order, reason="Checkout expired")
        return ProductionOrder.objects.get(pk=order.pk)
    submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)
    receipt_already_sent(order)
    actor = operator or operator_user()
    for change in walk_from_payment(state, step):
        update_order(order=order, actor=actor, source=EventSource.OPERATOR, **change)
    return ProductionOrder.objects.get(pk=order.pk)


def receipt_already_sent(order: ProductionOrder) -> None:
    """The order's payment receipt as if sent and cleared out long ago (the task that writes it,
    its outbox row and its delivery task removed), so a test of what an order does after payment
    counts only the mails that follow (tests/production/test_mail_links.py reads the receipt)."""
    from django_tasks_db.models import DBTaskResult

    from production.models import OutgoingEmail

    for task in DBTaskResult.objects.filter(task_path__endswith=".write_receipt"):
        if task.args_kwargs.get("args") == [str(order.pk)]:
            task.delete()
    receipts = OutgoingEmail.objects.filter(order=order, kind=OutgoingEmail.Kind.ORDER_RECEIPT)
    ids = list(receipts.values_list("pk", flat=True))
    for task in DBTaskResult.objects.filter(task_path__endswith=".deliver_email"):
        if task.args_kwargs.get("args") and task.args_kwargs["args"][0] in ids:
            task.delete()
    receipts.delete()


def set_technique(
    order: ProductionOrder, technique: str, *, sizes: list[str] | None = None
) -> None:
    """Print these sizes (all by default) of an order with `technique`: the services make every
    line direct-to-garment, so tests change the lines as a data repair would, then let the
    services recompute the order's techniques (`technique_bits`)."""
    lines = LineItem.objects.filter(order=order)
    if sizes is not None:
        lines = lines.filter(size__in=sizes)
    lines.update(technique=technique)
    refresh_technique_bits([order.pk])
    order.refresh_from_db()


def png_bytes(size: tuple[int, int] = (40, 30), color: str = "navy") -> bytes:
    """A small, real PNG (a proof mockup as far as the shop can tell)."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def proof_upload(
    content: bytes | None = None, name: str = "mockup.png", content_type: str = "image/png"
) -> object:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png_bytes() if content is None else content, content_type)


def make_proof(
    order: ProductionOrder, *, notes: str = "Chest, 25 cm wide", operator: object | None = None
) -> object:
    """The next proof revision of a submitted order, sent through the service."""
    return send_proof(
        order=order.pk, file=proof_upload(), notes=notes, actor=operator or operator_user()
    )
