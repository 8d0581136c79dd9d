"""Artwork proofs: what an operator may upload, who may answer, and what everyone then sees."""

from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from production.api.serializers import OrderOutput
from production.exceptions import IllegalTransition, OrderError, ProofConflict
from production.lifecycle import EventSource, OrderState
from production.models import ArtworkProof, OutgoingEmail, ProductionOrder
from production.proof_files import check_proof_file
from production.selectors import get_order_detail
from production.services.orders import transition_order
from production.services.proofs import decide_proof, send_proof
from tests.factories import make_order, make_proof, png_bytes, proof_upload

pytestmark = pytest.mark.django_db

HTML_AS_PNG = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def paid(customer):
    return make_order(owner=customer, state=OrderState.SUBMITTED)


def upload(api, order, content=None, name="mockup.png", notes="Chest print, 25 cm"):
    return api.post(
        f"/api/production/{order.pk}/proofs",
        {"file": proof_upload(content, name=name), "notes": notes},
        format="multipart",
    )


def decide(api, order, revision, decision="approve", comment="", **extra):
    return api.post(
        f"/api/production/{order.pk}/proofs/{revision}/decision",
        {"decision": decision, "comment": comment, **extra},
        format="json",
    )


# --- uploads ---------------------------------------------------------------------------------


class TestUploads:
    def test_operator_sends_a_proof_the_customer_sees_in_the_order_json(
        self, operator_api, customer_api, paid
    ):
        response = upload(operator_api, paid)
        assert response.status_code == 201, response.json()
        order = customer_api.get(f"/api/production/{paid.pk}").json()["order"]
        assert order["proofWaiting"] is True
        assert order["orderStatus"] == "submitted" and order["status"] == "Queued"
        [proof] = order["proofs"]
        assert proof["revision"] == 1
        assert proof["state"] == "waiting"
        assert proof["kind"] == "image"
        assert proof["notes"] == "Chest print, 25 cm"
        assert proof["url"] == f"/orders/{paid.pk}/proofs/1/file"
        assert proof["decidedAt"] is None and proof["decidedVia"] is None
        assert order["events"][-1]["message"] == "Proof 1 sent for your approval"

    def test_a_30_mb_upload_is_refused_before_it_is_read(self, operator_api, paid):
        response = upload(operator_api, paid, content=b"\0" * (30 * 1024 * 1024))
        assert response.status_code == 413
        assert response.json() == {"error": "Request body too large"}
        assert not ArtworkProof.objects.exists()

    def test_a_file_over_the_limit_is_refused_with_the_limit(self, operator_api, paid, settings):
        settings.PROOF_MAX_BYTES = 1024
        big = png_bytes(size=(400, 400), color="white") + b"\0" * 2048
        response = upload(operator_api, paid, content=big)
        assert response.status_code == 400
        assert response.json()["details"] == {
            "file": ["The proof is too large: at most 1.0\xa0KB."]
        }
        assert not ArtworkProof.objects.exists()

    @pytest.mark.parametrize(
        ("content", "name"),
        [(HTML_AS_PNG, "mockup.png"), (SVG_WITH_SCRIPT, "mockup.svg"), (b"GIF89a....", "a.gif")],
        ids=["html-renamed-png", "svg-with-script", "gif"],
    )
    def test_anything_but_an_image_or_pdf_is_refused(self, operator_api, paid, content, name):
        response = upload(operator_api, paid, content=content, name=name)
        assert response.status_code == 400
        assert response.json()["details"] == {
            "file": ["Send the proof as a PNG, JPEG or WebP image or as a PDF."]
        }
        assert not ArtworkProof.objects.exists()
        assert ProductionOrder.objects.get(pk=paid.pk).waiting_proof_revision is None

    def test_images_are_re_encoded_so_nothing_rides_along(self):
        payload = png_bytes() + b"<script>alert(1)</script>"
        checked = check_proof_file(proof_upload(payload))
        stored = checked.content.read()
        assert b"<script>" not in stored
        assert checked.content_type == "image/png"
        assert Image.open(BytesIO(stored)).size == (40, 30)

    def test_jpeg_and_webp_are_stored_as_jpeg_and_png(self):
        for fmt, stored_type in (("JPEG", "image/jpeg"), ("WEBP", "image/png")):
            out = BytesIO()
            Image.new("RGB", (20, 20), "red").save(out, format=fmt)
            assert check_proof_file(proof_upload(out.getvalue())).content_type == stored_type

    def test_customers_cannot_send_proofs(self, customer_api, anon_api, paid):
        assert upload(customer_api, paid).status_code == 403
        assert upload(anon_api, paid).status_code == 401

    def test_no_proof_before_payment_or_after_approval(self, operator_api, customer):
        draft = make_order(owner=customer)
        response = upload(operator_api, draft)
        assert response.status_code == 400
        assert "not paid yet" in response.json()["details"]["proof"][0]
        approved = make_order(owner=customer, state=OrderState.APPROVED)
        assert upload(operator_api, approved).status_code == 400
        assert not ArtworkProof.objects.exists()


# --- the file ---------------------------------------------------------------------------------


class TestProofFile:
    def test_owner_and_operators_get_the_image_inline_with_a_safe_type(
        self, client, customer, operator, paid
    ):
        make_proof(paid)
        for user in (customer, operator):
            client.force_login(user)
            response = client.get(f"/orders/{paid.pk}/proofs/1/file")
            assert response.status_code == 200
            assert response["Content-Type"] == "image/png"
            assert response["X-Content-Type-Options"] == "nosniff"
            assert response["Content-Disposition"].startswith("inline")
            assert Image.open(BytesIO(b"".join(response.streaming_content))).format == "PNG"

    def test_a_pdf_is_a_download(self, client, customer, operator, paid):
        send_proof(
            order=paid.pk, file=proof_upload(PDF, name="proof.pdf"), notes="", actor=operator
        )
        client.force_login(customer)
        response = client.get(f"/orders/{paid.pk}/proofs/1/file")
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment")
        assert b"".join(response.streaming_content) == PDF

    def test_other_customers_and_anonymous_visitors_get_nothing(self, client, other_customer, paid):
        make_proof(paid)
        response = client.get(f"/orders/{paid.pk}/proofs/1/file")
        assert response.status_code == 302 and "/login" in response["Location"]
        client.force_login(other_customer)
        assert client.get(f"/orders/{paid.pk}/proofs/1/file").status_code == 403


# --- decisions ----------------------------------------------------------------------------------


class TestDecisions:
    def test_the_customer_approves_and_the_order_is_approved(self, customer_api, paid):
        make_proof(paid)
        response = decide(customer_api, paid, 1)
        assert response.status_code == 200, response.json()
        order = response.json()["order"]
        assert order["orderStatus"] == "approved" and order["proofWaiting"] is False
        assert order["proofs"][0]["state"] == "approved"
        assert order["proofs"][0]["decidedVia"] == "customer"
        event = order["events"][-1]
        assert event["message"] == "Proof 1 approved"
        assert event["metadata"]["source"] == "customer"
        assert event["metadata"]["from"] == "submitted" and event["metadata"]["to"] == "approved"

    def test_a_change_request_needs_a_comment_and_goes_back_to_the_operator(
        self, customer_api, operator_api, paid
    ):
        make_proof(paid)
        assert decide(customer_api, paid, 1, "request_changes").status_code == 400
        response = decide(customer_api, paid, 1, "request_changes", "Logo 2 cm higher")
        order = response.json()["order"]
        assert order["orderStatus"] == "submitted" and order["proofWaiting"] is False
        assert order["proofs"][0]["state"] == "changes_requested"
        assert order["proofs"][0]["comment"] == "Logo 2 cm higher"
        assert order["events"][-1]["message"] == "Changes requested to proof 1: Logo 2 cm higher"
        # The operator may approve the artwork as sent again, or send revision 2.
        assert upload(operator_api, paid).json()["order"]["proofs"][1]["revision"] == 2

    def test_only_the_owner_decides(self, other_api, anon_api, operator_api, paid):
        make_proof(paid)
        assert decide(other_api, paid, 1).status_code == 403
        assert decide(anon_api, paid, 1).status_code == 401
        # An operator is not the customer: without "via": "phone" it is refused.
        refused = decide(operator_api, paid, 1)
        assert refused.status_code == 403
        assert ProductionOrder.objects.get(pk=paid.pk).status == OrderState.SUBMITTED

    def test_a_customer_cannot_claim_a_phone_decision(self, customer_api, paid):
        make_proof(paid)
        assert decide(customer_api, paid, 1, via="phone").status_code == 403

    def test_an_operator_records_a_decision_given_by_phone(self, operator_api, paid):
        make_proof(paid)
        response = decide(operator_api, paid, 1, "approve", "Said yes on the phone", via="phone")
        assert response.status_code == 200
        order = response.json()["order"]
        assert order["orderStatus"] == "approved"
        assert order["proofs"][0]["decidedVia"] == "phone"
        event = order["events"][-1]
        assert event["message"] == "Proof 1 approved: Said yes on the phone (by phone)"
        assert event["metadata"]["source"] == "operator"
        assert event["metadata"]["via"] == "phone"

    def test_a_decision_on_a_stale_revision_is_a_conflict(self, customer_api, paid, operator):
        make_proof(paid, operator=operator)
        make_proof(paid, operator=operator)  # revision 2 supersedes 1 before the customer answered
        response = decide(customer_api, paid, 1)
        assert response.status_code == 409
        assert response.json()["error"] == "Conflict"
        assert "proof 2 is" in response.json()["details"]["revision"][0]
        assert ArtworkProof.objects.get(order=paid, revision=1).state == "superseded"
        assert decide(customer_api, paid, 2).status_code == 200
        assert decide(customer_api, paid, 2).status_code == 409  # answered already

    def test_the_decision_form_on_the_order_page(self, client, customer, paid):
        make_proof(paid)
        client.force_login(customer)
        assert "Your proof is ready to approve" in client.get("/orders/").content.decode()
        page = client.get(f"/orders/{paid.pk}/").content.decode()
        assert "Your approval is needed." in page
        assert f'action="/orders/{paid.pk}/proofs/1/decision"' in page
        response = client.post(
            f"/orders/{paid.pk}/proofs/1/decision",
            {"decision": "request_changes", "comment": "Bigger"},
        )
        assert response.status_code == 302
        page = client.get(f"/orders/{paid.pk}/").content.decode()
        assert "your changes to proof 1 were sent" in page
        assert "Changes requested to proof 1: Bigger" in page


# --- the rules and the record -------------------------------------------------------------------


class TestRulesAndRecord:
    def test_no_approval_or_production_while_a_proof_waits(self, operator_api, paid):
        make_proof(paid)
        for status in ("approved", "in_production"):
            response = operator_api.patch(
                f"/api/production/{paid.pk}", {"status": status}, format="json"
            )
            assert response.status_code == 400
            assert response.json()["details"]["status"] == [
                f"{paid.reference}: The customer has not answered proof 1 yet."
            ]

    def test_canceling_withdraws_the_waiting_proof(self, operator, paid):
        make_proof(paid)
        transition_order(
            order=paid.pk, to=OrderState.CANCELED, actor=operator, source=EventSource.OPERATOR
        )
        assert ArtworkProof.objects.get(order=paid).state == "withdrawn"
        assert ProductionOrder.objects.get(pk=paid.pk).waiting_proof_revision is None

    def test_each_revision_and_decision_stays_on_the_timeline(self, customer, operator, paid):
        make_proof(paid, operator=operator)
        decide_proof(
            order=paid.pk, revision=1, decision="request_changes", comment="Smaller", actor=customer
        )
        make_proof(paid, operator=operator)
        decide_proof(order=paid.pk, revision=2, decision="approve", actor=customer)
        messages = list(paid.events.values_list("message", flat=True))
        assert messages[-4:] == [
            "Proof 1 sent for your approval",
            "Changes requested to proof 1: Smaller",
            "Proof 2 sent for your approval",
            "Proof 2 approved",
        ]

    def test_the_customer_is_mailed_once_per_proof(self, customer, operator, paid, task_worker):
        make_proof(paid, operator=operator)
        decide_proof(order=paid.pk, revision=1, decision="approve", actor=customer)
        [mail] = OutgoingEmail.objects.filter(order=paid, kind="proof_sent")
        assert mail.to == customer.email
        assert f"/orders/{paid.pk}/" in mail.body
        assert "Chest, 25 cm wide" in mail.body
        assert task_worker().count("sent") == 1
        assert task_worker() == []  # nothing left to send: once
        mail.refresh_from_db()
        assert mail.sent_at is not None

    def test_a_refused_decision_changes_nothing(self, customer, paid):
        make_proof(paid)
        events = paid.events.count()
        with pytest.raises(OrderError):
            decide_proof(order=paid.pk, revision=1, decision="maybe", actor=customer)
        with pytest.raises(ProofConflict):
            decide_proof(order=paid.pk, revision=7, decision="approve", actor=customer)
        with pytest.raises(IllegalTransition):
            send_proof(order=make_order().pk, file=proof_upload(), notes="", actor=None)
        assert paid.events.count() == events
        assert ArtworkProof.objects.get(order=paid).state == "waiting"

    def test_the_order_json_costs_the_same_queries_for_1_and_10_revisions(self, operator, paid):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                OrderOutput(get_order_detail(order_id=paid.pk)).data
            return len(captured)

        make_proof(paid, operator=operator)
        one = queries()
        for _ in range(9):
            make_proof(paid, operator=operator)
        assert queries() == one


def test_openapi_documents_proofs(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert (
        "multipart/form-data"
        in (paths["/api/production/{order_id}/proofs"]["post"]["requestBody"]["content"])
    )
    decision = paths["/api/production/{order_id}/proofs/{revision}/decision"]["post"]
    assert {"200", "401", "403", "409"} <= set(decision["responses"])
    order = schema["components"]["schemas"]["OrderOutput"]["properties"]
    assert {"proofs", "proofWaiting"} <= set(order)
    # The spec's enums are unchanged: a waiting proof is a field, not a status.
    assert schema["components"]["schemas"]["OrderStateEnum"]["enum"] == [
        "draft", "submitted", "approved", "in_production", "fulfilled", "canceled"
    ]  # fmt: skip


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_decisions_at_once_leave_one_outcome():
    from tests.concurrency import run_at_once

    order = make_order(state=OrderState.SUBMITTED)
    make_proof(order)
    before = order.events.count()

    def answer(decision: str, comment: str = ""):
        return lambda: decide_proof(
            order=order.pk, revision=1, decision=decision, comment=comment, actor=order.owner
        )

    results, errors = run_at_once([answer("approve"), answer("request_changes", "Bigger")] * 3)
    assert len(results) == 1
    assert len(errors) == 5 and all(isinstance(e, ProofConflict) for e in errors)
    order.refresh_from_db()
    proof = ArtworkProof.objects.get(order=order)
    assert order.events.count() == before + 1
    if proof.state == "approved":
        assert order.status == OrderState.APPROVED
    else:
        assert proof.state == "changes_requested" and order.status == OrderState.SUBMITTED
    assert order.waiting_proof_revision is None
