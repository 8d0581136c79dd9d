"""The shop's own error pages, each with a way onward; the demo serves them (DEBUG off, the
checkout simulator on by its own setting); a quantity above the limit says the limit."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import RequestFactory

from payments.simulator import simulator_enabled
from production.api.errors import server_error
from tests.factories import GarmentFactory

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


def links(html: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]+)"', html)


def test_an_unknown_page_is_the_shops_own_404_with_ways_on(client, customer):
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in html and 'class="site-header"' in html
    assert "/" in links(html) and "/accounts/login/" in links(html)

    client.force_login(customer)
    html = client.get("/orders/00000000-0000-0000-0000-000000000000/").content.decode()
    assert "We could not find that page" in html and "/orders/" in links(html)


def test_a_customer_opening_the_ops_list_is_told_it_needs_an_operator_account(client, customer):
    client.force_login(customer)

    response = client.get("/ops/orders")

    html = response.content.decode()
    assert response.status_code == 403
    assert "This page is for the shop's operators" in html
    assert "You need an operator account" in html and customer.email in html
    assert "/orders/" in links(html) and "/" in links(html)
    assert "Forbidden" not in html.replace("<title>", "")
    # The dashboard has no page at /ops/ itself (the README says so).
    assert client.get("/ops/").status_code == 404


def test_a_customer_on_anothers_order_gets_the_shops_403(client, customer, other_customer):
    from tests.factories import make_order

    order = make_order(owner=other_customer)
    client.force_login(customer)
    response = client.get(f"/orders/{order.pk}/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "You cannot open this page" in html and "/orders/" in links(html)


def test_the_500_page_is_the_shops_own_and_needs_nothing_of_the_request():
    request = RequestFactory().get("/orders/")
    response = server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "/" in links(html) and "/orders/" in links(html)
    assert "Traceback" not in html


def test_the_checkout_simulator_runs_with_debug_off_when_asked(settings):
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = ""
    settings.CHECKOUT_SIMULATOR = False
    assert not simulator_enabled()
    settings.CHECKOUT_SIMULATOR = True
    assert simulator_enabled()
    settings.STRIPE_SECRET_KEY = "sk_test_x"  # a real key wins: never forge Stripe's sessions
    assert not simulator_enabled()


def test_deploy_check_refuses_the_simulator(settings):
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    settings.SITE_URL = "https://shop.example.com"
    settings.CHECKOUT_SIMULATOR = True
    with pytest.raises(SystemCheckError, match=r"payments\.E003"):
        call_command("check", deploy=True, tags=["security"])


def settings_value(name: str, **env: str) -> str:
    code = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    )
    clean = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://:memory:"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_demo_runs_with_debug_off_and_its_simulator_secret():
    makefile = (BASE_DIR / "Makefile").read_text()
    run_env = dict(re.findall(r"^run: export (\w+) \?= (.*)$", makefile, re.M))
    assert run_env["DEBUG"] == "false" and run_env["CHECKOUT_SIMULATOR"] == "true"
    assert run_env["SITE_URL"] == "http://$(HOST):$(PORT)"  # the server and worker too
    demo = {k: v for k, v in run_env.items() if "$" not in v}
    assert settings_value("DEBUG", **demo) == "False"
    assert settings_value("STRIPE_WEBHOOK_SECRET", **demo) == "whsec_local_checkout_simulator"
    assert settings_value("STRIPE_WEBHOOK_SECRET", DEBUG="false") == ""


def test_a_quantity_above_the_limit_says_the_limit(client, customer):
    garment = GarmentFactory()
    client.force_login(customer)

    body = client.get(
        "/orders/new/price",
        {"garment": garment.shopify_gid, "sizes_for": garment.shopify_gid, "qty_m": "100000"},
    ).json()

    assert body["ok"] is False
    assert body["message"] == "Size M: at most 10,000 per size."
    assert "sizes_for" not in body["errors"]  # not "Enter a quantity"


def test_the_demo_pays_through_the_simulator_with_debug_off(settings, customer, garment):
    """`make run`: DEBUG off, CHECKOUT_SIMULATOR on; Pay goes through the webhook's code and the
    customer gets a receipt."""
    from django.test import Client, RequestFactory

    from payments.services import start_checkout
    from production.lifecycle import OrderState
    from production.models import OutgoingEmail, ProductionOrder
    from production.notifications import write_receipt
    from tests.factories import make_order

    settings.DEBUG = False
    settings.CHECKOUT_SIMULATOR = True
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.PICKUP_ADDRESS = "Print Shop, 12 Demo Street, Springfield"
    draft = make_order(owner=customer, garment=garment, sizes=[("M", 1)], delivery="pickup")
    start_checkout(order=draft, request=RequestFactory().get("/"))
    draft.refresh_from_db()
    owner = Client()
    owner.force_login(customer)
    page = f"/payments/checkout/{draft.stripe_checkout_session_id}/"

    assert owner.get(page).status_code == 200
    owner.post(f"{page}action/", {"action": "pay"})

    assert ProductionOrder.objects.get(pk=draft.pk).status == OrderState.SUBMITTED
    write_receipt.call(str(draft.pk))  # the worker's job, queued with the payment
    [receipt] = OutgoingEmail.objects.filter(order=draft, kind="order_receipt")
    assert f"http://127.0.0.1:8000/orders/{draft.pk}/" in receipt.body
