"""Garment colours where operators read them (issue 23): each line of the ops order page names
its colour with a swatch, and the order list's colour filter is a choice of the colours that
exist, while links typed before (`?color=black`, any case) still filter."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from production.pricing import SizeQuantity
from production.services.catalogue import ColorSpec, PlacementSpec, upsert_catalogue
from production.services.orders import create_draft_order, submit_paid_order
from tests.factories import GarmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tee(garment):
    upsert_catalogue(
        garment,
        colors=[
            ColorSpec("White", "#ffffff", default=True),
            ColorSpec("Black", "#111111", sizes=["M", "L", "XL"]),
        ],
        placements=[PlacementSpec("front", Decimal("12"), Decimal("16"))],
    )
    return garment


def paid_order(garment, sizes: list[SizeQuantity]):
    order = create_draft_order(
        owner=UserFactory(),
        garment_gid=garment.shopify_gid,
        design_url="https://cdn.example.com/f.png",
        sizes=sizes,
    )
    submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)
    return order


def line_rows(html: str) -> list[str]:
    table = html[html.index("<h2>Line items</h2>") :].split("</table>", 1)[0]
    return re.findall(r"<tr><td.*?</tr>", table, re.S)


def color_options(html: str) -> list[tuple[str, bool]]:
    select = html[html.index('<select id="filter-color"') :].split("</select>", 1)[0]
    return [
        (value, bool(selected))
        for value, selected in re.findall(r'<option value="([^"]*)"( selected)?>', select)
    ]


def test_each_line_on_the_ops_order_page_names_its_colour_with_a_swatch(ops_client, tee):
    order = paid_order(tee, [SizeQuantity("M", 2, "Black"), SizeQuantity("L", 1)])

    html = ops_client.get(f"/ops/orders/{order.pk}/").content.decode()

    black, white = line_rows(html)
    assert '<td data-label="Colour" class="line-color">' in black
    assert 'fill="#111111"' in black and "</svg> Black</td>" in black
    assert '<td data-label="Size">M</td>' in black
    assert 'fill="#ffffff"' in white and "</svg> White</td>" in white
    assert '<td data-label="Size">L</td>' in white


def test_the_colour_filter_offers_the_colours_that_exist_once_each(ops_client, tee):
    # Another garment with a "black" of its own: one choice for both, as the filter matches
    # names in any case across garments.
    hoodie = GarmentFactory(shopify_gid="gid://shopify/Product/777", name="Hoodie")
    upsert_catalogue(
        hoodie,
        colors=[ColorSpec("black", "#000000", default=True)],
        placements=[PlacementSpec("front", Decimal("12"), Decimal("16"))],
    )
    paid_order(tee, [SizeQuantity("M", 1, "Black")])

    html = ops_client.get("/ops/orders").content.decode()

    assert 'type="search" name="color"' not in html
    options = color_options(html)
    assert options[0] == ("", False)  # "Any", first: what the browser shows
    assert not any(selected for _, selected in options)
    names = [value for value, _ in options[1:]]
    assert [name.lower() for name in names].count("black") == 1
    assert "White" in names
    assert names == sorted(names, key=str.lower)


def test_an_old_link_still_filters_and_its_colour_is_chosen(ops_client, tee):
    black = paid_order(tee, [SizeQuantity("M", 1, "Black")])
    white = paid_order(tee, [SizeQuantity("L", 4)])

    html = ops_client.get("/ops/orders?color=black").content.decode()

    assert black.reference in html and white.reference not in html
    assert ("Black", True) in color_options(html)

    # A colour no garment has (a link from before it was renamed): kept, chosen, matches nothing.
    html = ops_client.get("/ops/orders?color=Navy").content.decode()
    assert ("Navy", True) in color_options(html)
    assert black.reference not in html and white.reference not in html
