"""The real-key path: the stripe SDK against a local fake Stripe that records each request."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from payments.models import ProcessedEvent
from payments.services import start_checkout
from production.lifecycle import OrderState
from production.models import FulfillmentEvent, ProductionOrder
from production.pricing import SizeQuantity
from production.services.orders import create_draft_order
from tests.factories import make_order
from tests.payments.fake_stripe import FakeStripe
from tests.payments.stripe_events import checkout_session, deliver, stripe_event

pytestmark = pytest.mark.django_db

ORDER = {
    "designUrl": "https://ucarecdn.com/abc/design.png",
    "garmentId": "gid://shopify/Product/123456",
    "sizes": [{"size": "M", "quantity": 2}, {"size": "XXL", "quantity": 3}],
    "priority": "standard",
}


@pytest.fixture
def fake_stripe(settings):
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake_key"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_real_key_path"
    settings.SITE_URL = "https://shop.example.com"
    yield fake
    fake.stop()


def test_checkout_session_is_priced_on_the_server(customer_api, customer, garment, fake_stripe):
    # The client sends no price; anything price-like it adds is ignored.
    response = customer_api.post(
        "/api/production", {**ORDER, "amount": 1, "unitAmount": 1}, format="json"
    )

    assert response.status_code == 201
    order = ProductionOrder.objects.get()
    [request] = fake_stripe.requests
    assert (request["method"], request["path"]) == ("POST", "/v1/checkout/sessions")
    assert request["headers"]["Authorization"] == "Bearer sk_test_fake_key"
    assert request["headers"]["Idempotency-Key"] == f"checkout-order-{order.pk}"
    form = request["form"]
    assert form["mode"] == "payment"
    assert form["client_reference_id"] == str(order.pk)
    # 2 × M at 18.00 and 3 × XXL at 18.00 + 2.00, in cents, in the garment's currency.
    assert [
        (
            form[f"line_items[{i}][price_data][product_data][name]"],
            form[f"line_items[{i}][price_data][unit_amount]"],
            form[f"line_items[{i}][price_data][currency]"],
            form[f"line_items[{i}][quantity]"],
        )
        for i in range(2)
    ] == [
        ("Classic Tee — M", "1800", "usd", "2"),
        ("Classic Tee — XXL", "2000", "usd", "3"),
    ]
    assert "line_items[2][quantity]" not in form
    assert form["metadata[orderId]"] == str(order.pk)
    assert form["metadata[userId]"] == str(customer.pk)
    assert form["metadata[garmentId]"] == "gid://shopify/Product/123456"
    assert form["metadata[designUrl]"] == ORDER["designUrl"]
    assert form["metadata[sizes]"] == '[{"size":"M","quantity":2},{"size":"XXL","quantity":3}]'
    assert form["payment_intent_data[metadata][orderId]"] == str(order.pk)
    assert form["success_url"] == f"https://shop.example.com/orders/{order.pk}/?checkout=success"
    assert form["cancel_url"] == f"https://shop.example.com/orders/{order.pk}/?checkout=canceled"
    assert form["customer_email"] == "customer@example.com"

    assert response.json()["checkoutUrl"] == "https://checkout.stripe.com/c/pay/cs_test_fake0001"
    assert order.stripe_checkout_session_id == "cs_test_fake0001"
    assert fake_stripe.sessions["cs_test_fake0001"]["amount_total"] == order.total_amount == 9600


def test_rush_surcharge_is_its_own_line_item(customer_api, garment, fake_stripe):
    response = customer_api.post(
        "/api/production",
        {**ORDER, "sizes": [{"size": "M", "quantity": 3}], "priority": "rush"},
        format="json",
    )

    assert response.status_code == 201
    form = fake_stripe.requests[0]["form"]
    assert (form["line_items[0][price_data][unit_amount]"], form["line_items[0][quantity]"]) == (
        "1800",
        "3",
    )
    assert form["line_items[1][price_data][product_data][name]"] == "Rush production"
    assert (form["line_items[1][price_data][unit_amount]"], form["line_items[1][quantity]"]) == (
        "1350",
        "1",
    )
    assert ProductionOrder.objects.get().total_amount == 6750


def test_metadata_too_long_for_stripe_is_left_out_but_the_order_keeps_it(
    customer_api, garment, fake_stripe
):
    long_url = "https://cdn.example.com/" + "d" * 600 + ".png"

    response = customer_api.post("/api/production", {**ORDER, "designUrl": long_url}, format="json")

    assert response.status_code == 201
    form = fake_stripe.requests[0]["form"]
    assert "metadata[designUrl]" not in form
    assert form["metadata[orderId]"]
    assert ProductionOrder.objects.get().design_url == long_url


def test_stripe_error_answers_500_and_leaves_the_draft_intact(customer_api, garment, fake_stripe):
    fake_stripe.fail_with = (
        400,
        {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
    )

    response = customer_api.post("/api/production", ORDER, format="json")

    assert response.status_code == 500
    assert response.json() == {"error": "Internal error"}
    order = ProductionOrder.objects.get()
    assert order.status == OrderState.DRAFT
    assert (order.stripe_checkout_session_id, order.checkout_url) == (None, "")
    assert [e.message for e in order.events.all()] == ["Order created, awaiting payment"]


def test_a_retried_create_reuses_the_idempotency_key(customer_api, garment, fake_stripe):
    fake_stripe.fail_with = (503, {"error": {"type": "api_error", "message": "Try again"}})
    headers = {"Idempotency-Key": "client-retry-1"}

    first = customer_api.post("/api/production", ORDER, format="json", headers=headers)
    fake_stripe.fail_with = None
    second = customer_api.post("/api/production", ORDER, format="json", headers=headers)

    assert (first.status_code, second.status_code) == (500, 201)
    order = ProductionOrder.objects.get()
    keys = {r["headers"]["Idempotency-Key"] for r in fake_stripe.requests}
    assert keys == {f"checkout-order-{order.pk}"}
    # The SDK retried the 503 itself before giving up, with the same key.
    assert len(fake_stripe.requests) > 2


class TestReconcile:
    @pytest.fixture
    def drafts(self, customer, garment, fake_stripe):
        orders = []
        for _ in range(3):
            order = make_order(owner=customer, garment=garment)
            start_checkout(order=order)
            orders.append(ProductionOrder.objects.get(pk=order.pk))
        paid, expired, still_open = orders
        fake_stripe.sessions[paid.stripe_checkout_session_id].update(
            status="complete", payment_status="paid", payment_intent="pi_fake"
        )
        fake_stripe.sessions[expired.stripe_checkout_session_id].update(status="expired")
        fake_stripe.requests.clear()
        return paid, expired, still_open

    def run(self, *args):
        out = StringIO()
        call_command("reconcile_payments", *args, stdout=out, stderr=StringIO())
        return out.getvalue()

    def test_submits_paid_and_cancels_expired_sessions(self, drafts, fake_stripe):
        paid, expired, still_open = drafts

        output = self.run()

        states = {o.reference: o.status for o in ProductionOrder.objects.all()}
        assert states == {
            paid.reference: OrderState.SUBMITTED,
            expired.reference: OrderState.CANCELED,
            still_open.reference: OrderState.DRAFT,
        }
        assert [(r["method"], r["path"]) for r in fake_stripe.requests] == [
            ("GET", f"/v1/checkout/sessions/{o.stripe_checkout_session_id}")
            for o in (paid, expired, still_open)
        ]
        assert f"{paid.reference} {paid.stripe_checkout_session_id}" in output
        assert "payment_status=paid: submitted" in output
        assert "status=expired payment_status=unpaid: canceled" in output
        assert "status=open payment_status=unpaid: left as is" in output
        assert "2 order(s) changed." in output
        queued = FulfillmentEvent.objects.get(order=paid, status="Queued")
        assert queued.message == "Payment confirmed, order queued"

    def test_a_second_run_and_a_late_webhook_change_nothing(self, drafts, client):
        paid = drafts[0]
        self.run()
        events_before = FulfillmentEvent.objects.count()

        output = self.run()
        late = deliver(
            client,
            stripe_event("checkout.session.completed", checkout_session(paid), "evt_late"),
        )

        assert "0 order(s) changed." in output
        assert late.json()["outcome"] == "unchanged"
        assert FulfillmentEvent.objects.count() == events_before

    def test_dry_run_changes_nothing(self, drafts):
        output = self.run("--dry-run")

        assert set(ProductionOrder.objects.values_list("status", flat=True)) == {"draft"}
        assert "payment_status=paid" in output
        assert not ProcessedEvent.objects.exists()

    def test_stripe_errors_are_reported_and_fail_the_command(self, drafts, fake_stripe):
        fake_stripe.fail_with = (401, {"error": {"type": "invalid_request_error"}})

        with pytest.raises(CommandError, match="3 session"):
            self.run()
        assert set(ProductionOrder.objects.values_list("status", flat=True)) == {"draft"}


def test_reconcile_without_a_key_says_there_is_nothing_to_do(settings, db):
    settings.STRIPE_SECRET_KEY = ""
    out = StringIO()

    call_command("reconcile_payments", stdout=out)

    assert "nothing to reconcile" in out.getvalue()


def test_shipping_is_checkouts_shipping_option_not_a_line_item(
    customer, garment, fake_stripe, settings
):
    settings.SHIPPING_RATES = {"US": 650}
    order = create_draft_order(
        owner=customer,
        garment_gid=garment.shopify_gid,
        design_url="https://cdn.example.com/d.png",
        sizes=[SizeQuantity("M", 1)],
        shipping={
            "name": "Ada",
            "address1": "19749 Dearborn St",
            "city": "Chatsworth",
            "stateCode": "CA",
            "countryCode": "US",
            "zip": "91311",
        },
    )
    start_checkout(order=order, request=None)

    form = fake_stripe.requests[0]["form"]
    assert "line_items[1][price_data][unit_amount]" not in form  # the garment's line only
    option = "shipping_options[0][shipping_rate_data]"
    assert form[f"{option}[type]"] == "fixed_amount"
    assert form[f"{option}[fixed_amount][amount]"] == "650"
    assert form[f"{option}[fixed_amount][currency]"] == "usd"
    assert form[f"{option}[display_name]"] == "Shipping"
    # The address is the order's already: Checkout does not ask for it again.
    assert not any(key.startswith("shipping_address_collection") for key in form)
    assert order.total_amount == 1800 + 650


def test_an_order_without_an_address_has_checkout_collect_it(
    customer, garment, fake_stripe, settings
):
    # The reference API's request (no `shipping`, no `delivery`): Stripe's page asks for the
    # address, in the countries shipped to; its shipping is what the order was priced with.
    settings.SHIPPING_COUNTRIES = ["US", "CA", "GB"]
    settings.SHIPPING_RATE = 900
    order = create_draft_order(
        owner=customer,
        garment_gid=garment.shopify_gid,
        design_url="https://cdn.example.com/d.png",
        sizes=[SizeQuantity("M", 1)],
    )
    start_checkout(order=order, request=None)

    form = fake_stripe.requests[0]["form"]
    countries = [form[f"shipping_address_collection[allowed_countries][{i}]"] for i in range(3)]
    assert countries == ["US", "CA", "GB"]
    assert form["shipping_options[0][shipping_rate_data][fixed_amount][amount]"] == "0"
    assert order.total_amount == 1800


def test_an_order_for_pickup_has_no_shipping_at_checkout(customer, garment, fake_stripe, settings):
    settings.PICKUP_ADDRESS = "12 Mill Lane"
    order = create_draft_order(
        owner=customer,
        garment_gid=garment.shopify_gid,
        design_url="https://cdn.example.com/d.png",
        sizes=[SizeQuantity("M", 1)],
        delivery="pickup",
    )
    start_checkout(order=order, request=None)

    form = fake_stripe.requests[0]["form"]
    assert not any(key.startswith("shipping_") for key in form)


def test_the_order_forms_address_reaches_stripe_as_the_shipping_option(
    customer, garment, fake_stripe, settings
):
    # Our form collects and checks the address (decision 0060); Checkout gets its shipping cost.
    settings.SHIPPING_RATES = {"US": 650}
    client = Client()
    client.force_login(customer)
    response = client.post(
        "/orders/new/",
        {
            "garment": garment.shopify_gid,
            "design_url": "https://cdn.example.com/design.png",
            "priority": "standard",
            "form_token": "token-stripe",
            "qty_m": "1",
            "delivery": "shipping",
            "ship_name": "Ada",
            "ship_address1": "19749 Dearborn St",
            "ship_city": "Chatsworth",
            "ship_state": "CA",
            "ship_zip": "91311",
            "ship_country": "US",
        },
    )

    assert response.status_code == 302
    form = fake_stripe.requests[0]["form"]
    assert form["shipping_options[0][shipping_rate_data][fixed_amount][amount]"] == "650"
    assert "shipping_address_collection[allowed_countries][0]" not in form
    assert ProductionOrder.objects.get().total_amount == 1800 + 650
