"""Each board card shows a small picture of the order's front design, read through the ops design
view (the job tickets' server-side fetch), lazily and at a fixed size; the board's query count is
unchanged (test_board.py's count of 7 holds: the picture's address is built from the order id)."""

import re

import pytest

from production.lifecycle import OrderState
from production.models import ProductionOrder
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def card_html(page: str, order: ProductionOrder) -> str:
    return re.search(
        rf'<li class="board-card[^"]*"[^>]*data-reference="{order.reference}".*?</li>', page, re.S
    )[0]


def test_each_card_shows_its_front_design_through_the_ops_design_view(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    ProductionOrder.objects.filter(pk=order.pk).update(
        design_url="http://testserver/static/demo/design-2.svg"
    )
    page = ops_client.get("/ops/board/").content.decode()
    card = card_html(page, order)
    thumb = re.search(r'<img class="card-thumb" src="([^"]+)"([^>]*)>', card)
    assert thumb, card
    assert thumb[1] == f"/ops/orders/{order.pk}/design?placeholder=1"
    assert 'width="48" height="48" loading="lazy"' in thumb[2]
    picture = ops_client.get(thumb[1])
    assert picture.status_code == 302 and picture["Location"] == "/static/demo/design-2.svg"


def test_a_customers_design_url_is_never_put_on_the_board(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    ProductionOrder.objects.filter(pk=order.pk).update(
        design_url="https://tracker.example.com/x.png"
    )
    page = ops_client.get("/ops/board/").content.decode()
    src = f"/ops/orders/{order.pk}/design?placeholder=1"
    assert f'src="{src}"' in card_html(page, order)
    assert "tracker.example.com" not in page


def test_a_design_that_cannot_be_shown_gives_the_no_preview_picture(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    ProductionOrder.objects.filter(pk=order.pk).update(
        design_url="http://testserver/static/demo/missing.svg"  # ours, but no such file
    )
    picture = ops_client.get(f"/ops/orders/{order.pk}/design?placeholder=1")
    assert picture.status_code == 302
    assert re.fullmatch(r"/static/ops/no-design(\.[0-9a-f]+)?\.svg", picture["Location"])
    # The order page and the job tickets still get the 404 saying why.
    refused = ops_client.get(f"/ops/orders/{order.pk}/design")
    assert refused.status_code == 404 and b"missing" in refused.content


def test_a_cards_link_and_id_name_the_order_as_its_page_does(ops_client, garment):
    # SQLite's raw rows give the id as bare hex: the card's link must still open the order.
    order = make_order(garment=garment, state=OrderState.APPROVED)
    card = card_html(ops_client.get("/ops/board/").content.decode(), order)
    assert f'data-order-id="{order.pk}"' in card
    link = re.search(r'<a href="(/ops/orders/[^"]+/)">', card)[1]
    assert ops_client.get(link).status_code == 200
