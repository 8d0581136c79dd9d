"""Oversized and malformed bodies: 413 and 400 with the API's error body, never a 500."""

import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import encode_multipart

from payments.models import ProcessedEvent
from production.lifecycle import OrderState
from production.models import ArtworkProof, ProductionOrder
from tests.factories import make_order
from tests.payments.stripe_events import WEBHOOK_URL, sign

pytestmark = pytest.mark.django_db

API = "/api/production"
TOO_LARGE = {"error": "Request body too large"}
TEN_MB = 10 * 1024 * 1024
TWO_MB = b"\0" * (2 * 1024 * 1024)


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


def test_an_oversized_multipart_webhook_body_is_413(settings):
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


def test_multipart_fields_over_the_limit_are_413(customer, garment, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client()
    client.force_login(customer)
    body = encode_multipart("BoUnDaRy", {"notes": "x" * 5000, "garment": garment.shopify_gid})
    response = client.post(
        "/orders/new/", body, content_type="multipart/form-data; boundary=BoUnDaRy"
    )
    assert response.status_code == 413
    assert not ProductionOrder.objects.exists()


def test_a_file_on_the_login_form_over_the_limit_is_a_413_page():
    # Files in a multipart body count: Django's own limit leaves them out.
    response = Client().post(
        "/accounts/login/",
        {"username": "a@example.com", "password": "x", "file": SimpleUploadedFile("f", TWO_MB)},
    )
    assert response.status_code == 413
    assert "at most 1.0\xa0MB" in response.content.decode()


def test_a_proof_upload_may_be_larger_than_the_small_limit(operator_api, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    pdf = SimpleUploadedFile("proof.pdf", b"%PDF-1.4\n" + TWO_MB, "application/pdf")
    response = operator_api.post(
        f"/api/production/{order.pk}/proofs", {"file": pdf}, format="multipart"
    )
    assert response.status_code == 201
    assert ArtworkProof.objects.filter(order=order).count() == 1


def test_a_proof_upload_over_its_own_limit_is_413(operator_api, customer, settings):
    settings.PROOF_MAX_BYTES = 1000  # the envelope's 64 KB on top
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    pdf = SimpleUploadedFile("proof.pdf", b"%PDF-1.4\n" + b"\0" * 70_000, "application/pdf")
    response = operator_api.post(
        f"/api/production/{order.pk}/proofs", {"file": pdf}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert not ArtworkProof.objects.exists()


async def asgi_post(path: str, headers: list, chunks: list[bytes]) -> tuple[int, bytes, int]:
    """POST to the ASGI application, every chunk offered at once; (status, body, how many
    chunks it read before answering)."""
    from config.asgi import application

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("localhost", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    for n, chunk in enumerate(chunks):
        await communicator.send_input(
            {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        )
    start = await communicator.receive_output(timeout=5)
    body = await communicator.receive_output(timeout=5)
    await communicator.wait(timeout=5)
    return start["status"], body["body"], len(chunks) - communicator.input_queue.qsize()


async def test_asgi_refuses_a_declared_300_mb_body_before_reading_any():
    headers = [(b"content-type", b"application/json"), (b"content-length", b"314572800")]
    status, body, read = await asgi_post(API, headers, [b"{}"] * 3)
    assert status == 413
    assert json.loads(body) == TOO_LARGE
    assert read == 0


async def test_asgi_refuses_a_chunked_body_once_past_the_limit():
    piece = b"x" * (256 * 1024)
    status, body, read = await asgi_post("/healthz", [], [piece] * 40)  # 10 MB
    assert status == 413
    assert json.loads(body) == TOO_LARGE
    assert read == 5  # the fifth piece passes 1 MB; the other 35 are never read


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
