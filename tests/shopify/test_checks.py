"""Django's checks say what a half-configured store is missing, before a webhook is refused."""

from shopify.checks import simulator_off, store_configured


def ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_a_store_without_its_token_or_secret_is_reported(settings):
    settings.SHOPIFY_STORE_DOMAIN = "my-shop.myshopify.com"
    settings.SHOPIFY_ADMIN_TOKEN = ""
    settings.SHOPIFY_API_SECRET = ""
    assert ids(store_configured()) == ["shopify.E001", "shopify.E001"]
    settings.SHOPIFY_ADMIN_TOKEN = "shpat_x"
    settings.SHOPIFY_API_SECRET = "shpss_x"
    assert store_configured() == []


def test_mappings_must_name_this_shops_placements(settings):
    settings.SHOPIFY_DESIGN_PROPERTIES = {"front": "Design", "hood": "Hood design"}
    settings.SHOPIFY_PLACEMENTS = ["front=12x16", "back=twelve", "hood=5x5"]
    assert ids(store_configured()) == ["shopify.E002", "shopify.E003", "shopify.E003"]


def test_the_store_simulator_never_passes_the_deploy_check(settings):
    settings.DEBUG = False
    settings.SHOPIFY_SIMULATOR = True
    assert ids(simulator_off()) == ["shopify.E004"]
    settings.SHOPIFY_SIMULATOR = False
    assert simulator_off() == []
