"""Colours, variants and print placements (issue 23): what a customer can order, what it costs,
and what the order then says, through the API, the services and the admin."""

import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection

from production.models import (
    Garment,
    GarmentColor,
    LineItem,
    OrderDesign,
    Placement,
    ProductionOrder,
    Variant,
)
from production.services.catalogue import ColorSpec, PlacementSpec, upsert_catalogue
from tests.factories import GarmentFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/production"
DESIGN = "https://cdn.example.com/design.png"
BACK = "https://cdn.example.com/back.png"


def reference_body(**overrides) -> dict:
    body = {
        "designUrl": DESIGN,
        "garmentId": "gid://shopify/Product/123456",
        "sizes": [{"size": "M", "quantity": 2}, {"size": "L", "quantity": 3}],
        "priority": "standard",
    }
    return {**body, **overrides}


@pytest.fixture
def tee(garment):
    """The reference garment (18.00, XXL +2.00) in White (default) and Black (XXL +5.00, no S),
    printable front (included), back (+5.00) and left sleeve (+3.00)."""
    upsert_catalogue(
        garment,
        colors=[
            ColorSpec("White", "#ffffff", default=True),
            ColorSpec("Black", "#111111", sizes=["M", "L", "XL", "XXL"]),
        ],
        placements=[
            PlacementSpec("front", Decimal("12"), Decimal("16")),
            PlacementSpec("back", Decimal("12"), Decimal("16"), unit_amount=500),
            PlacementSpec("left_sleeve", Decimal("3.5"), Decimal("3.5"), unit_amount=300),
        ],
    )
    Variant.objects.filter(color__name="Black", size="XXL").update(upcharge=500)
    return garment


def post(api, **overrides):
    return api.post(URL, reference_body(**overrides), format="json")


def order_of(response) -> ProductionOrder:
    assert response.status_code == 201, response.json()
    return ProductionOrder.objects.get(pk=response.json()["orderId"])


def nothing_written() -> bool:
    return not (ProductionOrder.objects.exists() or LineItem.objects.exists())


def test_the_reference_request_without_colour_makes_the_same_order(customer_api, garment):
    order = order_of(post(customer_api))
    assert order.total_amount == 5 * 1800
    lines = list(order.line_items.select_related("color"))
    assert [(li.size, li.quantity, li.unit_amount, li.color.name) for li in lines] == [
        ("M", 2, 1800, "Default"),
        ("L", 3, 1800, "Default"),
    ]
    assert all(li.color.is_default for li in lines)
    assert [(d.placement.code, d.url) for d in order.designs.all()] == [("front", DESIGN)]


def test_a_size_upcharge_is_the_variants(customer_api, garment):
    order = order_of(post(customer_api, sizes=[{"size": "XXL", "quantity": 1}]))
    assert order.total_amount == 1800 + 200


def test_a_colour_is_named_case_insensitively_and_priced_with_its_upcharge(customer_api, tee):
    sizes = [{"size": "XXL", "quantity": 2, "color": "black"}, {"size": "M", "quantity": 1}]
    order = order_of(post(customer_api, sizes=sizes))
    lines = list(order.line_items.select_related("color").order_by("id"))
    assert [(li.color.name, li.size, li.unit_amount) for li in lines] == [
        ("Black", "XXL", 1800 + 500),
        ("White", "M", 1800),
    ]
    assert order.total_amount == 2 * 2300 + 1800
    assert lines[0].sku == Variant.objects.get(color__name="Black", size="XXL").sku


def test_an_extra_placement_is_priced_per_item(customer_api, tee):
    designs = [{"placement": "back", "url": BACK}, {"placement": "front", "url": DESIGN}]
    order = order_of(post(customer_api, designs=designs, priority="rush"))
    # (18.00 + 5.00 back) x 5 items, plus 25 % rush.
    assert order.subtotal_amount == 5 * 2300
    assert order.total_amount == 5 * 2300 + (5 * 2300 * 25 + 50) // 100
    assert {(d.placement.code, d.url) for d in order.designs.all()} == {
        ("front", DESIGN),
        ("back", BACK),
    }


def test_an_out_of_stock_variant_is_refused_and_nothing_is_written(customer_api, tee):
    Variant.objects.filter(color__name="Black", size="L").update(in_stock=False)
    response = post(customer_api, sizes=[{"size": "L", "quantity": 1, "color": "Black"}])
    assert response.status_code == 400
    assert response.json()["details"]["sizes"] == ["Classic Tee in Black, size L, is out of stock."]
    assert nothing_written()
    # White L is another variant, still in stock.
    assert post(customer_api, sizes=[{"size": "L", "quantity": 1}]).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (
            {"sizes": [{"size": "M", "quantity": 1, "color": "Purple"}]},
            "sizes",
            "Colour 'Purple' is not offered for Classic Tee (offered: White, Black).",
        ),
        (
            {"sizes": [{"size": "S", "quantity": 1, "color": "Black"}]},
            "sizes",
            "Size 'S' is not offered in Black for Classic Tee (offered: M, L, XL, XXL).",
        ),
        (
            {"sizes": [{"size": "M", "quantity": 1}, {"size": "M", "quantity": 2}]},
            "sizes",
            "Size 'M' appears more than once.",
        ),
        (
            {"designs": [{"placement": "right_sleeve", "url": BACK}]},
            "designs",
            "Placement 'right_sleeve' is not offered for Classic Tee "
            "(offered: front, back, left_sleeve).",
        ),
        (
            {"designs": [{"placement": "back", "url": BACK}, {"placement": "back", "url": BACK}]},
            "designs",
            "Placement 'back' appears more than once.",
        ),
        (
            {"designs": [{"placement": "front", "url": BACK}]},
            "designs",
            "The front design is designUrl; a different front design in designs conflicts with it.",
        ),
    ],
)
def test_what_the_garment_does_not_offer_is_refused(customer_api, tee, overrides, field, words):
    response = post(customer_api, **overrides)
    assert response.status_code == 400
    assert response.json()["details"][field] == [words]
    assert nothing_written()


def test_a_design_url_is_checked_like_design_url(customer_api, tee):
    response = post(customer_api, designs=[{"placement": "back", "url": "javascript:alert(1)"}])
    assert response.status_code == 400
    assert "designs" in response.json()["details"]
    assert nothing_written()


def test_the_order_shows_colours_skus_designs_and_the_garments_catalogue(customer_api, tee):
    sizes = [{"size": "XXL", "quantity": 1, "color": "Black"}]
    designs = [{"placement": "back", "url": BACK}]
    order = order_of(post(customer_api, sizes=sizes, designs=designs))
    Variant.objects.filter(color__name="Black", size="XL").update(in_stock=False)
    body = customer_api.get(f"{URL}/{order.pk}").json()["order"]
    [line] = body["lineItems"]
    assert (line["color"], line["size"], line["unitAmount"]) == ("Black", "XXL", 2800)
    assert line["sku"] == Variant.objects.get(color__name="Black", size="XXL").sku
    assert body["designUrl"] == DESIGN
    assert body["designs"] == [
        {"placement": "front", "placementName": "Front", "url": DESIGN},
        {"placement": "back", "placementName": "Back", "url": BACK},
    ]
    garment = body["garment"]
    assert garment["colors"] == [
        {
            "name": "White",
            "hex": "#ffffff",
            "sizes": ["S", "M", "L", "XL", "XXL"],
            "default": True,
        },
        {"name": "Black", "hex": "#111111", "sizes": ["M", "L", "XXL"], "default": False},
    ]
    assert garment["placements"][:2] == [
        {"code": "front", "name": "Front", "widthIn": 12.0, "heightIn": 16.0, "unitAmount": 0},
        {"code": "back", "name": "Back", "widthIn": 12.0, "heightIn": 16.0, "unitAmount": 500},
    ]
    # The list rows carry the line's colour and SKU too (no designs: the detail has them).
    [row] = customer_api.get(URL).json()["orders"]
    assert row["lineItems"][0]["color"] == "Black"


def test_the_schema_documents_the_new_fields(client):
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert "color" in schemas["SizeQuantityInputRequest"]["properties"]
    assert "designs" in schemas["CreateOrderInputRequest"]["properties"]
    assert {"color", "sku"} <= set(schemas["LineItemOutput"]["properties"])
    assert "designs" in schemas["OrderOutput"]["properties"]
    assert {"colors", "placements"} <= set(schemas["GarmentCatalogueOutput"]["properties"])
    # The spec's request fields stay required as they were; the new ones are optional.
    assert set(schemas["CreateOrderInputRequest"]["required"]) == {
        "designUrl",
        "garmentId",
        "sizes",
    }
    assert set(schemas["SizeQuantityInputRequest"]["required"]) == {"size", "quantity"}


def test_support_marks_a_variant_out_of_stock_in_the_admin_and_it_is_refused(client, customer_api):
    call_command("seed_demo")  # the Support group and its user, the demo catalogue
    support = UserFactory._meta.model.objects.get(email="support@example.com")
    client.force_login(support)
    tee = Garment.objects.get(shopify_gid="gid://shopify/Product/123456")
    variant = Variant.objects.get(garment=tee, color__name="White", size="M")
    response = client.post(
        "/admin/production/variant/",
        {"action": "mark_out_of_stock", "_selected_action": [variant.pk]},
    )
    assert response.status_code == 302
    variant.refresh_from_db()
    assert not variant.in_stock
    refused = post(customer_api, sizes=[{"size": "M", "quantity": 1}])
    assert refused.json()["details"]["sizes"] == [
        "Classic Cotton Tee in White, size M, is out of stock."
    ]
    # Support sees the garment's page (colours, variants, placements) but cannot edit prices.
    assert client.get(f"/admin/production/garment/{tee.pk}/change/").status_code == 200
    page = client.get(f"/admin/production/variant/{variant.pk}/change/").content.decode()
    assert 'name="upcharge"' not in page and 'name="in_stock"' in page


def test_the_garment_page_shows_its_colours_and_a_garment_without_a_default_gets_one(
    admin_client, tee
):
    url = f"/admin/production/garment/{tee.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "Black" in page.content.decode()
    GarmentColor.objects.filter(garment=tee).update(is_default=False)
    # A garment left without a default (by hand, in SQL) gets its first colour as the default
    # when it is next ordered or saved.
    from production.services.catalogue import ensure_catalogue

    ensure_catalogue(tee)
    assert list(tee.colors.filter(is_default=True).values_list("name", flat=True)) == ["White"]


def test_the_migration_gives_every_garment_a_default_colour_variants_and_a_front():
    migration = importlib.import_module(
        "production.migrations.0013_catalogue_colors_variants_placements"
    )
    plain = Garment.objects.create(
        shopify_gid="gid://shopify/Product/1",
        name="Old Tee",
        sizes=["S", "XXL"],
        base_price=1500,
        size_upcharges={"XXL": 250},
    )
    tote = Garment.objects.create(
        shopify_gid="gid://shopify/Product/2", name="Old Tote", sizes=["One Size"], base_price=900
    )
    migration.backfill_catalogue(django_apps, SimpleNamespace(connection=connection, execute=print))
    for garment in (plain, tote):
        [color] = garment.colors.all()
        assert (color.name, color.is_default) == ("Default", True)
        assert sorted(v.size for v in color.variants.all()) == sorted(garment.sizes)
        front = Placement.objects.get(garment=garment)
        assert (front.code, front.width_in, front.height_in, front.unit_amount) == (
            "front",
            Decimal("12.00"),
            Decimal("16.00"),
            0,
        )
    assert {v.size: v.upcharge for v in plain.variants.all()} == {"S": 0, "XXL": 250}
    assert plain.variants.get(size="XXL").sku == f"G{plain.pk}-DEFAULT-XXL"


def test_a_garment_made_without_a_catalogue_gets_the_default_one_when_ordered(customer_api):
    Garment.objects.create(
        shopify_gid="gid://shopify/Product/123456",
        name="Classic Tee",
        sizes=["M", "L"],
        base_price=1800,
    )
    order = order_of(post(customer_api))
    assert order.total_amount == 5 * 1800
    assert OrderDesign.objects.get(order=order).placement.code == "front"


def test_factories_give_garments_their_catalogue():
    garment = GarmentFactory()
    assert garment.colors.get(is_default=True).name == "Default"
    assert garment.variants.count() == len(garment.sizes)
    assert garment.placements.get().code == "front"


def test_a_retry_with_the_same_key_is_the_same_order_however_the_colour_is_spelled(
    customer_api, tee
):
    def keyed(**overrides):
        return customer_api.post(
            URL, reference_body(**overrides), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
        )

    first = keyed(
        sizes=[{"size": "M", "quantity": 2, "color": "Black"}, {"size": "L", "quantity": 3}],
        designs=[{"placement": "back", "url": BACK}],
    )
    again = keyed(
        sizes=[
            {"size": "M", "quantity": 2, "color": "black"},
            {"size": "L", "quantity": 3, "color": "White"},
        ],
        designs=[{"placement": "back", "url": BACK}],
    )
    assert again.json()["orderId"] == first.json()["orderId"]
    other = keyed(sizes=[{"size": "M", "quantity": 2}, {"size": "L", "quantity": 3}])
    assert other.status_code == 409
    assert ProductionOrder.objects.count() == 1


def test_the_garment_page_refuses_two_default_colours_or_none(rf, admin_user, tee):
    from django.contrib.admin.sites import site

    from production.admin import GarmentAdmin, GarmentColorInline

    request = rf.post("/")
    request.user = admin_user
    formset_class = GarmentColorInline(Garment, site).get_formset(request, tee)
    prefix = formset_class.get_default_prefix()
    colors = list(tee.colors.order_by("position"))

    def posted(defaults: set[str]) -> object:
        data = {
            f"{prefix}-TOTAL_FORMS": str(len(colors)),
            f"{prefix}-INITIAL_FORMS": str(len(colors)),
        }
        for i, color in enumerate(colors):
            data |= {
                f"{prefix}-{i}-id": str(color.pk),
                f"{prefix}-{i}-garment": str(tee.pk),
                f"{prefix}-{i}-name": color.name,
                f"{prefix}-{i}-hex": color.hex,
                f"{prefix}-{i}-position": str(color.position),
            }
            if color.name in defaults:
                data[f"{prefix}-{i}-is_default"] = "on"
        formset = formset_class(data, instance=tee, prefix=prefix)
        if not formset.is_valid():
            assert formset.non_form_errors() == ["Mark exactly one colour as the default."]
            return None
        return formset

    assert posted({"White", "Black"}) is None
    assert posted(set()) is None
    # Black listed first: saved as the default while White still is, which the page allows.
    tee.colors.filter(name="Black").update(position=0)
    tee.colors.filter(name="White").update(position=1)
    colors = list(tee.colors.order_by("position"))
    formset = posted({"Black"})
    GarmentAdmin(Garment, site).save_formset(request, SimpleNamespace(instance=tee), formset, True)
    assert list(tee.colors.filter(is_default=True).values_list("name", flat=True)) == ["Black"]


def test_the_live_price_without_a_colour_is_the_default_colours(customer_api, tee):
    from production.pricing import SizeQuantity, quote_order

    Variant.objects.filter(color__name="White", size="XXL").update(upcharge=900)
    quote = quote_order(garment=tee, sizes=[SizeQuantity("XXL", 1)], priority="standard")
    order = order_of(post(customer_api, sizes=[{"size": "XXL", "quantity": 1}]))
    assert quote.total == order.total_amount == 1800 + 900
