"""Nothing waits for the artwork check (issue 24, decision 0069): the order form, Pay and the API
answer at once; while a check runs (within PREFLIGHT_PENDING_HOLD) the customer lands on their
order page, which shows the check's progress and offers "Continue to payment" once the verdict
allows it; a worker that is down holds the payment for the hold only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from artwork.models import PreflightReport, Verdict, order_gate
from artwork.tasks import request_preflight
from payments.services import start_checkout
from production.lifecycle import artwork_hold_until, artwork_refusal
from production.models import OrderDesign, Placement, ProductionOrder
from production.realtime.frames import frames_for
from tests.artwork.test_preflight import artwork, order_with_design, png
from tests.factories import make_order
from tests.ops.test_tickets_designs import design_server
from tests.payments.test_order_form import form_data

pytestmark = pytest.mark.usefixtures("_public_test_site", "_hold")

HOLD = 30


@pytest.fixture
def _public_test_site(settings):
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    settings.SITE_URL = "https://shop.example.com"


@pytest.fixture
def _hold(settings):
    settings.PREFLIGHT_PENDING_HOLD = HOLD


def queued_ago(order: ProductionOrder, seconds: float) -> None:
    """The order's checks were queued `seconds` ago (a worker that has not picked them up)."""
    PreflightReport.objects.filter(order=order).update(
        requested_at=timezone.now() - timedelta(seconds=seconds)
    )


def page_of(client: Client, order: ProductionOrder) -> str:
    return client.get(reverse("order-detail", args=[order.pk])).content.decode()


# --- the rulebook ---------------------------------------------------------------------------


def test_a_running_check_holds_the_payment_for_the_hold_only():
    queued = timezone.now()

    held = artwork_refusal("pending", acknowledged=False, queued_at=queued, now=queued)
    later = queued + timedelta(seconds=HOLD)

    assert "being checked" in held and f"at most {HOLD} seconds" in held
    assert artwork_refusal("pending", acknowledged=False, queued_at=queued, now=later) is None
    assert artwork_hold_until("pending", queued_at=queued) == later
    assert artwork_hold_until("pass", queued_at=queued) is None
    # What the customer must do is said whatever the hold: a fail, unread warnings.
    assert "will not print well" in artwork_refusal("fail", acknowledged=False, now=later)
    assert "warnings" in artwork_refusal("warning", acknowledged=False, now=later)
    assert artwork_refusal("unchecked", acknowledged=False) is None


def test_a_known_fail_stops_the_payment_while_another_design_is_still_checked(
    monkeypatch, customer, task_worker
):
    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(40)), customer)
        request_preflight(order)
        assert task_worker() == ["fail"]
    # A second design, queued long ago, never checked (its worker is down).
    back, _ = Placement.objects.get_or_create(
        garment=order.garment,
        code="back",
        defaults={"name": "Back", "width_in": 12, "height_in": 16, "position": 2},
    )
    design = OrderDesign.objects.create(
        order=order, placement=back, url="https://cdn.example.com/back.png"
    )
    PreflightReport.objects.create(
        design=design,
        order=order,
        url=design.url,
        requested_at=timezone.now() - timedelta(seconds=HOLD * 10),
    )

    gate = order_gate(order)

    assert gate.verdict == Verdict.FAIL
    assert "will not print well" in gate.refusal


# --- the order form, Pay, the order page ------------------------------------------------------


def test_the_order_form_lands_on_the_order_page_showing_the_check_in_progress(customer, garment):
    client = Client()
    client.force_login(customer)

    response = client.post("/orders/new/", form_data(garment))

    order = ProductionOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"https://shop.example.com/orders/{order.pk}/"
    assert order.stripe_checkout_session_id is None  # no payment yet: the check runs
    page = page_of(client, order)
    assert "Checking your artwork… payment opens here as soon as the check is done." in page
    assert 'id="pay-offer" hidden' in page
    assert "Checking your artwork… the result appears here in a few seconds" in page
    assert "Payment waits for the artwork." not in page  # progress, not a refusal
    assert 'class="messages"' not in page  # no error: the page shows progress


def test_pay_while_the_check_runs_shows_progress_not_an_error(customer):
    order = make_order(owner=customer)
    client = Client()
    client.force_login(customer)

    response = client.post(reverse("payments:pay", args=[order.pk]), follow=True)

    assert response.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    page = response.content.decode()
    assert "Checking your artwork…" in page
    assert 'class="messages"' not in page and "Payment waits for the artwork." not in page
    assert ProductionOrder.objects.get(pk=order.pk).stripe_checkout_session_id is None


def test_the_verdict_arrives_live_and_payment_is_offered_at_once(
    monkeypatch,
    customer,
    task_worker,
    layer_sends,
    django_capture_on_commit_callbacks,
):
    client = Client()
    client.force_login(customer)
    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(2400)), customer)
        assert start_checkout(order=order) == f"https://shop.example.com/orders/{order.pk}/"
        fragment = client.get(reverse("artwork:report", args=[order.pk])).content.decode()
        assert 'data-verdict="pending"' in fragment
        assert 'data-pay-waits="Checking your artwork' in fragment

        with django_capture_on_commit_callbacks(execute=True):
            assert task_worker() == ["pass"]

    # The order page's socket hears the order with its verdict, and refetches the section.
    frames = [json.loads(f["text"]) for _, message in layer_sends for f in frames_for(message)]
    [pushed] = [
        f["order"] for f in frames if f["type"] == "order.updated" and "events" in f["order"]
    ]
    assert pushed["preflight"]["verdict"] == "pass"
    assert pushed["preflight"]["refusal"] is None
    fragment = client.get(reverse("artwork:report", args=[order.pk])).content.decode()
    assert 'data-verdict="pass"' in fragment and 'data-pay-waits=""' in fragment
    page = page_of(client, order)
    assert 'id="pay-waits" hidden' in page
    assert "Continue to payment</button>" in page
    # Continue to payment: the checkout, at once.
    paid = client.post(reverse("payments:pay", args=[order.pk]))
    assert "/payments/checkout/" in paid["Location"]


def test_warnings_and_fails_keep_their_flows_after_the_check(monkeypatch, customer, task_worker):
    client = Client()
    client.force_login(customer)
    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(2400, alpha=120)), customer)
        request_preflight(order)
        assert task_worker() == ["warning"]

    page = page_of(client, order)

    assert "Payment waits for the artwork check below." in page
    assert "I have read the warnings" in page
    assert 'id="pay-offer" hidden' in page


def test_a_worker_that_is_down_holds_the_payment_for_the_hold_only(customer):
    order = make_order(owner=customer)
    request_preflight(order)
    assert start_checkout(order=order).endswith(f"/orders/{order.pk}/")

    queued_ago(order, HOLD + 1)

    assert "/payments/checkout/" in start_checkout(order=ProductionOrder.objects.get(pk=order.pk))
    assert PreflightReport.objects.get(order=order).verdict == Verdict.PENDING  # still to check
    client = Client()
    client.force_login(customer)
    page = page_of(client, order)
    assert "you can pay now, and the shop sees the result before printing" in page
    assert 'id="pay-waits" hidden' in page


# --- the API ---------------------------------------------------------------------------------


def test_the_api_answers_at_once_and_says_why_the_payment_waits(customer_api, garment):
    request = {
        "garmentId": garment.shopify_gid,
        "designUrl": "https://cdn.example.com/design.png",
        "sizes": [{"size": "M", "quantity": 2}],
    }
    response = customer_api.post(
        "/api/production", request, format="json", HTTP_IDEMPOTENCY_KEY="script-1"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["checkoutUrl"] == f"https://shop.example.com/orders/{body['orderId']}/"
    preflight = body["preflight"]
    assert preflight["verdict"] == "pending"
    assert "being checked" in preflight["refusal"]
    report = PreflightReport.objects.get(order_id=body["orderId"])
    assert preflight["holdUntil"] == (
        (report.requested_at + timedelta(seconds=HOLD)).isoformat().replace("+00:00", "Z")
    )
    detail = customer_api.get(f"/api/production/{body['orderId']}").json()["order"]
    assert detail["preflight"]["refusal"] == preflight["refusal"]
    assert detail["checkoutUrl"] is None

    # Once the check no longer holds the payment, the same request gives Stripe's URL.
    queued_ago(ProductionOrder.objects.get(pk=body["orderId"]), HOLD + 1)
    again = customer_api.post(
        "/api/production", request, format="json", HTTP_IDEMPOTENCY_KEY="script-1"
    ).json()
    assert again["orderId"] == body["orderId"]
    assert "/payments/checkout/" in again["checkoutUrl"]
    assert again["preflight"]["refusal"] is None


def test_the_hold_is_the_settings(settings, customer):
    settings.PREFLIGHT_PENDING_HOLD = 0
    order = make_order(owner=customer)

    assert "/payments/checkout/" in start_checkout(order=order)
    assert order_gate(order).refusal is None
