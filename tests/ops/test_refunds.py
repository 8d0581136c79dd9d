"""Refunds on the ops order page (what was paid, each refund and why one failed, a partial
refund form) and in the admin (read-only, failed ones easy to find), for every cancel surface."""

import re
from html import unescape

import pytest
from django.contrib.messages import get_messages

from payments.models import Refund
from payments.refunds import request_refund, settle_refund
from production.lifecycle import OrderState
from production.models import FulfillmentEvent
from tests.factories import make_order
from tests.payments.refund_support import paid_order, refunds_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(customer, garment, settings):
    settings.SITE_URL = "http://shop.test"
    return paid_order(owner=customer, garment=garment, state=OrderState.APPROVED)  # $90.00


def page(client, order) -> str:
    return client.get(f"/ops/orders/{order.id}/").content.decode()


def errors_beside_the_form(html: str) -> list[str]:
    """The refund form's errors, as the page shows them next to the amount (or above the form)."""
    found = re.findall(r'id="refund-(?:amount-error|errors)">(.*?)</div>', html, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", text)).strip() for text in found]


def refund(client, order, amount, token="7d4c1a0e-0a6b-4a8e-9d4c-3b2f0e9a1c55", note=""):
    """The operator's refund, confirmed ("Yes, refund $12.50"): the messages after it, or the
    errors shown next to the form (nothing refunded, what was typed kept)."""
    response = client.post(
        f"/ops/orders/{order.id}/refunds",
        {"amount": amount, "note": note, "token": token, "confirmed": "1"},
    )
    if response.status_code == 400:
        html = response.content.decode()
        assert f'value="{amount}"' in html  # what was typed is still there
        return errors_beside_the_form(html)
    assert response.status_code == 302
    assert response["Location"] == f"/ops/orders/{order.id}/"
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    client.get(response["Location"])  # where the operator lands: the messages are shown once
    return messages


def test_the_page_shows_what_was_paid_and_offers_a_refund(ops_client, order):
    html = page(ops_client, order)

    assert "<dt>Paid</dt><dd>$90.00</dd>" in html
    assert "<dt>Refundable</dt><dd>$90.00</dd>" in html
    assert 'id="refund-form"' in html


def test_an_operator_refunds_part_of_an_order(ops_client, order, operator):
    messages = refund(ops_client, order, "12.50", note="one shirt misprinted")

    assert messages == ["Refund of $12.50 requested: Stripe's answer shows below within a minute."]
    [made] = Refund.objects.all()
    assert (made.amount, made.state, made.requested_by, made.note) == (
        1250,
        "pending",
        operator,
        "one shirt misprinted",
    )
    html = page(ops_client, order)
    assert "$12.50 on its way" in html
    assert "<dt>Refundable</dt><dd>$77.50</dd>" in html
    assert "Partial refund by an operator: one shirt misprinted" in html


def test_a_double_submitted_refund_form_refunds_once(ops_client, order):
    refund(ops_client, order, "10.00")
    refund(ops_client, order, "10.00")

    assert refunds_of(order) == [(1000, "pending", "operator")]


def test_more_than_is_left_is_refused_with_the_reason(ops_client, order):
    refund(ops_client, order, "80.00", token="00000000-0000-4000-8000-000000000001")

    messages = refund(ops_client, order, "10.01", token="00000000-0000-4000-8000-000000000002")

    assert messages == ["At most $10.00 can be refunded."]
    assert len(refunds_of(order)) == 1


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("abc", "Enter a number."),
        ("1.234", "USD has 2 decimal places."),
        ("0", "Refund an amount above zero."),
    ],
)
def test_amounts_people_mistype_are_refused(ops_client, order, amount, error):
    assert refund(ops_client, order, amount) == [error]
    assert Refund.objects.count() == 0


def test_a_refund_asks_first_with_the_amount(ops_client, order):
    response = ops_client.post(
        f"/ops/orders/{order.id}/refunds",
        {"amount": "12.50", "note": "one shirt misprinted", "token": USED_TOKEN},
    )

    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert f"Refund $12.50 to the customer of {order.reference}?" in html
    assert 'id="refund-confirm">Yes, refund $12.50</button>' in html
    assert 'name="confirmed" value="1"' in html and 'value="12.50"' in html
    assert Refund.objects.count() == 0  # nothing leaves before the operator says yes


def test_a_mistyped_amount_is_shown_next_to_the_field_and_kept(ops_client, order):
    response = ops_client.post(
        f"/ops/orders/{order.id}/refunds", {"amount": "12,50 dollars", "token": USED_TOKEN}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert 'value="12,50 dollars"' in html and 'aria-invalid="true"' in html
    assert errors_beside_the_form(html) == ["Enter a number."]
    assert Refund.objects.count() == 0


def test_a_failed_refund_shows_a_banner_with_stripes_reason(ops_client, order, operator):
    made = request_refund(order=order, amount=9000, actor=operator)
    settle_refund(
        refund_id=made.pk,
        stripe_refund={"id": "re_1", "status": "failed", "failure_reason": "lost_or_stolen_card"},
    )

    html = page(ops_client, order)

    assert (
        'class="banner refund-failed" role="alert">Refund of $90.00 failed: '
        "Stripe: lost or stolen card"
    ) in html
    assert "<dt>Refundable</dt><dd>$90.00</dd>" in html  # a failed refund gave nothing back


def test_customers_cannot_refund(customer_client, order):
    response = customer_client.post(
        f"/ops/orders/{order.id}/refunds",
        {"amount": "90.00", "token": "7d4c1a0e-0a6b-4a8e-9d4c-3b2f0e9a1c55"},
    )

    assert response.status_code == 403
    assert Refund.objects.count() == 0


def test_an_unpaid_order_offers_no_refund(ops_client, customer, garment):
    draft = make_order(owner=customer, garment=garment)

    html = page(ops_client, draft)

    assert "Not paid." in html
    assert 'id="refund-form"' not in html


# --- every cancel surface refunds ----------------------------------------------------------------


def test_canceling_on_the_ops_page_says_the_payment_goes_back_then_refunds_it(ops_client, order):
    confirm = ops_client.post(
        f"/ops/orders/{order.id}/actions", {"action": "status", "value": "canceled"}
    ).content.decode()
    assert "$90.00 paid goes back to the customer's card through Stripe." in confirm
    assert Refund.objects.count() == 0

    ops_client.post(
        f"/ops/orders/{order.id}/actions",
        {"action": "status", "value": "canceled", "confirmed": "on"},
    )

    assert refunds_of(order) == [(9000, "pending", "order_canceled")]


def test_bulk_cancel_refunds_each_paid_order(ops_client, customer, garment, settings):
    settings.SITE_URL = "http://shop.test"
    orders = [paid_order(owner=customer, garment=garment) for _ in range(2)]

    ops_client.post(
        "/ops/orders/bulk",
        {"change": "status:canceled", "scope": "selected", "ids": [str(o.pk) for o in orders]},
    )

    assert [refunds_of(o) for o in orders] == [[(9000, "pending", "order_canceled")]] * 2


# --- admin ---------------------------------------------------------------------------------------


def test_support_finds_failed_refunds_in_the_admin(staff_client, order, operator):
    failed = request_refund(order=order, amount=1000, actor=operator)
    settle_refund(refund_id=failed.pk, stripe_refund={"status": "failed"})
    request_refund(order=order, amount=2000, actor=operator)

    listed = staff_client.get("/admin/payments/refund/?state__exact=failed")

    assert [r.pk for r in listed.context["cl"].result_list] == [failed.pk]
    assert staff_client.get(f"/admin/payments/refund/{failed.pk}/change/").status_code == 200
    assert staff_client.get("/admin/payments/refund/add/").status_code == 403


def test_the_order_admin_page_lists_its_payment_and_refunds(staff_client, order, operator):
    request_refund(order=order, amount=1000, actor=operator)

    html = staff_client.get(f"/admin/production/productionorder/{order.pk}/change/").content
    html = html.decode()

    assert order.payments.get().payment_intent_id in html
    assert "$10.00" in html and "Partial refund by an operator" in html


# --- the form's one-time token belongs to one order and one amount -------------------------------

USED_TOKEN = "3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def fake_stripe(settings):
    from tests.payments.fake_stripe import FakeStripe

    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake_key"
    settings.STRIPE_API_BASE = fake.url
    yield fake
    fake.stop()


def refund_and_read(client, order, amount, token=USED_TOKEN) -> str:
    """Post the refund form, follow the redirect as the browser does: the order page's text."""
    response = client.post(
        f"/ops/orders/{order.id}/refunds",
        {"amount": amount, "note": "", "token": token, "confirmed": "1"},
        follow=True,
    )
    if response.status_code == 400:  # refused: the page again, the reason next to the form
        return unescape(response.content.decode())
    assert response.redirect_chain == [(f"/ops/orders/{order.id}/", 302)]
    return unescape(response.content.decode())


def stripe_refund_amounts(fake_stripe, task_worker) -> list[str]:
    task_worker()  # whatever was queued reaches Stripe now
    return [request["form"]["amount"] for request in fake_stripe.refund_requests()]


def test_the_same_form_posted_again_answers_the_same_and_refunds_once(
    ops_client, order, fake_stripe, task_worker
):
    first = refund_and_read(ops_client, order, "1.00")
    again = refund_and_read(ops_client, order, "1.00")

    requested = "Refund of $1.00 requested: Stripe's answer shows below within a minute."
    assert requested in first
    assert requested in again
    assert refunds_of(order) == [(100, "pending", "operator")]
    assert stripe_refund_amounts(fake_stripe, task_worker) == ["100"]


def test_a_used_form_posted_to_another_order_is_refused_and_refunds_nothing(
    ops_client, order, customer, garment, fake_stripe, task_worker
):
    other = paid_order(owner=customer, garment=garment, state=OrderState.APPROVED)
    refund_and_read(ops_client, order, "1.00")

    shown = refund_and_read(ops_client, other, "5.00")

    assert (
        "This refund form was used already for $1.00 on another order: nothing was refunded "
        "now. Reload the order's page to make another refund."
    ) in shown
    assert "Refund of $1.00 requested" not in shown
    assert "<dt>Refundable</dt><dd>$90.00</dd>" in shown
    assert refunds_of(other) == []
    assert FulfillmentEvent.objects.filter(order=other, kind="refund").count() == 0
    assert stripe_refund_amounts(fake_stripe, task_worker) == ["100"]  # order A's only


def test_a_used_form_posted_again_with_another_amount_is_refused_and_refunds_nothing(
    ops_client, order, fake_stripe, task_worker
):
    refund_and_read(ops_client, order, "1.00")

    shown = refund_and_read(ops_client, order, "2.00")

    assert (
        "This refund form was used already for $1.00: nothing was refunded now. Reload the "
        "order's page to make another refund."
    ) in shown
    assert "<dt>Refundable</dt><dd>$89.00</dd>" in shown
    assert refunds_of(order) == [(100, "pending", "operator")]
    assert stripe_refund_amounts(fake_stripe, task_worker) == ["100"]
