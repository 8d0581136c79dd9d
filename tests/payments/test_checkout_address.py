"""The address Stripe Checkout collects for an order that has none (an API order without
`shipping`): the session asks for it, the webhook stores it (checked, or flagged for the
operators when the check fails: the payment is never lost), and the local simulator asks for
the same fields and sends them as Stripe does."""

import copy

import pytest
from django.test import Client, RequestFactory

from payments import services as payment_services
from payments.models import ProcessedEvent
from payments.services import start_checkout
from production.lifecycle import OrderState
from production.models import FulfillmentEvent, ProductionOrder, ShippingAddress
from tests.factories import make_order
from tests.payments.stripe_events import checkout_session, deliver, stripe_event

pytestmark = pytest.mark.django_db

COMPLETED = "checkout.session.completed"

# Stripe's shipping details (a Checkout Session's `collected_information.shipping_details`).
STRIPE_ADDRESS = {
    "address": {
        "city": "Mountain View",
        "country": "US",
        "line1": "1600 Amphitheatre Pkwy",
        "line2": None,
        "postal_code": "94043",
        "state": "California",
    },
    "name": "Ada Lovelace",
}

# The simulator's address fields, as its Pay button posts them.
PAY = {
    "action": "pay",
    "shipping-name": "Ada Lovelace",
    "shipping-line1": "1600 Amphitheatre Pkwy",
    "shipping-line2": "",
    "shipping-city": "Mountain View",
    "shipping-state": "CA",
    "shipping-postal_code": "94043",
    "shipping-country": "US",
}


@pytest.fixture(autouse=True)
def shop(settings):
    settings.SITE_URL = "http://shop.test"
    settings.SHIPPING_COUNTRIES = ["US", "GB"]
    settings.PICKUP_ADDRESS = "12 Mill Lane"


@pytest.fixture
def draft(customer, garment):
    """An order as the reference API makes it: no `delivery`, no `shipping`."""
    order = make_order(owner=customer, garment=garment, sizes=[("M", 2)])
    start_checkout(order=order)
    return ProductionOrder.objects.get(pk=order.pk)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def paid_with(order, **fields):
    session = checkout_session(order)
    session["collected_information"] = {
        "business_name": None,
        "individual_name": None,
        "shipping_details": None,
    }
    session.update(fields)
    return session


def address_events(order):
    return list(FulfillmentEvent.objects.filter(order=order, kind="address"))


# --- the webhook -------------------------------------------------------------------------------


def test_the_collected_address_is_checked_and_stored_on_the_paid_order(draft, operator):
    session = paid_with(draft)
    session["collected_information"]["shipping_details"] = STRIPE_ADDRESS

    response = deliver(Client(), stripe_event(COMPLETED, session, "evt_addr_1"))

    assert response.status_code == 200
    order = ProductionOrder.objects.get(pk=draft.pk)
    assert (order.status, order.delivery) == (OrderState.SUBMITTED, "shipping")
    address = ShippingAddress.objects.get(order=order)
    # Checked per country: "California" is stored as the US writes it.
    assert (address.name, address.address1, address.city, address.state_code) == (
        "Ada Lovelace",
        "1600 Amphitheatre Pkwy",
        "Mountain View",
        "CA",
    )
    assert (address.postal_code, address.country_code) == ("94043", "US")
    [event] = address_events(order)
    assert event.status == "Delivery address given at checkout"
    assert event.metadata["needsCheck"] is False
    # The operator sees it, with nothing to check.
    page = client_for(operator).get(f"/ops/orders/{order.pk}/").content.decode()
    assert "Ada Lovelace, 1600 Amphitheatre Pkwy, Mountain View CA 94043, United States" in page
    assert 'id="address-needs-check"' not in page and 'id="address-missing"' not in page


def test_an_older_api_versions_shipping_details_are_read_too(draft):
    session = paid_with(draft, shipping_details=STRIPE_ADDRESS)
    session.pop("collected_information")

    deliver(Client(), stripe_event(COMPLETED, session, "evt_addr_old"))

    assert ShippingAddress.objects.get(order=draft).postal_code == "94043"


def test_an_address_that_fails_the_check_is_kept_flagged_and_the_payment_counts(
    draft, operator, customer
):
    details = copy.deepcopy(STRIPE_ADDRESS)
    details["address"]["postal_code"] = "9404"  # four digits: no US ZIP
    session = paid_with(draft)
    session["collected_information"]["shipping_details"] = details

    response = deliver(Client(), stripe_event(COMPLETED, session, "evt_addr_bad"))

    assert response.status_code == 200
    assert ProcessedEvent.objects.get(event_id="evt_addr_bad").outcome == "submitted"
    order = ProductionOrder.objects.get(pk=draft.pk)
    assert (order.status, order.delivery) == (OrderState.SUBMITTED, "shipping")
    address = ShippingAddress.objects.get(order=order)
    assert (address.postal_code, address.state_code) == ("9404", "California")  # as given
    [event] = address_events(order)
    assert event.metadata["needsCheck"] is True
    assert "shipping.zip" in event.metadata["errors"]

    ops = client_for(operator)
    page = ops.get(f"/ops/orders/{order.pk}/").content.decode()
    assert 'id="address-needs-check"' in page
    assert "Not a valid postal code for US" in page

    # An operator's correction settles it.
    fixed = {
        "address-name": "Ada Lovelace",
        "address-address1": "1600 Amphitheatre Pkwy",
        "address-address2": "",
        "address-city": "Mountain View",
        "address-state_code": "CA",
        "address-country_code": "US",
        "address-postal_code": "94043",
        "address-phone": "",
        "address-note": "Checked with the customer",
    }
    assert ops.post(f"/ops/orders/{order.pk}/shipping-address", fixed).status_code == 302
    page = ops.get(f"/ops/orders/{order.pk}/").content.decode()
    assert 'id="address-needs-check"' not in page
    assert "Mountain View CA 94043, United States" in page
    assert ShippingAddress.objects.get(order=order).postal_code == "94043"


def test_an_order_that_has_its_address_or_is_picked_up_keeps_what_it_has(customer, garment):
    known = make_order(
        owner=customer,
        garment=garment,
        shipping={
            "name": "Grace Hopper",
            "address1": "1 Navy Way",
            "city": "Arlington",
            "stateCode": "VA",
            "countryCode": "US",
            "zip": "22202",
        },
    )
    pickup = make_order(owner=customer, garment=garment, delivery="pickup")
    for number, order in enumerate((known, pickup)):
        start_checkout(order=order)
        order = ProductionOrder.objects.get(pk=order.pk)
        session = paid_with(order)
        session["collected_information"]["shipping_details"] = STRIPE_ADDRESS
        deliver(Client(), stripe_event(COMPLETED, session, f"evt_keep_{number}"))

    assert ShippingAddress.objects.get(order=known).name == "Grace Hopper"
    assert not ShippingAddress.objects.filter(order=pickup).exists()
    assert ProductionOrder.objects.get(pk=pickup.pk).delivery == "pickup"
    assert not FulfillmentEvent.objects.filter(kind="address").exists()


def test_stripes_empty_example_address_is_no_address(draft, operator):
    # Stripe's example session carries an all-empty address: nothing was collected.
    deliver(Client(), stripe_event(COMPLETED, checkout_session(draft), "evt_example"))

    order = ProductionOrder.objects.get(pk=draft.pk)
    assert (order.status, order.delivery) == (OrderState.SUBMITTED, "unknown")
    assert not ShippingAddress.objects.filter(order=order).exists()
    page = client_for(operator).get(f"/ops/orders/{order.pk}/").content.decode()
    assert 'id="address-missing"' in page


# --- the local simulator -----------------------------------------------------------------------


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = ""


@pytest.fixture
def local_draft(customer, garment, debug):
    order = make_order(owner=customer, garment=garment, sizes=[("M", 2)])
    start_checkout(order=order, request=RequestFactory().get("/"))
    return ProductionOrder.objects.get(pk=order.pk)


def simulator(order):
    return f"/payments/checkout/{order.stripe_checkout_session_id}/"


def test_the_simulator_asks_for_the_address_in_the_countries_shipped_to(customer, local_draft):
    page = client_for(customer).get(simulator(local_draft)).content.decode()

    assert 'id="checkout-address"' in page
    for name in ("shipping-name", "shipping-line1", "shipping-city", "shipping-postal_code"):
        assert f'name="{name}"' in page
    assert '<option value="US">United States</option>' in page
    assert '<option value="GB">United Kingdom</option>' in page
    assert '<option value="FR">' not in page


def test_the_simulator_refuses_to_pay_without_an_address_next_to_its_fields(customer, local_draft):
    response = client_for(customer).post(f"{simulator(local_draft)}action/", {"action": "pay"})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="checkout-shipping-line1-error"' in page and "This field is required." in page
    assert ProductionOrder.objects.get(pk=local_draft.pk).status == OrderState.DRAFT
    assert not ProcessedEvent.objects.exists()


def test_the_simulator_sends_the_address_as_stripe_does_and_the_order_carries_it(
    customer, local_draft, monkeypatch
):
    delivered = []
    real_verify = payment_services.verify_event

    def spy(**kwargs):
        event = real_verify(**kwargs)
        delivered.append(event)
        return event

    monkeypatch.setattr(payment_services, "verify_event", spy)
    owner = client_for(customer)

    response = owner.post(f"{simulator(local_draft)}action/", PAY)

    assert response.status_code == 302
    [event] = delivered
    session = event["data"]["object"]
    assert session["collected_information"]["shipping_details"] == {
        "address": {
            "city": "Mountain View",
            "country": "US",
            "line1": "1600 Amphitheatre Pkwy",
            "line2": None,
            "postal_code": "94043",
            "state": "CA",
        },
        "name": "Ada Lovelace",
    }
    assert session["shipping_address_collection"] == {"allowed_countries": ["US", "GB"]}
    assert session["shipping_cost"]["amount_total"] == 0
    order = ProductionOrder.objects.get(pk=local_draft.pk)
    assert (order.status, order.delivery) == (OrderState.SUBMITTED, "shipping")
    page = owner.get(f"/orders/{order.pk}/").content.decode()
    for text in ("Ada Lovelace", "1600 Amphitheatre Pkwy", "Mountain View, CA 94043"):
        assert text in page
    assert "United States" in page


def test_an_order_with_its_address_is_not_asked_again(customer, garment, debug):
    order = make_order(
        owner=customer,
        garment=garment,
        shipping={
            "name": "Grace Hopper",
            "address1": "1 Navy Way",
            "city": "Arlington",
            "stateCode": "VA",
            "countryCode": "US",
            "zip": "22202",
        },
    )
    start_checkout(order=order, request=RequestFactory().get("/"))
    order = ProductionOrder.objects.get(pk=order.pk)
    owner = client_for(customer)

    page = owner.get(simulator(order)).content.decode()
    assert 'id="checkout-address"' not in page and "1 Navy Way" in page
    assert owner.post(f"{simulator(order)}action/", {"action": "pay"}).status_code == 302
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.SUBMITTED
