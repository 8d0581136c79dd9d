"""The home page as a visitor reads it: a picture (or a neutral placeholder) on each garment card,
the form's wish said as it is (a link to a design file), and no developer text."""

import re

import pytest

from production.models import Garment
from tests.factories import GarmentFactory

pytestmark = pytest.mark.django_db


def visible(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def card_of(page: str, name: str) -> str:
    return next(
        c for c in re.findall(r'<li class="card garment-card">.*?</li>', page, re.S) if name in c
    )


def test_a_garment_without_a_picture_shows_a_placeholder_and_a_foreign_http_one_is_not_shown(
    client,
):
    GarmentFactory(name="Plain Tee", image_url="")
    GarmentFactory(name="Old Tee", image_url="http://images.example.com/tee.png")
    GarmentFactory(name="Shop Tee", image_url="https://cdn.shopify.com/tee.png")
    page = client.get("/").content.decode()
    assert "No picture yet" in card_of(page, "Plain Tee") and "<img" not in card_of(
        page, "Plain Tee"
    )
    assert "<img" not in card_of(page, "Old Tee")  # plain http: blocked on an https page
    assert 'src="https://cdn.shopify.com/tee.png"' in card_of(page, "Shop Tee")
    assert 'width="200" height="200"' in card_of(page, "Shop Tee")


def test_a_picture_among_the_sites_own_files_is_read_from_this_site(client, settings):
    settings.SITE_URL = "https://shop.example.com"
    GarmentFactory(
        name="Demo Tee", image_url="https://shop.example.com/static/demo/garments/classic-tee.svg"
    )
    page = client.get("/").content.decode()
    assert 'src="/static/demo/garments/classic-tee.svg"' in card_of(page, "Demo Tee")


def test_the_page_says_it_wants_a_link_to_a_design_file(client):
    page = visible(client.get("/"))
    assert "link to your design file (PNG, JPEG or SVG)" in page
    assert "upload your design" not in page


def test_developer_text_is_on_the_account_page_not_the_customer_pages(client, customer):
    GarmentFactory()
    assert Garment.objects.exists()
    for who in (None, customer):
        if who:
            client.force_login(who)
        for path in ("/", "/orders/"):
            page = visible(client.get(path))
            assert "manage.py" not in page and "API" not in page, (who, path)
    home = client.get("/").content.decode()
    assert '<a href="/accounts/api-token/">Account</a>' in home
    account = visible(client.get("/accounts/api-token/"))
    assert "For developers: API token" in account
    assert "manage.py api_token EMAIL" in account
