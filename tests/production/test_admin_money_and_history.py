"""Support reads money as money and the order's history as sentences in the admin."""

import re

import pytest

from payments.models import Refund
from production.lifecycle import OrderState
from tests.factories import GarmentFactory, make_order
from tests.payments.refund_support import paid_order

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_order_list_shows_the_total_as_money_and_when_it_was_created(staff_client):
    make_order(state=OrderState.SUBMITTED)  # 2 M + 3 L at $18.00

    page = staff_client.get("/admin/production/productionorder/").content.decode()

    headers = re.findall(r'<th scope="col"[^>]*>.*?<a [^>]*>([^<]+)</a>', page, re.S)
    assert "Total" in headers and "Created at" in headers
    assert "$90.00" in page
    assert ">usd<" not in page and ">9000<" not in page


def test_the_order_page_shows_amounts_as_money_and_no_raw_json(staff_client):
    order = make_order(state=OrderState.APPROVED)

    html = staff_client.get(f"/admin/production/productionorder/{order.pk}/change/").content
    text = text_of(html.decode())

    assert "Total: $90.00" in text and "Subtotal: $90.00" in text
    assert "Unit price" in text and "$18.00" in text
    assert "9000" not in text and " usd " not in text
    # The history: what happened and by whom, its data as lines ("From: submitted").
    assert "From: submitted" in text
    assert "To: approved" in text
    assert '{"' not in html.decode() and "&quot;from&quot;" not in html.decode()


def test_a_yen_order_reads_in_whole_yen(staff_client):
    tee = GarmentFactory(name="Yen Tee", currency="jpy", base_price=1800, size_upcharges={})
    order = make_order(garment=tee, sizes=[("M", 1)], state=OrderState.SUBMITTED)

    text = text_of(
        staff_client.get(f"/admin/production/productionorder/{order.pk}/change/").content.decode()
    )

    assert "Total: ¥1,800" in text
    assert "¥18.00" not in text


def test_a_refund_reads_as_money_on_its_page_and_on_the_order(staff_client, settings):
    settings.SITE_URL = "https://shop.example.com"
    order = paid_order(state=OrderState.APPROVED)
    from payments.refunds import request_refund

    request_refund(order=order.pk, amount=1250, actor=staff_client.user, note="Stain")
    refund = Refund.objects.get(order=order)

    text = text_of(staff_client.get(f"/admin/payments/refund/{refund.pk}/change/").content.decode())
    assert "$12.50" in text and "1250" not in text and " usd" not in text
    assert "($90.00)" in text  # its payment, as money

    listing = text_of(staff_client.get("/admin/payments/refund/").content.decode())
    assert "$12.50" in listing


def test_ticket_batches_are_named_in_plain_english(staff_client):
    index = staff_client.get("/admin/").content.decode()

    assert "Ticket batches" in index
    assert "Ticket batchs" not in index


def test_camel_case_data_reads_as_words():
    from production.admin import readable_data

    html = str(readable_data({"stripeEventId": "evt_1", "from": "draft", "items": [1, 2]}))

    assert html == "Stripe event id: evt_1<br>From: draft<br>Items: 1, 2"
