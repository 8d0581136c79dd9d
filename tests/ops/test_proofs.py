"""Artwork proofs on the ops order page: send one, see it wait, record a phone decision."""

import pytest
from django.contrib.messages import get_messages

from production.lifecycle import OrderState
from production.models import ArtworkProof, FulfillmentEvent, ProductionOrder
from tests.factories import make_order, make_proof, proof_upload

pytestmark = pytest.mark.django_db


def post(client, url, data):
    response = client.post(url, data)
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    client.get(response["Location"])  # where the operator lands: the messages are shown once
    return messages


def test_operator_sends_a_proof_from_the_order_page(ops_client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    page = ops_client.get(f"/ops/orders/{order.id}/").content.decode()
    assert "Send a proof instead of approving the artwork as sent" in page
    messages = post(
        ops_client,
        f"/ops/orders/{order.id}/proofs",
        {"file": proof_upload(), "notes": "Left chest, 9 cm"},
    )
    assert messages == [f"{order.reference}: proof 1 sent to the customer."]
    page = ops_client.get(f"/ops/orders/{order.id}/")
    html = page.content.decode()
    assert "Waiting for the customer's answer to proof 1" in html
    assert "Left chest, 9 cm" in html
    # "Approve artwork" stays on the page, refused with the reason.
    [approve] = [t for t in page.context["transitions"] if t["value"] == "approved"]
    assert approve["refusal"] == "The customer has not answered proof 1 yet."


def test_a_refused_file_says_why(ops_client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    messages = post(
        ops_client,
        f"/ops/orders/{order.id}/proofs",
        {"file": proof_upload(b"<html><script>x</script></html>", name="x.png")},
    )
    assert messages == ["Send the proof as a PNG, JPEG or WebP image or as a PDF."]
    assert not ArtworkProof.objects.exists()


def test_a_30_mb_file_is_refused_unread_with_the_limit(ops_client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    big = proof_upload(b"\0" * (30 * 1024 * 1024))
    response = ops_client.post(f"/ops/orders/{order.id}/proofs", {"file": big})
    assert response.status_code == 413
    assert "at most 10.1\xa0MB" in response.content.decode()  # the proof and its envelope
    assert not ArtworkProof.objects.exists()


def test_a_file_just_over_the_proof_limit_says_the_limit(ops_client, customer, settings):
    settings.PROOF_MAX_BYTES = 1024  # read (within the envelope's margin), refused for its size
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    messages = post(
        ops_client, f"/ops/orders/{order.id}/proofs", {"file": proof_upload(b"\0" * 2048)}
    )
    assert messages == ["The proof is too large: at most 1.0\xa0KB."]
    assert not ArtworkProof.objects.exists()


def test_operator_records_a_phone_decision(ops_client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    make_proof(order)
    url = f"/ops/orders/{order.id}/proofs/1/phone-decision"
    assert post(ops_client, url, {"decision": "request_changes"}) == [
        "Say what should change: a comment is needed."
    ]
    messages = post(ops_client, url, {"decision": "approve", "comment": "Called at 10:05"})
    assert messages == [f"{order.reference}: proof 1 approved (by phone, recorded)."]
    order = ProductionOrder.objects.get(pk=order.pk)
    assert order.status == OrderState.APPROVED
    event = FulfillmentEvent.objects.filter(order=order).last()
    assert event.source == "operator" and event.metadata["via"] == "phone"
    html = ops_client.get(f"/ops/orders/{order.id}/").content.decode()
    assert "By phone, recorded by an operator" in html


def test_customers_cannot_use_the_ops_proof_forms(client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    client.force_login(customer)
    response = client.post(f"/ops/orders/{order.id}/proofs", {"file": proof_upload()})
    assert response.status_code == 403
    assert not ArtworkProof.objects.exists()
