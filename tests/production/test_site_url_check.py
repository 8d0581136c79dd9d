"""`check --deploy` refuses a SITE_URL that is not https: it is the base of every link the app
sends out (Stripe's return URLs, e-mail links, ticket QR codes)."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from production.checks import site_url_https


@pytest.fixture
def deploying(settings):
    settings.DEBUG = False
    settings.STRIPE_WEBHOOK_SECRET = "whsec_configured"
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    return settings


@pytest.mark.parametrize(
    "site_url",
    ["http://shop.example.com", "HTTP://shop.example.com/", "shop.example.com", "https://"],
)
def test_deploy_check_refuses_a_site_url_that_is_not_https(deploying, site_url):
    deploying.SITE_URL = site_url

    with pytest.raises(SystemCheckError) as refused:
        call_command("check", deploy=True, tags=["security"])

    assert "production.E001" in str(refused.value)
    assert "would not use https" in str(refused.value)


def test_deploy_check_warns_when_site_url_is_missing(deploying):
    deploying.SITE_URL = ""

    assert [message.id for message in site_url_https()] == ["production.W001"]
    with pytest.raises(SystemCheckError, match=r"production\.W001"):
        call_command("check", deploy=True, tags=["security"], fail_level="WARNING")


def test_deploy_check_passes_an_https_site_url(deploying):
    deploying.SITE_URL = "https://shop.example.com"

    assert site_url_https() == []


def test_development_serves_itself_over_http(settings):
    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8000"

    assert site_url_https() == []
