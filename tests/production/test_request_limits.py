"""Oversized and malformed bodies: 413 and 400 with the API's error body, never a 500."""

import json

import pytest
from django.test import Client
from django.test.client import encode_multipart

from payments.models import ProcessedEvent
from production.models import ProductionOrder
from tests.payments.stripe_events import WEBHOOK_URL, sign

pytestmark = pytest.mark.django_db

API = "/api/production"
TOO_LARGE = {"error": "Request body too large"}
TEN_MB = 10 * 1024 * 1024


def test_the_default_limit_is_one_megabyte(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024


def test_a_10_mb_api_body_is_413(customer_api, garment):
    body = json.dumps({"designUrl": "https://example.com/d.png", "notes": "x" * TEN_MB})
    response = customer_api.post(API, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert not ProductionOrder.objects.exists()


def test_a_body_just_under_the_limit_is_read(customer_api, garment, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = json.dumps({"notes": "x" * 1900})
    response = customer_api.post(API, body, content_type="application/json")
    assert response.status_code == 400  # read, and refused for what it says
    assert response.json()["error"] == "Invalid request"


def test_a_10_mb_webhook_body_is_413_and_writes_nothing():
    payload = json.dumps({"id": "evt_big", "object": "event", "pad": "x" * TEN_MB})
    response = Client().post(
        WEBHOOK_URL,
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload)},
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert not ProcessedEvent.objects.exists()


def test_an_oversized_multipart_webhook_body_is_413_when_read(settings):
    # Multipart is not refused up front (its files do not count); reading the body still is.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = encode_multipart("BoUnDaRy", {"pad": "x" * 5000})
    response = Client().post(
        WEBHOOK_URL, body, content_type="multipart/form-data; boundary=BoUnDaRy"
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_an_oversized_html_form_gets_a_413_page(customer, garment, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client()
    client.force_login(customer)
    response = client.post("/orders/new/", {"notes": "x" * 5000, "garment": garment.shopify_gid})
    assert response.status_code == 413
    assert "Too large" in response.content.decode()
    assert not ProductionOrder.objects.exists()


def test_multipart_fields_over_the_limit_are_413_while_read(customer, garment, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client()
    client.force_login(customer)
    body = encode_multipart("BoUnDaRy", {"notes": "x" * 5000, "garment": garment.shopify_gid})
    response = client.post(
        "/orders/new/", body, content_type="multipart/form-data; boundary=BoUnDaRy"
    )
    assert response.status_code == 413
    assert not ProductionOrder.objects.exists()


def test_deeply_nested_json_is_a_400_on_the_api(customer_api, garment):
    response = customer_api.post(API, "[" * 100000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


def test_deeply_nested_json_is_a_400_on_patch(operator_api, customer):
    from tests.factories import make_order

    order = make_order(owner=customer)
    response = operator_api.patch(
        f"{API}/{order.pk}", '{"notes": ' + "[" * 100000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


def test_other_refused_requests_are_a_json_400_under_the_api():
    # Django's SuspiciousOperation (here an unknown Host) outside DRF's own handling.
    response = Client().get(API, HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request"}
    page = Client().get("/", HTTP_HOST="evil.example")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
