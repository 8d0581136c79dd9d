"""Every mail the system sends arrives whole: each kind rendered by the code that sends it, and
every link in it absolute on SITE_URL and answering its reader (200, or the log-in page for
someone else), never 404. The receipt and the cancellation mail say what they must."""

import re

import pytest
from django.core import mail
from django.test import Client

from production import notifications
from production.addresses import ShippingAddressData
from production.lifecycle import EventSource, OrderState, ProductionStatus
from production.models import OutgoingEmail, Shipment
from production.notifications import write_receipt
from production.services.messages import add_customer_message
from production.services.orders import submit_paid_order, transition_order, update_order
from production.services.shipping import (
    announce_pickup,
    correct_shipment,
    record_pickup,
    record_shipment,
)
from tests.factories import make_order, make_proof
from tests.payments.refund_support import paid_order

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.com"
UPS = "1Z999AA10123456784"
STAFF = "staff@shop.example.com"
URL = re.compile(r"https?://[^\s<>\"')]+")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    settings.SHOP_STAFF_EMAIL = STAFF
    settings.PICKUP_ADDRESS = "Print Shop, 12 Mill Lane, Springfield"
    settings.PICKUP_HOURS = "Mon-Fri 9:00-17:00"


def ready(customer, operator, **kwargs):
    return make_order(
        owner=customer,
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
        operator=operator,
        **kwargs,
    )


def receipt(customer, operator):
    draft = make_order(owner=customer)
    submit_paid_order(order=draft, amount_total=draft.total_amount, currency=draft.currency)
    assert write_receipt.call(str(draft.pk)) == "written"  # the worker's job, queued with payment
    return draft


def canceled(customer, operator):
    order = paid_order(owner=customer, state=OrderState.APPROVED)
    update_order(
        order=order.pk,
        actor=operator,
        source=EventSource.OPERATOR,
        status=OrderState.CANCELED,
        note="The design file is too small to print sharply.",
    )
    return order


def fulfilled(customer, operator):
    order = ready(customer, operator)
    transition_order(
        order=order, to=OrderState.FULFILLED, actor=operator, source=EventSource.OPERATOR
    )
    return order


def message(customer, operator):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    add_customer_message(
        order=order, author=operator, body="Your shirts print today.", source=EventSource.OPERATOR
    )
    return order


def proof(customer, operator):
    order = make_order(owner=customer, state=OrderState.SUBMITTED, operator=operator)
    make_proof(order, operator=operator)
    return order


def shipped(customer, operator):
    order = ready(customer, operator)
    record_shipment(order=order.pk, carrier="ups", tracking_number=UPS, actor=operator)
    return order


def corrected(customer, operator):
    order = shipped(customer, operator)
    OutgoingEmail.objects.filter(order=order).delete()
    correct_shipment(
        order=order.pk,
        shipment_id=Shipment.objects.get(order=order).pk,
        carrier="ups",
        tracking_number="1Z999AA10123456795",
        actor=operator,
    )
    return order


def pickup(customer, operator):
    order = ready(customer, operator, delivery="pickup")
    announce_pickup(order=order.pk, actor=operator)
    return order


def collected(customer, operator):
    order = ready(customer, operator, delivery="pickup")
    record_pickup(order=order.pk, actor=operator)
    return order


def refund_sent(customer, operator):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    notifications.refund_succeeded(order=order, amount="$90.00")
    return order


def refund_failed(customer, operator):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    notifications.refund_failed(order=order, amount="$90.00", reason="Card closed")
    return order


def address_fixed(customer, operator):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    notifications.address_corrected(
        order=order,
        address=ShippingAddressData(
            name="Ada Lovelace",
            address1="1600 Amphitheatre Pkwy",
            address2="",
            city="Mountain View",
            state_code="CA",
            country_code="US",
            postal_code="94043",
            phone="",
        ),
    )
    return order


# Each kind of mail, made by the code that sends it in the shop.
SENDERS = {
    OutgoingEmail.Kind.ORDER_RECEIPT: receipt,
    OutgoingEmail.Kind.ORDER_CANCELED: canceled,
    OutgoingEmail.Kind.ORDER_FULFILLED: fulfilled,
    OutgoingEmail.Kind.CUSTOMER_MESSAGE: message,
    OutgoingEmail.Kind.PROOF_SENT: proof,
    OutgoingEmail.Kind.SHIPMENT_SENT: shipped,
    OutgoingEmail.Kind.SHIPMENT_CORRECTED: corrected,
    OutgoingEmail.Kind.PICKUP_READY: pickup,
    OutgoingEmail.Kind.PICKED_UP: collected,
    OutgoingEmail.Kind.REFUND_SUCCEEDED: refund_sent,
    OutgoingEmail.Kind.REFUND_FAILED: refund_failed,
    OutgoingEmail.Kind.ADDRESS_CORRECTED: address_fixed,
}


def test_every_kind_of_mail_is_covered():
    assert set(SENDERS) == set(OutgoingEmail.Kind)


def site_links(body: str) -> list[str]:
    """The links of a mail that are the shop's own (a carrier's tracking page is not)."""
    found = URL.findall(body)
    assert found, body
    ours = [url for url in found if "ups.com" not in url]
    for url in ours:
        assert url.startswith(f"{SITE}/"), url
    return [url.removeprefix(SITE) for url in ours]


@pytest.mark.parametrize("kind", list(SENDERS), ids=str)
def test_each_mail_links_absolutely_to_pages_that_answer_its_reader(
    kind, customer, other_customer, operator, django_user_model
):
    order = SENDERS[kind](customer, operator)
    email = OutgoingEmail.objects.filter(order=order, kind=kind).latest("id")
    reader = django_user_model.objects.get(email=email.to) if email.to != STAFF else operator

    paths = site_links(email.body)

    for path in paths:
        as_reader = Client()
        as_reader.force_login(reader)
        assert as_reader.get(path).status_code == 200, (kind, path)
        anonymous = Client().get(path)
        assert anonymous.status_code == 302, (kind, path)
        assert anonymous["Location"].startswith("/accounts/login/?next="), (kind, path)
        stranger = Client()
        stranger.force_login(other_customer)
        assert stranger.get(path).status_code == 403, (kind, path)


def test_the_password_reset_mail_links_on_site_url(client, customer, task_worker):
    client.post("/accounts/password_reset/", {"email": customer.email}, HTTP_HOST="testserver")
    task_worker()
    [reset] = mail.outbox
    [path] = site_links(reset.body)
    form = client.get(path)
    assert form.status_code == 302
    assert client.get(form["Location"]).status_code == 200


def test_the_sign_up_mails_link_on_site_url(client, customer, task_worker):
    password = "a-long-pass-phrase"
    for email in ("newcomer@example.com", customer.email):
        Client().post(
            "/accounts/signup/", {"email": email, "password1": password, "password2": password}
        )
    task_worker()
    welcome, owner = sorted(mail.outbox, key=lambda m: m.to != ["newcomer@example.com"])
    [activate] = site_links(welcome.body)
    assert client.get(activate).status_code == 302
    for path in site_links(owner.body):
        assert Client().get(path).status_code == 200


def test_the_receipt_says_what_was_ordered_the_total_where_it_goes_and_links(customer, operator):
    order = make_order(
        owner=customer,
        sizes=[("M", 2), ("L", 1)],
        delivery="shipping",
        shipping={
            "name": "Ada Lovelace",
            "address1": "1600 Amphitheatre Pkwy",
            "city": "Mountain View",
            "stateCode": "CA",
            "zip": "94043",
            "countryCode": "US",
        },
    )
    submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)
    assert not OutgoingEmail.objects.filter(order=order)  # the worker writes it
    assert write_receipt.call(str(order.pk)) == "written"
    assert write_receipt.call(str(order.pk)) == "skipped"  # once

    [email] = OutgoingEmail.objects.filter(order=order, kind="order_receipt")

    assert email.subject == f"Receipt for your order {order.reference}"
    body = email.body
    color = order.line_items.first().color.name
    assert f"- 2 × {color}, size M, $18.00 each: $36.00" in body
    assert f"- 1 × {color}, size L" in body
    assert "printed on: Front" in body
    assert f"Total paid: {'$'}{order.total_amount / 100:.2f}" in body
    assert "Ships to:\nAda Lovelace\n1600 Amphitheatre Pkwy\nMountain View CA 94043" in body
    assert f"{SITE}/orders/{order.pk}/" in body


def test_a_pickup_receipt_says_where_to_collect(customer):
    order = make_order(owner=customer, delivery="pickup")
    submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)
    write_receipt.call(str(order.pk))
    [email] = OutgoingEmail.objects.filter(order=order, kind="order_receipt")
    assert "You pick it up at the shop: Print Shop, 12 Mill Lane, Springfield" in email.body


def test_the_cancellation_mail_says_canceled_why_and_the_refund(customer, operator):
    order = canceled(customer, operator)

    [email] = OutgoingEmail.objects.filter(order=order, kind="order_canceled")

    assert email.subject == f"Your order {order.reference} is canceled"
    assert "is canceled. It will not be printed or shipped." in email.body
    assert "Why: The design file is too small to print sharply." in email.body
    assert "Your refund: $90.00 goes back to the card you paid with" in email.body
    assert "5 to 10 business days" in email.body


def test_an_unpaid_order_canceled_by_the_shop_was_not_charged(customer, operator):
    order = make_order(owner=customer)
    update_order(
        order=order.pk,
        actor=operator,
        source=EventSource.OPERATOR,
        status=OrderState.CANCELED,
        note="Duplicate of your other order.",
    )
    [email] = OutgoingEmail.objects.filter(order=order, kind="order_canceled")
    assert "You were not charged." in email.body and "refund" not in email.body.lower()
