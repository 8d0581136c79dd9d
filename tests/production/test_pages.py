"""The customer's pages: my orders and the order page, complete without JavaScript."""

import re

import pytest

from production.lifecycle import EventSource, OrderState, Priority, ProductionStatus
from production.services.orders import update_order
from tests.factories import GarmentFactory, make_order, make_proof

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def visible(response) -> str:
    """The page as a reader sees it: tags gone, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


class TestMyOrders:
    def test_lists_only_my_orders_newest_first(self, client, customer, other_customer):
        first = make_order(owner=customer, garment=GarmentFactory(name="Classic Tee"))
        second = make_order(
            owner=customer,
            garment=GarmentFactory(name="Hoodie"),
            state=OrderState.SUBMITTED,
            priority=Priority.RUSH,
        )
        theirs = make_order(owner=other_customer)
        client.force_login(customer)
        page = visible(client.get("/orders/"))
        assert page.index(second.reference) < page.index(first.reference)
        assert theirs.reference not in page
        assert "Hoodie" in page and "Classic Tee" in page
        assert "Paid — the shop is checking your artwork" in page
        assert "Rush" in page
        due = second.due_date  # rush: three days from payment
        assert f"Ready by {due:%a} {due.day} {due:%b}" in page
        assert "$90.00" in page  # 2 × 18.00 + 3 × 18.00

    def test_is_paginated(self, client, customer):
        garment = GarmentFactory()
        orders = [make_order(owner=customer, garment=garment) for _ in range(21)]
        client.force_login(customer)
        first_page, second_page = text(client.get("/orders/")), text(client.get("/orders/?page=2"))
        assert orders[-1].reference in first_page and orders[0].reference not in first_page
        assert orders[0].reference in second_page
        assert "Page 2 of 2" in second_page

    def test_runs_a_fixed_number_of_queries(self, client, customer, django_assert_max_num_queries):
        for _ in range(5):
            make_order(owner=customer)
        client.force_login(customer)
        with django_assert_max_num_queries(6):
            client.get("/orders/")

    def test_anonymous_visitor_is_sent_to_log_in(self, client):
        response = client.get("/orders/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_no_orders_says_so_and_offers_a_way_to_start_one(self, client, customer):
        client.force_login(customer)
        page = text(client.get("/orders/"))
        assert "You have no orders yet" in page
        assert 'href="/orders/new/">Start an order</a>' in page
        assert 'href="/#garments"' in page
        assert "Pick a garment" not in page

    def test_held_and_unpaid_orders_promise_no_countdown(self, client, customer):
        make_order(owner=customer)
        held = make_order(owner=customer, state=OrderState.APPROVED)
        update_order(order=held, actor=None, source=EventSource.SYSTEM, priority=Priority.HOLD)
        client.force_login(customer)
        page = visible(client.get("/orders/"))
        assert "Waiting for payment" in page and "7 days after payment" in page
        assert "On hold: the shop paused this order" in page
        assert "A new date once the shop resumes the order" in page
        assert "Ready in 7 days" not in page and "Spec Review" not in page


class TestOrderPage:
    def test_shows_everything_about_the_order(self, client, customer):
        order = make_order(owner=customer, state=OrderState.IN_PRODUCTION)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        stages = re.findall(r'<li data-step="[^"]+" class="([^"]*)"[^>]*>([^<]*)<', page)
        assert [name for _, name in stages] == [
            "Paid",
            "Artwork approved",
            "Printing",
            "Finishing",
            "Ready to ship",
            "Shipped",
        ]
        assert [css for css, _ in stages] == ["done", "done", "current", "todo", "todo", "todo"]
        assert 'aria-current="step">Printing' in page
        assert re.search(r'id="order-stage"[^>]*>Printing<', page)
        assert "Standard" in page
        assert '<img src="https://cdn.example.com/design.png"' in page
        assert order.garment.name in page
        assert '<td data-label="Size">M</td><td data-label="Technique">Direct to garment' in page
        assert '<td data-label="Size">L</td><td data-label="Technique">Direct to garment' in page
        assert 'Total</th><td class="num">$90.00' in page
        # One status line for the customer, not the order state beside the production status.
        assert "Order state" not in page and "Production status" not in page
        for message in ("Order created", "Payment confirmed", "approved", "Production started"):
            assert message in page
        assert "js/order-live" in page

    def test_a_canceled_order_says_so_plainly(self, client, customer):
        order = make_order(owner=customer, state=OrderState.CANCELED)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert (
            '<p class="banner canceled" id="canceled-banner" data-field="canceled">'
            "This order was canceled: it will not be printed or shipped. You were not charged."
            in (page)
        )

    def test_an_unpaid_order_offers_its_checkout(self, client, customer):
        order = make_order(owner=customer)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert '<div class="banner draft" id="draft-banner">' in page
        assert "Awaiting payment" in page
        assert "Continue to payment" in page

    def test_other_customers_get_403_and_operators_see_it(
        self, client, customer, other_customer, operator
    ):
        order = make_order(owner=customer)
        client.force_login(other_customer)
        assert client.get(f"/orders/{order.pk}/").status_code == 403
        client.force_login(operator)
        assert client.get(f"/orders/{order.pk}/").status_code == 200

    def test_unknown_order_is_404(self, client, customer):
        client.force_login(customer)
        assert client.get("/orders/00000000-0000-4000-8000-000000000000/").status_code == 404


class TestCustomerWords:
    """One status line per order, in the customer's words, for every stage."""

    @pytest.mark.parametrize(
        ("state", "step", "words"),
        [
            (OrderState.DRAFT, None, "Waiting for payment"),
            (OrderState.SUBMITTED, None, "Paid — the shop is checking your artwork"),
            (OrderState.APPROVED, None, "Artwork approved — waiting to be printed"),
            (OrderState.IN_PRODUCTION, ProductionStatus.PRINTING, "Printing"),
            (OrderState.IN_PRODUCTION, ProductionStatus.FINISHING, "Finishing"),
            (OrderState.IN_PRODUCTION, ProductionStatus.READY, "Ready to ship"),
            (OrderState.FULFILLED, None, "Shipped — every item has left the shop"),
            (OrderState.CANCELED, None, "Canceled"),
        ],
    )
    def test_each_stage_has_one_plain_status_line(self, client, customer, state, step, words):
        order = make_order(owner=customer, state=state, step=step)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert re.findall(r'id="order-stage"[^>]*>([^<]*)<', page) == [words]
        assert "Spec Review</li>" not in page

    def test_unpaid_order_is_at_payment_not_spec_review(self, client, customer):
        order = make_order(owner=customer)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert 'aria-current="step">Payment</li>' in page
        assert "<span>Order created, awaiting payment</span>" in page  # the timeline
        assert "Spec Review<" not in page
        assert "7 days after payment" in page

    def test_a_waiting_proof_asks_for_approval(self, client, customer):
        order = make_order(owner=customer, state=OrderState.SUBMITTED)
        make_proof(order)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert re.search(r'id="order-stage"[^>]*>Your proof is ready to approve<', page)

    def test_a_held_order_explains_the_hold_and_gives_no_date(self, client, customer):
        order = make_order(owner=customer, state=OrderState.APPROVED)
        update_order(order=order, actor=None, source=EventSource.SYSTEM, priority=Priority.HOLD)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert '<p class="banner hold" id="hold-banner">On hold: the shop paused this order' in page
        assert re.search(r'id="order-eta"[^>]*>A new date once the shop resumes the order<', page)

    def test_hold_banner_is_hidden_but_served_for_live_updates(self, client, customer):
        order = make_order(owner=customer, state=OrderState.SUBMITTED)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert '<p class="banner hold" id="hold-banner" hidden>' in page
        assert '"proof_waiting": "Your proof is ready to approve"' in page  # json_script words

    def test_payment_thank_you_only_while_the_payment_is_confirmed(self, client, customer):
        draft = make_order(owner=customer)
        done = make_order(owner=customer, state=OrderState.FULFILLED)
        client.force_login(customer)
        thanks = "your payment is being confirmed"
        assert thanks in text(client.get(f"/orders/{draft.pk}/?checkout=success"))
        assert thanks not in text(client.get(f"/orders/{done.pk}/?checkout=success"))
        assert 'id="checkout-thanks"' not in text(
            client.get(f"/orders/{done.pk}/?checkout=success")
        )

    def test_flash_messages_are_styled_and_dismissible(self, client, customer):
        order = make_order(owner=customer, state=OrderState.SUBMITTED)
        make_proof(order)
        client.force_login(customer)
        url = f"/orders/{order.pk}/proofs/{order.waiting_proof_revision or 1}/decision"
        response = client.post(url, {"decision": "approve"}, follow=True)
        page = text(response)
        assert re.search(
            r'<li class="success"><span class="message-text" role="status">Thank you', page
        )
        assert 'class="message-dismiss"' in page and "css/customer.css" in page
        # Shown once: the next page does not repeat it.
        assert "Thank you: proof" not in text(client.get(f"/orders/{order.pk}/"))


class TestHome:
    def test_garment_cards_show_prices_and_start_an_order(self, client, garment):
        page = text(client.get("/"))
        assert "from $18.00" in page and "minor units" not in page
        assert 'href="/orders/new/?garment=gid%3A%2F%2Fshopify%2FProduct%2F123456"' in page
        assert 'class="button" href="/orders/new/">Start an order</a>' in page
        assert 'id="garments"' in page
