"""`manage.py seed_demo`: what `make run` shows a newcomer (it sits on ops, the layer that may
use both production and payments)."""

from pathlib import Path

import pytest
from django.core.management import call_command

from production.accounts.access import is_operator
from production.lifecycle import OrderState
from production.models import Garment, OrderDesign, ProductionOrder

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_every_state_once(django_user_model, settings):
    settings.PICKUP_ADDRESS = ""
    call_command("seed_demo")
    call_command("seed_demo")
    assert Garment.objects.filter(shopify_gid="gid://shopify/Product/123456").exists()
    states = set(ProductionOrder.objects.values_list("status", flat=True))
    assert states == set(OrderState.values)
    assert ProductionOrder.objects.count() == 10
    users = {u.email: u for u in django_user_model.objects.all()}
    assert {"customer@example.com", "other@example.com", "operator@example.com"} <= set(users)
    assert is_operator(users["operator@example.com"])
    assert not is_operator(users["customer@example.com"])
    assert users["customer@example.com"].check_password("demo")
    # One of the customer's paid orders waits for their answer to a proof.
    [waiting] = ProductionOrder.objects.filter(waiting_proof_revision=1)
    assert waiting.owner == users["customer@example.com"]


def test_demo_support_staff_use_the_admin_but_not_the_ops_dashboard(client, django_user_model):
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: the group keeps exactly its permissions
    support = django_user_model.objects.get(email="support@example.com")
    assert support.is_staff and not support.is_superuser
    assert [g.name for g in support.groups.all()] == ["Support"]
    assert support.check_password("demo")
    assert not is_operator(support)
    order = ProductionOrder.objects.filter(owner__email="customer@example.com").first()
    client.force_login(support)
    assert client.get("/admin/").status_code == 200
    page = client.get(f"/admin/production/productionorder/{order.pk}/change/")
    assert page.status_code == 200 and order.reference in page.content.decode()
    assert client.get("/admin/production/outgoingemail/").status_code == 200
    assert client.get("/admin/ops/ticketbatch/").status_code == 200
    assert client.get("/admin/ops/stationscan/").status_code == 200
    assert client.get("/admin/payments/refund/").status_code == 200
    service = f"/admin/production/productionorder/{order.pk}/change-through-service/"
    assert client.get(service).status_code == 200
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get("/ops/orders").status_code == 403


def test_demo_designs_are_served_by_the_site_itself(settings):
    settings.SITE_URL = "http://127.0.0.1:8123"
    call_command("seed_demo")
    static_dir = Path(__file__).resolve().parents[2] / "static"
    urls = set(ProductionOrder.objects.values_list("design_url", flat=True))
    assert len(urls) > 1
    for url in urls:
        assert url.startswith("http://127.0.0.1:8123/static/demo/design-"), url
        assert (static_dir / url.removeprefix("http://127.0.0.1:8123/static/")).is_file()


def test_demo_password_comes_from_the_environment(monkeypatch, django_user_model):
    monkeypatch.setenv("DEMO_PASSWORD", "s3cret-demo")
    call_command("seed_demo")
    assert django_user_model.objects.get(email="operator@example.com").check_password("s3cret-demo")


def test_seed_demo_has_a_partly_shipped_ready_order():
    call_command("seed_demo")
    [shipped] = ProductionOrder.objects.filter(shipped_quantity__gt=0)
    assert (shipped.status, shipped.production_status) == ("in_production", "Ready")
    assert (shipped.shipped_quantity, shipped.total_quantity) == (2, 5)
    assert shipped.shipments.get().tracking_url.endswith("1Z999AA10123456784")


def test_paid_demo_orders_were_paid_through_checkout_and_refund_like_real_ones(
    task_worker, settings
):
    settings.PICKUP_ADDRESS = ""
    from payments.models import Payment, ProcessedEvent, Refund
    from production.lifecycle import EventSource
    from production.services.orders import transition_order

    call_command("seed_demo")

    paid = ProductionOrder.objects.exclude(status__in=[OrderState.DRAFT, OrderState.CANCELED])
    assert paid.count() == 8
    for order in paid:
        [payment] = Payment.objects.filter(order=order)
        assert (payment.amount, payment.currency) == (order.total_amount, order.currency)
        assert payment.checkout_session_id == order.stripe_checkout_session_id
        assert ProcessedEvent.objects.filter(order=order, outcome="submitted").count() == 1
    assert not Payment.objects.filter(order__status=OrderState.DRAFT).exists()

    order = paid.filter(status=OrderState.APPROVED).first()
    transition_order(order=order, to=OrderState.CANCELED, actor=None, source=EventSource.OPERATOR)
    task_worker()  # asks the gateway (make run's: the local simulator) for the refund
    [refund] = Refund.objects.filter(order=order)
    assert (refund.amount, refund.state) == (order.total_amount, Refund.State.SUCCEEDED)


def test_demo_has_a_paid_order_to_ship_to_an_address_and_one_to_pick_up(client, settings):
    settings.PICKUP_ADDRESS = "Print Shop, 12 Demo Street, Springfield"
    call_command("seed_demo")

    paid = ProductionOrder.objects.filter(status=OrderState.SUBMITTED)
    [shipping] = paid.filter(delivery="shipping")
    [pickup] = paid.filter(delivery="pickup")
    assert shipping.shipping_address.city == "Springfield"
    assert shipping.total_amount == shipping.subtotal_amount + shipping.shipping_amount
    client.force_login(pickup.owner)
    page = client.get(f"/orders/{pickup.pk}/").content.decode()
    assert "Pickup at the shop</strong> (Print Shop, 12 Demo Street, Springfield)" in page


def test_the_demo_orders_artwork_is_checked_by_the_worker_and_passes(monkeypatch):
    from artwork.models import PreflightReport
    from tests.task_queue import run_worker

    call_command("seed_demo")
    reports = PreflightReport.objects.all()
    designs = OrderDesign.objects.filter(order__owner__email__endswith="@example.com")
    assert reports.count() == designs.count() > 0
    assert set(reports.values_list("verdict", flat=True)) == {"pending"}

    verdicts = run_worker(monkeypatch, queue_name="artwork")

    assert set(verdicts) == {"pass"}
    assert set(reports.values_list("verdict", flat=True)) == {"pass"}


def test_the_home_page_shows_a_picture_of_every_demo_garment(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8123"
    call_command("seed_demo")
    page = client.get("/").content.decode()
    for garment in Garment.objects.filter(is_active=True):
        path = garment.image_url.removeprefix("http://127.0.0.1:8123")
        assert path.startswith("/static/demo/garments/") and path.endswith(".svg")
        assert (Path("static") / path.removeprefix("/static/")).is_file()
        assert f'<img class="garment-picture" src="{path}"' in page
    assert "No picture yet" not in page
