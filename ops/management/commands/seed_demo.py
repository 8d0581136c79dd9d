"""Demo catalogue, users and one sample order in every state. Safe to run again.

In ops, the layer that may use both the order domain and payments (the paid orders go through
the checkout simulator's path; `production` never imports `payments`: see pyproject.toml's
import contracts)."""

import os
from decimal import Decimal
from io import BytesIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from PIL import Image, ImageDraw

from artwork.tasks import request_preflight
from payments.simulator import pay_locally
from production.accounts.access import operators_group
from production.lifecycle import (
    EventSource,
    OrderState,
    Priority,
    ProductionStatus,
    walk_from_payment,
)
from production.models import Garment, ProductionOrder
from production.pricing import SizeQuantity
from production.services.catalogue import (
    ColorSpec,
    PlacementDesign,
    PlacementSpec,
    upsert_catalogue,
)
from production.services.orders import cancel_unpaid_order, create_draft_order, update_order
from production.services.proofs import send_proof
from production.services.shipping import ShipLine, record_shipment
from shopify import catalogue as store_catalogue
from shopify import client as store_client
from shopify import demo as store_demo
from shopify import services as store_services
from shopify.models import FulfilmentPush

GARMENTS = [
    {
        "shopify_gid": "gid://shopify/Product/123456",
        "name": "Classic Cotton Tee",
        # A static file of the demo's (made absolute on this site when seeded, like the designs).
        "image_url": "demo/garments/classic-tee.svg",
        "sizes": ["XS", "S", "M", "L", "XL", "XXL"],
        "base_price": 1800,
        "size_upcharges": {"XXL": 200},
        "techniques": ["dtg", "screen"],
    },
    {
        "shopify_gid": "gid://shopify/Product/234567",
        "name": "Heavyweight Hoodie",
        "image_url": "demo/garments/heavyweight-hoodie.svg",
        "sizes": ["S", "M", "L", "XL", "XXL"],
        "base_price": 4200,
        "size_upcharges": {"XXL": 300},
        "techniques": ["dtg", "screen", "embroidery"],
    },
    {
        "shopify_gid": "gid://shopify/Product/345678",
        "name": "Organic Tote Bag",
        "image_url": "demo/garments/organic-tote-bag.svg",
        "sizes": ["One Size"],
        "base_price": 1200,
        "size_upcharges": {},
        "techniques": ["screen"],
    },
]

# Colours and print placements by garment (the first colour is the default). Black needs a white
# underbase on the press: the demo has a dark-garment order.
IN = Decimal
CATALOGUE = {
    "gid://shopify/Product/123456": (
        [
            ColorSpec("White", "#ffffff", default=True),
            ColorSpec("Black", "#111111"),
            ColorSpec("Heather Grey", "#9ca3af", sizes=["S", "M", "L", "XL"]),
        ],
        [
            PlacementSpec("front", IN("12"), IN("16")),
            PlacementSpec("back", IN("12"), IN("16"), unit_amount=500),
            PlacementSpec("left_sleeve", IN("3.5"), IN("3.5"), unit_amount=300),
            PlacementSpec("right_sleeve", IN("3.5"), IN("3.5"), unit_amount=300),
        ],
    ),
    "gid://shopify/Product/234567": (
        [ColorSpec("Charcoal", "#374151", default=True), ColorSpec("Black", "#111111")],
        [
            PlacementSpec("front", IN("12"), IN("12")),
            PlacementSpec("back", IN("14"), IN("16"), unit_amount=600),
        ],
    ),
    "gid://shopify/Product/345678": (
        [ColorSpec("Natural", "#f5f0e1", default=True)],
        [PlacementSpec("front", IN("14"), IN("14"))],
    ),
}

# (email, first name, role): customers, an operator (/ops/) and support staff (/admin/).
USERS = [
    ("customer@example.com", "Casey", "customer"),
    ("other@example.com", "Olive", "customer"),
    ("operator@example.com", "Oscar", "operator"),
    ("support@example.com", "Sam", "support"),
]

SUPPORT_GROUP = "Support"
# Support staff read orders and their e-mails in the admin and change an order through the
# admin's "change through the service" page; they are not operators (no /ops/ dashboard).
SUPPORT_PERMISSIONS = [
    "view_productionorder",
    "change_productionorder",
    "view_lineitem",
    "view_fulfillmentevent",
    "view_artworkproof",
    "view_ordernote",
    "view_outgoingemail",
    "view_garment",
    "view_garmentcolor",
    "view_placement",
    "view_orderdesign",
    # Stock: support marks a variant out of stock in the admin (orders for it are refused).
    "view_variant",
    "change_variant",
]


# ... and what was paid and refunded (the payments app's read-only admin pages).
SUPPORT_PAYMENT_PERMISSIONS = ["view_payment", "view_refund", "view_processedevent"]
# ... and the floor's own logs: job-ticket batches (why a large print failed) and station scans.
SUPPORT_OPS_PERMISSIONS = ["view_ticketbatch", "view_stationscan"]
# ... and the store's: its webhooks, its orders (why one waits), the fulfilments sent back.
SUPPORT_STORE_PERMISSIONS = ["view_webhookdelivery", "view_storeorder", "view_fulfilmentpush"]


def support_group() -> Group:
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="production", codename__in=SUPPORT_PERMISSIONS
        ),
        *Permission.objects.filter(
            content_type__app_label="payments", codename__in=SUPPORT_PAYMENT_PERMISSIONS
        ),
        *Permission.objects.filter(
            content_type__app_label="ops", codename__in=SUPPORT_OPS_PERMISSIONS
        ),
        *Permission.objects.filter(
            content_type__app_label="shopify", codename__in=SUPPORT_STORE_PERMISSIONS
        ),
    )
    return group


# Demo designs ship with the app (static/demo/), so the demo looks right offline too. Order design
# URLs are absolute, as customers give them: the site's own address, SITE_URL (`make run` sets it).
DESIGNS = 7
DEFAULT_SITE_URL = "http://127.0.0.1:8000"


# The demo's ship-to address (a real-format US address, so the per-country check passes).
DEMO_ADDRESS = {
    "name": "Casey Customer",
    "address1": "742 Evergreen Terrace",
    "city": "Springfield",
    "stateCode": "OR",
    "countryCode": "US",
    "zip": "97477",
}


def design_url(index: int) -> str:
    return static_file_url(f"demo/design-{index % DESIGNS}.svg")


def static_file_url(name: str) -> str:
    """The absolute URL of one of the site's static files (a design or a garment picture)."""
    static_url = settings.STATIC_URL
    if static_url.startswith(("http://", "https://")):  # static files on a CDN
        return f"{static_url.rstrip('/')}/{name}"
    base = (settings.SITE_URL or DEFAULT_SITE_URL).rstrip("/")
    return f"{base}/{static_url.strip('/')}/{name}"


# (final state, priority, sizes as (size, quantity[, colour])): each order is walked there
# through the services.
SAMPLES = [
    (OrderState.DRAFT, Priority.STANDARD, [("M", 2), ("L", 3)]),
    (OrderState.SUBMITTED, Priority.RUSH, [("S", 10), ("M", 15)]),
    (OrderState.APPROVED, Priority.STANDARD, [("L", 4)]),
    (OrderState.APPROVED, Priority.HOLD, [("XL", 6)]),
    # Black tees printed front and back: a dark garment, two placements.
    (OrderState.IN_PRODUCTION, Priority.RUSH, [("M", 20, "Black"), ("XXL", 5, "Black")]),
    (OrderState.FULFILLED, Priority.STANDARD, [("S", 1), ("M", 1)]),
    (OrderState.CANCELED, Priority.STANDARD, [("L", 2)]),
]


class Command(BaseCommand):
    help = "Load demo garments, users (password DEMO_PASSWORD, default 'demo') and sample orders."

    def handle(self, *args, **options) -> None:
        password = os.environ.get("DEMO_PASSWORD", "demo")
        for spec in GARMENTS:
            garment, _ = Garment.objects.update_or_create(
                shopify_gid=spec["shopify_gid"],
                defaults={
                    **spec,
                    "currency": "usd",
                    "image_url": static_file_url(spec["image_url"]),
                    "is_active": True,
                },
            )
            colors, placements = CATALOGUE[garment.shopify_gid]
            upsert_catalogue(garment, colors=colors, placements=placements)
        User = get_user_model()
        groups = {"operator": operators_group(), "support": support_group()}
        users = {}
        for email, first_name, role in USERS:
            user, created = User.objects.get_or_create(
                username=email, defaults={"email": email, "first_name": first_name}
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            if role == "support" and not user.is_staff:
                user.is_staff = True  # may log in to /admin/; the group says what they see there
                user.save(update_fields=["is_staff"])
            if role in groups:
                user.groups.add(groups[role])
            users[email] = user

        customer, operator = users["customer@example.com"], users["operator@example.com"]
        if ProductionOrder.objects.filter(owner=customer).exists():
            self.stdout.write("Demo data already present; nothing added.")
            return
        for index, (state, priority, sizes) in enumerate(SAMPLES):
            self._make_order(customer, operator, index, state, priority, sizes)
        self._send_demo_proof(customer, operator)
        self._ship_demo_order(customer, operator)
        # Where orders go: one paid order to ship to an address, one to pick up (where the shop
        # has a PICKUP_ADDRESS, as `make run` sets).
        self._make_order(
            customer,
            operator,
            8,
            OrderState.SUBMITTED,
            Priority.STANDARD,
            [("L", 2)],
            delivery="shipping",
            shipping=DEMO_ADDRESS,
        )
        if settings.PICKUP_ADDRESS:
            self._make_order(
                customer,
                operator,
                9,
                OrderState.SUBMITTED,
                Priority.STANDARD,
                [("M", 1)],
                delivery="pickup",
            )
        self._make_order(
            users["other@example.com"],
            operator,
            99,
            OrderState.SUBMITTED,
            Priority.STANDARD,
            [("M", 1)],
        )
        if store_demo.simulator_in_use():
            self._store_orders(operator)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {ProductionOrder.objects.count()} orders. "
                "Log in as customer@example.com, operator@example.com (/ops/orders) or "
                f"support@example.com (/admin/), password {password!r}."
            )
        )

    def _send_demo_proof(self, customer, operator) -> None:
        """Proof 1 on the customer's first paid order: the demo shows Approve / Request changes."""
        order = (
            ProductionOrder.objects.filter(owner=customer, status=OrderState.SUBMITTED)
            .order_by("created_at")
            .first()
        )
        if order is None:
            return
        mockup = Image.new("RGB", (480, 560), "#e5e7eb")  # the garment
        ImageDraw.Draw(mockup).rectangle((150, 160, 330, 340), fill="#1d4ed8")  # the print
        out = BytesIO()
        mockup.save(out, format="PNG")
        send_proof(
            order=order.pk,
            file=SimpleUploadedFile("mockup.png", out.getvalue(), "image/png"),
            notes="Centred on the chest, 18 cm wide, 9 cm below the collar.",
            actor=operator,
        )

    def _ship_demo_order(self, customer, operator) -> None:
        """A Ready order with its first parcel out: the demo shows "2 of 5 items shipped", the
        tracking link, and the ops shipment form for the rest."""
        self._make_order(
            customer, operator, 7, OrderState.IN_PRODUCTION, Priority.STANDARD, [("M", 2), ("L", 3)]
        )
        order = ProductionOrder.objects.filter(owner=customer).order_by("-created_at").first()
        update_order(
            order=order,
            actor=operator,
            source=EventSource.OPERATOR,
            production_status=ProductionStatus.READY,
        )
        first_line = order.line_items.order_by("id").first()
        record_shipment(
            order=order.pk,
            carrier="ups",
            tracking_number="1Z999AA10123456784",
            items=[ShipLine(first_line.pk, first_line.quantity)],
            actor=operator,
        )

    def _store_orders(self, operator) -> None:
        """Two orders of the local store simulator (make run), arrived through signed webhooks
        as Shopify sends them: one Ready with its first parcel sent back to the store as a
        fulfilment, one on hold because its line item carries no design."""
        store_catalogue.sync_catalogue(store_client.get_client())
        received = store_demo.send(store_demo.demo_paid_order(design_url(2)))
        store_services.process_delivery(received.delivery_id)  # as the task worker would
        order = ProductionOrder.objects.filter(store_orders__isnull=False).latest("created_at")
        for change in walk_from_payment(OrderState.IN_PRODUCTION, ProductionStatus.READY):
            update_order(order=order, actor=operator, source=EventSource.OPERATOR, **change)
        first_line = order.line_items.order_by("id").first()
        shipment = record_shipment(
            order=order.pk,
            carrier="usps",
            tracking_number="9400111899223197428490",
            items=[ShipLine(first_line.pk, first_line.quantity)],
            actor=operator,
        )
        store_services.push_fulfilment(FulfilmentPush.objects.get(shipment=shipment).pk)
        held = store_demo.send(store_demo.demo_paid_order(None))
        store_services.process_delivery(held.delivery_id)

    def _make_order(
        self,
        owner,
        operator,
        index: int,
        state: OrderState,
        priority: Priority,
        sizes: list[tuple],
        *,
        delivery: str | None = None,
        shipping: dict[str, str] | None = None,
    ) -> None:
        # Hold is set after payment, so the held sample shows a paused, paid order.
        order = create_draft_order(
            owner=owner,
            garment_gid=GARMENTS[index % 2]["shopify_gid"],
            design_url=design_url(index),
            sizes=[SizeQuantity(*line) for line in sizes],
            priority=Priority.STANDARD if priority == Priority.HOLD else priority,
            notes="Demo order",
            # The dark-garment sample also prints its back.
            designs=[PlacementDesign("back", design_url(index + 1))]
            if any(len(line) > 2 for line in sizes)
            else [],
            delivery=delivery,
            shipping=shipping,
        )
        # Its artwork checked by the worker (`make run` runs one), as an order placed on the form
        # or the API is: the demo's pages show verdicts and mockups, not "Not checked yet".
        request_preflight(order)
        if state == OrderState.DRAFT:
            return
        if state == OrderState.CANCELED:
            cancel_unpaid_order(order=order, reason="Checkout expired (demo)")
            return
        # Paid as the checkout simulator pays: its Payment is on record, so a refund works.
        paid = pay_locally(order, base_url=settings.SITE_URL or DEFAULT_SITE_URL)
        if paid.outcome != "submitted":
            raise CommandError(f"Demo order {order.reference} was not paid: {paid.detail}")
        if priority == Priority.HOLD:
            update_order(
                order=order,
                actor=operator,
                source=EventSource.OPERATOR,
                priority=Priority.HOLD,
                note="Waiting for artwork approval",
            )
        # In production, the demo order is half done: printed, now finishing.
        step = ProductionStatus.FINISHING if state == OrderState.IN_PRODUCTION else None
        for change in walk_from_payment(state, step, priority=priority):
            update_order(order=order, actor=operator, source=EventSource.OPERATOR, **change)
