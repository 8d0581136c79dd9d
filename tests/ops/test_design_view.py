"""The design on the operator's order page comes through the app's safe fetch, never straight
from the customer's server (which would learn who on the staff looked, and when)."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from production.lifecycle import OrderState
from production.models import ProductionOrder
from tests.factories import make_order, png_bytes
from tests.ops.test_tickets_designs import design_server, no_connections, url  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _not_our_site(settings):
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    settings.SITE_URL = "https://shop.example.com"
    settings.TICKET_DESIGN_TIMEOUT = 0.5


def order_with_design(design_url: str) -> ProductionOrder:
    order = make_order(state=OrderState.SUBMITTED)
    ProductionOrder.objects.filter(pk=order.pk).update(design_url=design_url)  # the customer's
    return order


def design_path(order: ProductionOrder) -> str:
    return reverse("ops:order-design", args=[order.pk])


def test_the_ops_order_page_shows_the_design_through_the_app(ops_client, monkeypatch):
    with design_server(monkeypatch) as server:
        server.routes["/d.png"] = (200, {"Content-Type": "image/png"}, png_bytes((900, 600)), 0)
        order = order_with_design(url(server, "/d.png"))

        page = ops_client.get(reverse("ops:order-detail", args=[order.pk])).content.decode()
        assert f'<img class="design" src="{design_path(order)}"' in page
        assert server.requests == []  # showing the page fetched nothing from the customer

        image = ops_client.get(design_path(order))
        again = ops_client.get(design_path(order))

    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert image["X-Content-Type-Options"] == "nosniff"
    assert "private" in image["Cache-Control"] and "max-age=600" in image["Cache-Control"]
    assert Image.open(BytesIO(image.content)).size == (480, 320)
    assert again.content == image.content
    assert server.requests == ["/d.png"]  # fetched once, by the server, for both views


def test_a_design_the_fetch_refuses_is_a_404_saying_why(ops_client, no_connections):  # noqa: F811
    order = order_with_design("http://169.254.169.254/latest/meta-data/")

    response = ops_client.get(design_path(order))

    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "private network" in response.content.decode()
    assert no_connections == []


def test_a_design_among_the_sites_own_files_is_redirected_to_them(ops_client, no_connections):  # noqa: F811
    order = order_with_design("https://shop.example.com/static/demo/design-1.svg")

    response = ops_client.get(design_path(order))

    assert response.status_code == 302
    assert response["Location"] == "/static/demo/design-1.svg"
    assert no_connections == []


def test_only_operators_get_the_design(customer_client, no_connections):  # noqa: F811
    order = order_with_design("https://cdn.example.com/design.png")

    assert customer_client.get(design_path(order)).status_code == 403
    assert Client().get(design_path(order)).status_code == 302  # to the login page
    assert no_connections == []
