"""Every placement of an order (issue 23) on the operator's order page (its name, print area and
design, each drawn through the app's safe fetch) and on the customer's, front first."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from ops import tickets
from ops.selectors import ticket_orders
from production.models import ProductionOrder
from production.pricing import SizeQuantity
from production.services.catalogue import (
    ColorSpec,
    PlacementDesign,
    PlacementSpec,
    upsert_catalogue,
)
from production.services.orders import create_draft_order, submit_paid_order
from tests.factories import UserFactory, png_bytes
from tests.ops.test_tickets_designs import design_server, url
from tests.ops.ticket_support import page_texts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _not_our_site(settings):
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    settings.SITE_URL = "https://shop.example.com"
    settings.TICKET_DESIGN_TIMEOUT = 0.5


@pytest.fixture
def tee(garment):
    upsert_catalogue(
        garment,
        colors=[
            ColorSpec("White", "#ffffff", default=True),
            ColorSpec("Black", "#111111", sizes=["M", "L", "XL"]),
        ],
        placements=[
            PlacementSpec("front", Decimal("12"), Decimal("16")),
            PlacementSpec("back", Decimal("14"), Decimal("18"), unit_amount=500),
        ],
    )
    return garment


def front_and_back_order(tee, front: str, back: str) -> ProductionOrder:
    return create_draft_order(
        owner=UserFactory(),
        garment_gid=tee.shopify_gid,
        design_url=front,
        sizes=[SizeQuantity("M", 2, "Black"), SizeQuantity("L", 1)],
        designs=[PlacementDesign("back", back)],
    )


def test_the_ops_page_shows_each_placement_with_its_design(ops_client, tee, monkeypatch):
    with design_server(monkeypatch) as server:
        server.routes["/front.png"] = (200, {"Content-Type": "image/png"}, png_bytes((600, 600)), 0)
        server.routes["/back.png"] = (200, {"Content-Type": "image/png"}, png_bytes((900, 600)), 0)
        order = front_and_back_order(tee, url(server, "/front.png"), url(server, "/back.png"))

        page = ops_client.get(reverse("ops:order-detail", args=[order.pk])).content.decode()
        front_view = reverse("ops:order-design", args=[order.pk])
        back_view = reverse("ops:order-placement-design", args=[order.pk, "back"])
        assert f'src="{front_view}"' in page
        assert f'src="{back_view}"' in page
        assert page.index(front_view) < page.index(back_view)  # front first
        assert "print area 12 × 16 in" in page
        assert "print area 14 × 18 in" in page
        assert f'<img class="design" src="{url(server, "/back.png")}"' not in page
        assert server.requests == []  # showing the page fetched nothing from the customer

        back = ops_client.get(back_view)
        front = ops_client.get(reverse("ops:order-placement-design", args=[order.pk, "front"]))

    assert back.status_code == 200
    assert back["Content-Type"] == "image/jpeg"
    assert Image.open(BytesIO(back.content)).size == (480, 320)
    assert Image.open(BytesIO(front.content)).size == (480, 480)
    assert sorted(server.requests) == ["/back.png", "/front.png"]


def test_a_placement_the_order_does_not_use_is_a_404(ops_client, tee):
    order = front_and_back_order(
        tee, "https://cdn.example.com/f.png", "https://cdn.example.com/b.png"
    )
    missing = ops_client.get(reverse("ops:order-placement-design", args=[order.pk, "left_sleeve"]))
    assert missing.status_code == 404


def test_the_customers_page_shows_each_placement_with_its_design(client, tee):
    order = front_and_back_order(
        tee, "https://cdn.example.com/f.png", "https://cdn.example.com/b.png"
    )
    client.force_login(order.owner)

    page = client.get(reverse("order-detail", args=[order.pk])).content.decode()

    # The site's CSP allows https images: the customer's own designs are shown as they gave them.
    front = page.index('<img src="https://cdn.example.com/f.png" alt="Front design')
    back = page.index('<img src="https://cdn.example.com/b.png" alt="Back design')
    assert front < back


def test_the_job_ticket_prints_each_placement_and_each_lines_colour(tee, monkeypatch):
    with design_server(monkeypatch) as server:
        server.routes["/front.png"] = (200, {}, png_bytes((300, 300)), 0)
        server.routes["/back.png"] = (200, {}, png_bytes((300, 200)), 0)
        order = front_and_back_order(tee, url(server, "/front.png"), url(server, "/back.png"))
        pdf = tickets.render_tickets(ticket_orders([order.pk]), base_url="https://shop.example.com")

    assert sorted(server.requests) == ["/back.png", "/front.png"]
    pages = PdfReader(BytesIO(pdf)).pages
    assert len(pages) == 1  # one page per ticket, whatever the placements
    assert len(pages[0].images) == 2
    [text] = page_texts(pdf)
    assert "Front · 12 × 16 in" in text
    assert "Back · 14 × 18 in" in text
    assert "No design preview" not in text
    table = text.split("Technique\n", 1)[1].split("\nTotal", 1)[0].splitlines()
    assert table == ["Black", "M", "2", "Direct to garment", "White", "L", "1", "Direct to garment"]


def test_the_board_card_shows_the_colours_and_placements(ops_client, tee):
    order = front_and_back_order(
        tee, "https://cdn.example.com/f.png", "https://cdn.example.com/b.png"
    )
    submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)

    page = ops_client.get("/ops/board/").content.decode()

    card = page[page.index(f'data-reference="{order.reference}"') :].split("</li>", 1)[0]
    assert 'fill="#111111"' in card and "Black × 2" in card
    assert 'fill="#ffffff"' in card and "White × 1" in card
    assert '<p class="card-placements">Front · Back</p>' in card


def paid_order(tee, sizes: list[SizeQuantity]) -> ProductionOrder:
    order = create_draft_order(
        owner=UserFactory(),
        garment_gid=tee.shopify_gid,
        design_url="https://cdn.example.com/f.png",
        sizes=sizes,
    )
    submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)
    return order


def test_the_colour_filter_narrows_the_board(ops_client, tee):
    black = paid_order(tee, [SizeQuantity("M", 1, "Black"), SizeQuantity("L", 1)])
    white = paid_order(tee, [SizeQuantity("L", 4)])

    everything = ops_client.get("/ops/board/").content.decode()
    blacks = ops_client.get("/ops/board/?color=black").content.decode()
    whites = ops_client.get("/ops/board/?color=White").content.decode()
    none = ops_client.get("/ops/board/?color=Red").content.decode()

    assert black.reference in everything and white.reference in everything
    assert black.reference in blacks and white.reference not in blacks
    assert black.reference in whites and white.reference in whites  # both have a white line
    assert black.reference not in none and white.reference not in none
    assert 'name="color" maxlength="50" value="black"' in blacks


def test_the_colour_filter_narrows_the_list_and_its_ticket_batch(ops_client, tee):
    black = paid_order(tee, [SizeQuantity("M", 1, "Black")])
    white = paid_order(tee, [SizeQuantity("L", 4)])

    listed = ops_client.get("/ops/orders?color=BLACK").content.decode()
    response = ops_client.post(
        reverse("ops:ticket-print"), {"scope": "all", "ids": [], "filters": "color=black"}
    )

    assert black.reference in listed and white.reference not in listed
    texts = page_texts(response.content)
    assert len(texts) == 1
    assert black.reference in texts[0]
