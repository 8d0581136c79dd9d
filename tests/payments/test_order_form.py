"""The customer order form at /orders/new/: the API's service underneath, then checkout."""

import re

import pytest
from django.test import Client

from payments import services as payment_services
from payments.gateway import GatewayError
from production.lifecycle import OrderState, Priority
from production.models import FulfillmentEvent, LineItem, ProductionOrder
from production.pricing import format_money
from tests.factories import ORDER_FORM_ADDRESS, GarmentFactory, make_order

pytestmark = pytest.mark.django_db

URL = "/orders/new/"
PRICE_URL = "/orders/new/price"


@pytest.fixture
def tote(db):
    return GarmentFactory(
        shopify_gid="gid://shopify/Product/345678",
        name="Tote Bag",
        sizes=["One Size"],
        base_price=1200,
        size_upcharges={},
    )


@pytest.fixture
def shopper(customer):
    client = Client()
    client.force_login(customer)
    return client


def form_data(choice, **overrides):
    data = {
        "garment": choice.shopify_gid,
        "design_url": "https://cdn.example.com/design.png",
        "priority": "standard",
        "notes": "Centre the print",
        "form_token": "token-1",
        "qty_m": "2",
        "qty_l": "3",
        **ORDER_FORM_ADDRESS,
    }
    data.update(overrides)
    return data


def snapshot():
    return (
        list(ProductionOrder.objects.values()),
        list(LineItem.objects.values()),
        list(FulfillmentEvent.objects.values()),
    )


def test_anonymous_visitors_are_sent_to_log_in(garment):
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_shows_garments_with_prices_and_the_chosen_garments_sizes(shopper, garment, tote):
    page = shopper.get(URL).content.decode()

    assert "Classic Tee — $18.00 each" in page
    assert "XXL +$2.00" in page
    assert "Tote Bag — $12.00 each" in page
    # The first garment is chosen: its sizes only, not every size of the catalogue.
    for size in ("S", "M", "L", "XL", "XXL"):
        assert f">{size}</label>" in page
    assert 'name="qty_one_size"' not in page
    [chosen] = re.findall(r'<input type="radio" name="garment"[^>]*checked>', page)
    assert f'value="{garment.shopify_gid}"' in chosen
    assert "Rush" in page and 'name="design_url"' in page and 'name="notes"' in page


def test_a_preselected_garment_shows_its_own_sizes(shopper, garment, tote):
    page = shopper.get(URL, {"garment": tote.shopify_gid}).content.decode()

    [chosen] = re.findall(r'<input type="radio" name="garment"[^>]*checked>', page)
    assert f'value="{tote.shopify_gid}"' in chosen, chosen
    assert 'name="qty_one_size"' in page
    assert 'name="qty_m"' not in page and ">XS</label>" not in page
    # Every garment's sizes, for the script that swaps them without a reload.
    assert '"One Size"' in page and '"qty_xxl"' in page
    assert 'id="garment-sizes" type="application/json"' in page
    assert "js/order-form.js" in page


def test_valid_order_becomes_a_priced_draft_and_goes_to_checkout(shopper, customer, garment):
    response = shopper.post(URL, form_data(garment, priority="rush"))

    order = ProductionOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"http://testserver/payments/checkout/cs_local_{order.pk.hex}/"
    assert (order.owner, order.status, order.priority) == (customer, OrderState.DRAFT, "rush")
    assert [(li.size, li.quantity, li.unit_amount) for li in order.line_items.all()] == [
        ("M", 2, 1800),
        ("L", 3, 1800),
    ]
    assert (order.subtotal_amount, order.rush_surcharge_amount, order.total_amount) == (
        9000,
        2250,
        11250,
    )
    assert order.notes == "Centre the print"
    assert [e.message for e in order.events.all()] == ["Order created, awaiting payment"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"qty_m": "", "qty_l": "0"}, "sizes_for", "Enter a quantity for at least one size."),
        ({"qty_m": "-1"}, "qty_m", "greater than or equal to 0"),
        ({"qty_m": "10001"}, "qty_m", "Size M: at most 10,000 per size."),
        ({"design_url": "not a url"}, "design_url", "Enter a valid URL."),
        ({"design_url": "ftp://cdn.example.com/d.png"}, "design_url", "Enter a valid URL."),
        ({"garment": "gid://shopify/Product/0"}, "garment", "Select a valid choice."),
        ({"priority": "hold"}, "priority", "Select a valid choice."),
        ({"notes": "x" * 2001}, "notes", "at most 2000 characters"),
    ],
)
def test_bad_input_shows_the_error_and_writes_nothing(shopper, garment, overrides, field, message):
    response = shopper.post(URL, form_data(garment, **overrides))

    assert response.status_code == 200
    form = response.context["form"]
    errors = form.non_field_errors() if field is None else form.errors[field]
    assert any(message in error for error in errors), errors
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not ProductionOrder.objects.exists()


def test_switching_garment_without_javascript_asks_for_its_sizes(shopper, garment, tote):
    # The page showed the tee's sizes; the tote was chosen before submitting.
    data = form_data(tote, sizes_for=garment.shopify_gid, qty_m="", qty_l="", qty_xl="2")
    response = shopper.post(URL, data)

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["sizes_for"] == [
        "Tote Bag comes in One Size: enter your quantities for these sizes."
    ]
    assert not form.non_field_errors()
    page = response.content.decode()
    # Next to the size fields, which are now the tote's.
    assert re.search(r'id="size-errors">\s*<ul class="errorlist"[^>]*><li>Tote Bag comes in', page)
    assert 'name="qty_one_size"' in page and 'name="qty_xl"' not in page
    assert not ProductionOrder.objects.exists()


def test_a_size_the_garment_does_not_offer_is_never_ordered(shopper, garment, tote):
    shopper.post(URL, form_data(tote, qty_m="", qty_l="", qty_one_size="1", qty_xl="2"))

    assert [(i.size, i.quantity) for i in LineItem.objects.all()] == [("One Size", 1)]


def test_a_bad_design_url_is_said_once_next_to_its_field_and_outlined(shopper, garment):
    response = shopper.post(URL, form_data(garment, design_url="not a url", qty_m="-1"))

    page = response.content.decode()
    assert page.count("Enter a valid URL.") == 1
    assert re.search(r'<input type="url" name="design_url"[^>]*aria-invalid="true"', page)
    assert re.search(r'<input type="number" name="qty_m"[^>]*aria-invalid="true"', page)
    assert not re.search(r'name="qty_l"[^>]*aria-invalid', page)
    assert page.index('name="design_url"') < page.index("Enter a valid URL.")
    assert 'id="form-errors"' not in page


def test_the_submit_button_says_it_is_starting_checkout(shopper, garment):
    page = shopper.get(URL).content.decode()

    assert 'id="submit-order" data-busy-text="Starting checkout…">Continue to payment' in page


class TestPrice:
    def test_live_price_is_the_checkout_total(self, shopper, garment):
        query = {"garment": garment.shopify_gid, "priority": "rush", "qty_m": "2", "qty_xxl": "3"}
        price = shopper.get(PRICE_URL, query).json()

        shopper.post(URL, form_data(garment, priority="rush", qty_l="", qty_xxl="3"))

        order = ProductionOrder.objects.get()
        assert price["totalAmount"] == order.total_amount
        # (2 × 18.00 + 3 × 20.00) × 1.25
        assert price["total"] == "$120.00" == format_money(order.total_amount, "USD")
        assert price["rushSurcharge"] == "$24.00"

    def test_no_quantity_yet_has_no_price(self, shopper, garment):
        response = shopper.get(PRICE_URL, {"garment": garment.shopify_gid, "priority": "standard"})

        assert response.status_code == 200  # an answer while the customer types, not an error
        assert response.json()["ok"] is False
        assert response.json()["message"] == "Enter a quantity to see the price."

    def test_update_price_without_javascript_shows_the_price_and_makes_nothing(
        self, shopper, garment
    ):
        response = shopper.post(URL, form_data(garment, update_price="1"))

        assert response.status_code == 200
        assert re.search(r'id="price-total"[^>]*>\$90\.00<', response.content.decode())
        assert not ProductionOrder.objects.exists()

    def test_anonymous_visitors_get_no_price(self, garment):
        assert Client().get(PRICE_URL, {"garment": garment.shopify_gid}).status_code == 302


def test_inactive_garment_cannot_be_chosen(shopper, garment):
    garment.is_active = False
    garment.save()

    response = shopper.post(URL, form_data(garment))

    assert "garment" in response.context["form"].errors
    assert not ProductionOrder.objects.exists()


def test_double_submit_makes_one_order(shopper, garment):
    first = shopper.post(URL, form_data(garment))
    second = shopper.post(URL, form_data(garment))

    assert ProductionOrder.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_a_new_form_makes_a_new_order(shopper, garment):
    shopper.post(URL, form_data(garment, form_token="token-1"))
    shopper.post(URL, form_data(garment, form_token="token-2"))

    assert ProductionOrder.objects.count() == 2


def test_payment_provider_down_keeps_the_draft_and_a_retry_goes_to_checkout(
    shopper, garment, monkeypatch
):
    class Down:
        def create_session(self, **kwargs):
            raise GatewayError("Stripe is down")

    monkeypatch.setattr(payment_services, "get_gateway", lambda: Down())

    response = shopper.post(URL, form_data(garment))

    assert response.status_code == 200
    assert "could not reach the payment provider" in response.content.decode()
    draft = ProductionOrder.objects.get()
    assert (draft.status, draft.stripe_checkout_session_id) == (OrderState.DRAFT, None)

    monkeypatch.undo()
    retry = shopper.post(URL, form_data(garment))

    assert ProductionOrder.objects.get().pk == draft.pk
    assert retry["Location"].endswith(f"/payments/checkout/cs_local_{draft.pk.hex}/")


class TestPayAgain:
    def test_owner_of_a_draft_goes_back_to_checkout(self, shopper, customer, garment):
        draft = make_order(owner=customer, garment=garment)

        response = shopper.post(f"/payments/orders/{draft.pk}/pay/")

        assert response["Location"].endswith(f"/payments/checkout/cs_local_{draft.pk.hex}/")

    def test_paid_order_goes_to_its_page(self, shopper, customer, garment):
        order = make_order(owner=customer, garment=garment, state=OrderState.SUBMITTED)

        response = shopper.post(f"/payments/orders/{order.pk}/pay/")

        assert response["Location"] == f"/orders/{order.pk}/"

    def test_other_customers_cannot_start_a_checkout(self, garment, other_customer):
        draft = make_order(garment=garment, priority=Priority.STANDARD)
        before = snapshot()
        client = Client()
        client.force_login(other_customer)

        assert client.post(f"/payments/orders/{draft.pk}/pay/").status_code == 403
        assert snapshot() == before


def test_the_form_shares_the_apis_creation_rate(shopper, customer, garment, monkeypatch):
    from production.api.throttles import OrderCreateThrottle
    from tests.factories import token_for

    monkeypatch.setattr(OrderCreateThrottle, "THROTTLE_RATES", {"order-create": "3/min"})
    api = Client(headers={"Authorization": f"Token {token_for(customer)}"})
    body = {
        "designUrl": "https://cdn.example.com/design.png",
        "garmentId": garment.shopify_gid,
        "sizes": [{"size": "M", "quantity": 1}],
    }
    assert api.post("/api/production", body, content_type="application/json").status_code == 201
    assert shopper.post(URL, form_data(garment, form_token="t-1")).status_code == 302
    assert api.post("/api/production", body, content_type="application/json").status_code == 201

    # The fourth creation in the minute, through the form: refused, nothing made, input kept.
    response = shopper.post(URL, form_data(garment, form_token="t-2", notes="Fourth"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "You have started many orders in a short time, so this one was not created." in page
    assert "Fourth" in page
    assert ProductionOrder.objects.count() == 3
    # And the API sees the same count.
    assert api.post("/api/production", body, content_type="application/json").status_code == 429
    # Showing the form is not a creation.
    assert shopper.get(URL).status_code == 200


def test_the_form_throttle_counts_per_user(shopper, garment, other_customer, monkeypatch):
    from production.api.throttles import OrderCreateThrottle

    monkeypatch.setattr(OrderCreateThrottle, "THROTTLE_RATES", {"order-create": "1/min"})
    assert shopper.post(URL, form_data(garment, form_token="a")).status_code == 302
    assert shopper.post(URL, form_data(garment, form_token="b")).status_code == 429
    other = Client()
    other.force_login(other_customer)
    assert other.post(URL, form_data(garment, form_token="c")).status_code == 302


# --- colours and placements (issue 23) -----------------------------------------------------------


@pytest.fixture
def tee_in_colours(garment):
    """The tee in White (default) and Black (M-XXL, +3.00; XL out of stock), front and back."""
    from decimal import Decimal

    from production.models import Variant
    from production.services.catalogue import ColorSpec, PlacementSpec, upsert_catalogue

    upsert_catalogue(
        garment,
        colors=[
            ColorSpec("White", "#ffffff", default=True),
            ColorSpec("Black", "#111111", sizes=["M", "L", "XL", "XXL"]),
        ],
        placements=[
            PlacementSpec("front", Decimal("12"), Decimal("16")),
            PlacementSpec("back", Decimal("12"), Decimal("16"), unit_amount=400),
        ],
    )
    Variant.objects.filter(garment=garment, color__name="Black").update(upcharge=300)
    Variant.objects.filter(garment=garment, color__name="Black", size="XL").update(in_stock=False)
    return garment


def test_the_form_shows_swatches_in_stock_sizes_and_placements(shopper, tee_in_colours):
    page = shopper.get(URL, {"garment": tee_in_colours.shopify_gid}).content.decode()
    assert re.search(
        r'name="color" value="White" id="id_color_0" class="swatch-input" checked', page
    )
    assert 'fill="#111111"' in page and "<span>Black</span>" in page
    assert "Back — 12 × 16 in, +$4.00 per item" in page and 'name="design_back"' in page

    data = form_data(tee_in_colours, color="Black", qty_m="", qty_l="", update_price="1")
    black = shopper.post(URL, data).content.decode()
    # Black has no S, and its XL is out of stock: neither is offered.
    for size in ("M", "L", "XXL"):
        assert f">{size}</label>" in black
    assert ">S</label>" not in black and ">XL</label>" not in black


def test_a_colour_makes_its_line_items_and_its_upcharge_is_charged(shopper, tee_in_colours):
    response = shopper.post(URL, form_data(tee_in_colours, color="Black"))

    assert response.status_code == 302
    order = ProductionOrder.objects.get()
    assert [(li.color.name, li.size, li.unit_amount) for li in order.line_items.all()] == [
        ("Black", "M", 2100),
        ("Black", "L", 2100),
    ]
    assert order.total_amount == 5 * 2100


def test_a_size_out_of_stock_in_the_colour_is_refused_in_the_services_words(
    shopper, tee_in_colours
):
    response = shopper.post(URL, form_data(tee_in_colours, color="Black", qty_xl="1"))

    assert response.status_code == 200
    assert response.context["form"].errors["sizes_for"] == [
        "Classic Tee in Black, size XL, is out of stock."
    ]
    page = response.content.decode()
    assert re.search(
        r'id="size-errors">\s*<ul class="errorlist"[^>]*><li>Classic Tee in Black', page
    )
    assert 'name="qty_xl"' in page  # still shown, so it can be cleared
    assert not ProductionOrder.objects.exists()


def test_an_unknown_colour_is_refused_next_to_the_colours(shopper, tee_in_colours):
    response = shopper.post(URL, form_data(tee_in_colours, color="Purple"))

    assert response.status_code == 200
    [error] = response.context["form"].errors["color"]
    assert error.startswith("Colour 'Purple' is not offered for Classic Tee")
    assert not ProductionOrder.objects.exists()


def test_a_back_design_is_ordered_and_priced(shopper, tee_in_colours):
    back = "https://cdn.example.com/back.png"
    response = shopper.post(URL, form_data(tee_in_colours, design_back=back))

    assert response.status_code == 302
    order = ProductionOrder.objects.get()
    assert [(d.placement.code, d.url) for d in order.designs.all()] == [
        ("front", "https://cdn.example.com/design.png"),
        ("back", back),
    ]
    assert order.total_amount == 5 * (1800 + 400)


@pytest.mark.parametrize(
    "overrides",
    [
        {"color": "Black", "priority": "rush", "design_back": "https://cdn.example.com/b.png"},
        {"color": "White", "qty_xxl": "1"},
        {"color": "Black", "qty_xxl": "4", "design_back": "https://cdn.example.com/b.png"},
    ],
)
def test_the_live_price_is_what_the_order_charges(shopper, tee_in_colours, overrides):
    data = form_data(tee_in_colours, **overrides)
    price = shopper.get(PRICE_URL, data).json()

    shopper.post(URL, data)
    order = ProductionOrder.objects.get()
    assert price["ok"] is True
    assert price["totalAmount"] == order.total_amount
    assert price["total"] == format_money(order.total_amount, "usd")


def test_the_live_price_says_why_a_colour_size_cannot_be_priced(shopper, tee_in_colours):
    body = shopper.get(PRICE_URL, form_data(tee_in_colours, color="Black", qty_xl="1")).json()

    assert body["ok"] is False
    assert body["errors"]["sizes_for"] == ["Classic Tee in Black, size XL, is out of stock."]


ADDRESS = {
    "delivery": "shipping",
    "ship_name": "Ada Lovelace",
    "ship_address1": "1600 Amphitheatre Pkwy",
    "ship_city": "Mountain View",
    "ship_state": "California",
    "ship_zip": "94043",
    "ship_country": "US",
}


def test_delivery_offers_shipping_and_pickup_only_where_the_shop_has_an_address(
    shopper, garment, settings
):
    settings.PICKUP_ADDRESS = ""
    page = shopper.get(URL).content.decode()
    assert 'value="shipping"' in page and 'value="pickup"' not in page
    assert '<option value="US">United States</option>' in page

    settings.PICKUP_ADDRESS = "12 Mill Lane"
    page = shopper.get(URL).content.decode()
    assert "Pickup at the shop (12 Mill Lane)" in page


def test_shipping_is_preselected_and_a_post_without_a_delivery_choice_makes_nothing(
    shopper, garment
):
    page = shopper.get(URL).content.decode()
    assert re.search(r'<input type="radio" name="delivery" value="shipping"[^>]* checked', page)

    before = snapshot()
    data = form_data(garment)
    del data["delivery"]
    response = shopper.post(URL, data)

    assert response.status_code == 200
    assert response.context["form"].errors["delivery"] == ["Choose shipping or pickup."]
    assert "Choose shipping or pickup." in response.content.decode()
    assert snapshot() == before


def test_shipping_without_an_address_is_refused_next_to_the_address_fields(shopper, garment):
    before = snapshot()
    blank = {field: "" for field in ORDER_FORM_ADDRESS if field != "delivery"}
    response = shopper.post(URL, form_data(garment, **blank))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["ship_name"] == ["This field is required."]
    assert errors["ship_address1"] == ["This field is required."]
    assert errors["ship_country"] == ["This field is required."]
    assert snapshot() == before


def test_shipping_order_carries_the_checked_address_and_the_shipping_line(
    shopper, garment, settings
):
    settings.SHIPPING_RATES = {"US": 500}
    response = shopper.post(URL, form_data(garment, **ADDRESS))

    order = ProductionOrder.objects.get()
    assert response.status_code == 302
    assert order.delivery == "shipping"
    assert (order.subtotal_amount, order.shipping_amount, order.total_amount) == (9000, 500, 9500)
    address = order.shipping_address
    assert (address.name, address.city, address.state_code, address.postal_code) == (
        "Ada Lovelace",
        "Mountain View",
        "CA",
        "94043",
    )
    assert address.country_code == "US"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"ship_zip": "9404"}, "ship_zip", "Not a valid postal code for US"),
        ({"ship_state": "Narnia"}, "ship_state", "Not a state or province of US"),
        ({"ship_name": ""}, "ship_name", "This field is required."),
        ({"ship_country": ""}, "ship_country", "This field is required."),
        ({"ship_country": "ZZ"}, "ship_country", "Select a valid choice."),
    ],
)
def test_a_wrong_address_is_refused_next_to_its_field_and_writes_nothing(
    shopper, garment, overrides, field, message
):
    before = snapshot()
    response = shopper.post(URL, form_data(garment, **{**ADDRESS, **overrides}))

    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors
    page = response.content.decode()
    assert f'id="id_{field}"' in page and message in page
    assert snapshot() == before


def test_pickup_order_has_no_address_and_no_shipping(shopper, garment, settings):
    settings.PICKUP_ADDRESS = "12 Mill Lane"
    settings.SHIPPING_RATE = 700
    response = shopper.post(URL, form_data(garment, delivery="pickup"))

    order = ProductionOrder.objects.get()
    assert response.status_code == 302
    assert (order.delivery, order.shipping_amount, order.total_amount) == ("pickup", 0, 9000)
    assert not hasattr(order, "shipping_address") or order.shipping_address is None


def test_pickup_is_refused_where_the_shop_has_no_pickup_address(shopper, garment, settings):
    settings.PICKUP_ADDRESS = ""
    response = shopper.post(URL, form_data(garment, delivery="pickup"))

    assert "Select a valid choice." in str(response.context["form"].errors["delivery"])
    assert not ProductionOrder.objects.exists()


def test_live_price_includes_the_shipping_line_of_the_country(shopper, garment, settings):
    settings.SHIPPING_RATES = {"US": 500, "CA": 1500}
    query = {"garment": garment.shopify_gid, "priority": "standard", "qty_m": "2"}

    us = shopper.get(PRICE_URL, {**query, "delivery": "shipping", "ship_country": "US"}).json()
    ca = shopper.get(PRICE_URL, {**query, "delivery": "shipping", "ship_country": "CA"}).json()
    none = shopper.get(PRICE_URL, query).json()

    assert (us["total"], us["shipping"]) == ("$41.00", "$5.00")
    assert (ca["total"], ca["shipping"]) == ("$51.00", "$15.00")
    assert (none["total"], none["shipping"]) == ("$36.00", "")
