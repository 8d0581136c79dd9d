"""Money reads the same on every page, mail and export, in every currency Stripe counts."""

import csv
import io

import pytest
from django.test import Client

from production.lifecycle import OrderState
from production.pricing import format_money
from tests.factories import GarmentFactory, make_order


@pytest.mark.parametrize(
    ("amount", "currency", "shown", "plain"),
    [
        (1800, "usd", "$18.00", "18.00"),
        (123456789, "eur", "€1,234,567.89", "1234567.89"),
        (5, "EUR", "€0.05", "0.05"),
        # Zero-decimal (Stripe): the amount is whole yen / won.
        (1800, "jpy", "¥1,800", "1800"),
        (1500000, "krw", "₩1,500,000", "1500000"),
        # Three-decimal (Stripe): 1 dinar is 1,000 fils.
        (18250, "kwd", "KWD18.250", "18.250"),
        (1800, "bhd", "BHD1.800", "1.800"),
        # ISK is two-decimal in Stripe's API (100 is 1 króna); people write whole krónur.
        (50000, "isk", "ISK500", "500.00"),
        (0, "usd", "$0.00", "0.00"),
        (1850, "gbp", "£18.50", "18.50"),
        # Beyond the decimal module's default 28 digits (a Stripe event may name anything).
        (10**30, "usd", "$10,000,000,000,000,000,000,000,000,000.00", f"{10**28}.00"),
    ],
)
def test_amounts_in_minor_units_read_as_people_write_them(amount, currency, shown, plain):
    assert format_money(amount, currency) == shown
    assert format_money(amount, currency, plain=True) == plain


@pytest.mark.parametrize(
    ("locale", "amount", "currency", "shown"),
    [
        ("de_DE", 1800, "eur", "18,00\xa0€"),
        ("de_DE", 123456789, "eur", "1.234.567,89\xa0€"),
        ("fr_FR", 1800, "eur", "18,00\xa0€"),
        ("en_GB", 1800, "gbp", "£18.00"),
        ("ja_JP", 1800, "jpy", "￥1,800"),
        ("en_US", 1800, "cad", "CA$18.00"),
    ],
)
def test_money_is_written_as_the_shops_locale_writes_it(settings, locale, amount, currency, shown):
    settings.MONEY_LOCALE = locale
    assert format_money(amount, currency) == shown
    # The CSV keeps the plain number whatever the locale: spreadsheets parse it.
    assert format_money(amount, currency, plain=True).replace(".", "").lstrip("0") == str(amount)


def test_no_amount_shows_nothing():
    assert format_money(None, "usd") == ""


@pytest.fixture
def yen_order(db, customer, operator):
    tee = GarmentFactory(name="Yen Tee", currency="jpy", base_price=1800, size_upcharges={})
    return make_order(owner=customer, garment=tee, sizes=[("M", 1)], state=OrderState.SUBMITTED)


def test_a_yen_order_shows_whole_yen_on_every_page(yen_order, customer, operator):
    shopper, ops = Client(), Client()
    shopper.force_login(customer)
    ops.force_login(operator)
    pages = {
        "customer list": shopper.get("/orders/"),
        "customer order": shopper.get(f"/orders/{yen_order.id}/"),
        "ops order": ops.get(f"/ops/orders/{yen_order.id}/"),
        "home": shopper.get("/"),
        "order form": shopper.get("/orders/new/"),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert "¥1,800" in html, name
        assert "¥18.00" not in html and "JPY" not in html, name

    exported = b"".join(ops.get("/ops/orders/export.csv").streaming_content).decode()
    [row] = csv.DictReader(io.StringIO(exported))
    assert (row["Total"], row["Currency"]) == ("1800", "JPY")


def test_the_live_price_is_written_in_the_shops_locale_by_the_server(settings, customer):
    """The order form's script shows the strings the price endpoint sends (static/js/
    order-form.js formats no money), so page and script agree in every locale."""
    settings.MONEY_LOCALE = "de_DE"
    tee = GarmentFactory(name="Euro Tee", currency="eur", base_price=1800, size_upcharges={})
    shopper = Client()
    shopper.force_login(customer)

    body = shopper.get(
        "/orders/new/price", {"garment": tee.shopify_gid, "priority": "standard", "qty_m": "2"}
    ).json()
    page = shopper.get(f"/orders/new/?garment={tee.shopify_gid}").content.decode()

    assert body["total"] == "36,00\xa0€" == format_money(3600, "eur")
    assert "Euro Tee — 18,00\xa0€ each" in page
