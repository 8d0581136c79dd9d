"""Payments fail closed: with DEBUG off there is no built-in webhook secret to forge events with."""

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from payments.models import ProcessedEvent
from payments.services import start_checkout
from production.lifecycle import OrderState
from production.models import ProductionOrder
from tests.factories import make_order
from tests.payments.stripe_events import checkout_session, deliver, stripe_event

BASE_DIR = Path(__file__).resolve().parents[2]
SIMULATOR_SECRET = "whsec_local_checkout_simulator"


@pytest.fixture
def draft(settings, customer, garment):
    settings.SITE_URL = "http://shop.test"
    order = make_order(owner=customer, garment=garment)
    start_checkout(order=order)
    return ProductionOrder.objects.get(pk=order.pk)


def settings_value(name: str, **env: str) -> str:
    """A setting as a fresh process computes it from this environment (settings read it once)."""
    code = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    )
    clean = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://:memory:"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_no_built_in_secret_with_debug_off():
    assert settings_value("STRIPE_WEBHOOK_SECRET", DEBUG="false") == ""
    assert settings_value("STRIPE_WEBHOOK_SECRET", DEBUG="true") == SIMULATOR_SECRET


@pytest.mark.django_db
def test_event_signed_with_the_simulator_secret_is_refused_when_unconfigured(
    settings, draft, caplog
):
    settings.STRIPE_WEBHOOK_SECRET = ""
    event = stripe_event("checkout.session.completed", checkout_session(draft), "evt_forged")

    with caplog.at_level(logging.ERROR, logger="payments.views"):
        response = deliver(Client(), event, secret=SIMULATOR_SECRET)

    assert response.status_code == 503
    assert response.json() == {"error": "Webhook not configured"}
    assert ProductionOrder.objects.get(pk=draft.pk).status == OrderState.DRAFT
    assert not ProcessedEvent.objects.exists()
    assert "STRIPE_WEBHOOK_SECRET is not set" in caplog.text


@pytest.mark.django_db
def test_event_signed_with_the_configured_secret_still_pays(settings, draft):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_configured"
    event = stripe_event("checkout.session.completed", checkout_session(draft), "evt_real")

    assert deliver(Client(), event, secret="whsec_configured").json()["outcome"] == "submitted"
    assert deliver(Client(), {**event, "id": "evt_2"}, secret=SIMULATOR_SECRET).status_code == 400


def test_deploy_check_names_the_missing_settings(settings):
    settings.DEBUG = False
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(SystemCheckError) as refused:
        call_command("check", deploy=True, tags=["security"])

    assert "payments.E001" in str(refused.value)
    assert "STRIPE_WEBHOOK_SECRET is not set" in str(refused.value)
    assert "payments.E002" in str(refused.value)


def test_deploy_check_passes_when_configured(settings):
    settings.DEBUG = False
    settings.STRIPE_WEBHOOK_SECRET = "whsec_configured"
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    from payments.checks import stripe_configured

    assert stripe_configured() == []
