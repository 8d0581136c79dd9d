"""Refunds through Stripe: asked for in the cancel's transaction, sent by the task queue with the
refund's idempotency key (the stripe SDK against the fake Stripe), settled by signed refund events
built on Stripe's own example objects, never moved backwards, never more than was paid."""

import importlib
import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult

from payments import refunds as refund_workflows
from payments.models import ProcessedEvent, Refund
from payments.refunds import RefundRefused, request_refund, submit_refund
from payments.services import start_checkout
from production.lifecycle import EventSource, OrderState
from production.models import FulfillmentEvent, OutgoingEmail
from production.services.orders import submit_paid_order, update_order
from tests.factories import make_order
from tests.payments.fake_stripe import FakeStripe
from tests.payments.refund_support import paid_order, payment_of, refunds_of
from tests.payments.stripe_events import (
    charge_object,
    checkout_session,
    deliver,
    refund_object,
    stripe_event,
)
from tests.task_queue import time_passes, waiting_tasks

pytestmark = pytest.mark.django_db

STAFF = "staff@printshop.example"


@pytest.fixture(autouse=True)
def _shop(settings):
    settings.SITE_URL = "https://shop.example.com"
    settings.SHOP_STAFF_EMAIL = STAFF


@pytest.fixture
def fake_stripe(settings):
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake_key"
    settings.STRIPE_API_BASE = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def order(customer, garment):
    """Approved, paid $90.00 (2 M + 3 L at 18.00) through the webhook."""
    return paid_order(owner=customer, garment=garment, state=OrderState.APPROVED)


def cancel(order, operator, note=""):
    return update_order(
        order=order.pk,
        actor=operator,
        source=EventSource.OPERATOR,
        status=OrderState.CANCELED,
        note=note,
    )


def timeline(order):
    return list(
        FulfillmentEvent.objects.filter(order=order, kind="refund").values_list(
            "status", "message", "source"
        )
    )


def mails(order, kind):
    return list(OutgoingEmail.objects.filter(order=order, kind=kind).values_list("to", flat=True))


def refund_event(event_type, event_id, **refund):
    return stripe_event(event_type, refund_object(**refund), event_id)


# --- what was paid -------------------------------------------------------------------------------


def test_a_paid_checkout_records_what_stripe_took(order):
    payment = payment_of(order)

    assert (payment.amount, payment.currency) == (9000, "usd")
    assert payment.payment_intent_id == f"pi_test_{order.pk.hex[:24]}"
    assert payment.checkout_session_id == order.stripe_checkout_session_id


def test_a_replayed_payment_event_records_the_payment_once(client, order):
    session = checkout_session(order)

    response = deliver(
        client, stripe_event("checkout.session.async_payment_succeeded", session, "evt_again")
    )

    assert response.json()["outcome"] == "unchanged"
    assert order.payments.count() == 1


# --- operator cancel -----------------------------------------------------------------------------


def test_operator_cancel_asks_stripe_once_for_the_full_amount_with_the_refunds_key(
    operator_api, order, fake_stripe, task_worker, customer
):
    response = operator_api.patch(
        f"/api/production/{order.pk}", {"status": "canceled"}, format="json"
    )

    assert response.status_code == 200
    [refund] = Refund.objects.filter(order=order)
    assert (refund.amount, refund.state, refund.reason) == (9000, "pending", "order_canceled")
    assert fake_stripe.refund_requests() == []  # never inside the request's transaction

    # The refund, then the cancellation mail and the refund mail.
    assert sorted(task_worker()) == ["sent", "sent", "succeeded"]

    [request] = fake_stripe.refund_requests()
    assert request["headers"]["Idempotency-Key"] == refund.idempotency_key == f"refund-{refund.pk}"
    assert request["headers"]["Authorization"] == "Bearer sk_test_fake_key"
    assert request["form"]["payment_intent"] == f"pi_test_{order.pk.hex[:24]}"
    assert request["form"]["amount"] == "9000"
    assert request["form"]["metadata[refundId]"] == str(refund.pk)
    assert request["form"]["metadata[orderId]"] == str(order.pk)
    refund.refresh_from_db()
    assert (refund.state, refund.stripe_refund_id) == ("succeeded", "re_fake0001")
    assert timeline(order) == [
        ("Refund requested", "Refund of $90.00 requested", "operator"),
        ("Refunded", "$90.00 refunded to your card", "system"),
    ]
    canceled, sent = sorted(mail.outbox, key=lambda m: "Refund" in m.subject)
    assert canceled.subject.endswith("is canceled") and "$90.00 goes back" in canceled.body
    assert sent.to == ["customer@example.com"]
    assert "refunded $90.00" in sent.body


def test_the_customers_order_page_shows_the_refund(order, operator, customer, task_worker):
    cancel(order, operator)
    task_worker()

    client = Client()
    client.force_login(customer)
    page = client.get(f"/orders/{order.pk}/").content.decode()

    assert "$90.00 refunded to your card" in page


def test_canceling_an_unpaid_draft_refunds_nothing(customer, garment, operator):
    draft = make_order(owner=customer, garment=garment)

    cancel(draft, operator)

    assert Refund.objects.count() == 0
    assert waiting_tasks(submit_refund) == []


def test_a_refused_cancel_asks_for_no_refund(order, operator):
    # Rolled back with the cancel: nothing to refund, nothing queued.
    with pytest.raises(RuntimeError), transaction.atomic():
        cancel(order, operator)
        raise RuntimeError("the cancel's transaction fails after the hook")

    assert Refund.objects.count() == 0
    assert waiting_tasks(submit_refund) == []


def test_cancel_after_a_partial_refund_refunds_the_rest(order, operator):
    request_refund(order=order, amount=2500, actor=operator, note="misprint")

    cancel(order, operator)

    assert refunds_of(order) == [
        (2500, "pending", "operator"),
        (6500, "pending", "order_canceled"),
    ]


def test_without_a_stripe_key_the_local_simulator_refunds_at_once(order, operator, task_worker):
    cancel(order, operator)

    task_worker()

    [refund] = Refund.objects.filter(order=order)
    assert refund.state == "succeeded"
    assert refund.stripe_refund_id.startswith("re_local_")


# --- the task: retries, never twice --------------------------------------------------------------


def test_a_task_run_twice_asks_stripe_once(order, operator, fake_stripe, task_worker):
    cancel(order, operator)
    [refund] = Refund.objects.all()
    submit_refund.enqueue(str(refund.pk))  # e.g. reconcile_payments queued it again

    assert sorted(task_worker()) == ["sent", "sent", "skipped", "succeeded"]  # + cancel mail
    assert len(fake_stripe.refund_requests()) == 1


def test_a_task_retried_after_stripe_answered_gets_the_same_refund_back(
    order, operator, fake_stripe, task_worker
):
    cancel(order, operator)
    task_worker()
    # The worker died between Stripe's answer and recording it: the row is as before the call.
    Refund.objects.update(state="pending", stripe_refund_id=None, stripe_status="")
    [refund] = Refund.objects.all()
    submit_refund.enqueue(str(refund.pk))

    task_worker()

    first, second = fake_stripe.refund_requests()
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert list(fake_stripe.refunds) == ["re_fake0001"]  # one refund at Stripe
    refund.refresh_from_db()
    assert (refund.state, refund.stripe_refund_id) == ("succeeded", "re_fake0001")


def test_stripe_unreachable_is_retried_with_backoff_then_marked_failed(
    order, operator, fake_stripe, task_worker, monkeypatch
):
    monkeypatch.setattr(refund_workflows, "MAX_ATTEMPTS", 2)
    fake_stripe.fail_with = (503, {"error": {"type": "api_error", "message": "Try later"}})
    cancel(order, operator)

    assert task_worker() == ["retrying", "sent"]  # the cancellation mail goes out meanwhile
    [refund] = Refund.objects.all()
    assert refund.state == "pending"
    assert "trying again" in refund.failure_reason
    [retry] = waiting_tasks(submit_refund)
    assert retry.run_after > refund.created_at + timedelta(seconds=50)

    time_passes()
    assert task_worker() == ["failed", "sent"]

    refund.refresh_from_db()
    assert refund.state == "failed"
    assert refund.failure_reason.startswith("Stripe could not be reached in 2 attempts")
    assert mails(order, "refund_failed") == [STAFF]
    assert mails(order, "refund_succeeded") == []


def test_a_refund_stripe_refuses_is_failed_with_stripes_reason_and_mailed_once(
    order, operator, fake_stripe, task_worker, caplog
):
    fake_stripe.fail_with = (
        400,
        {
            "error": {
                "type": "invalid_request_error",
                "code": "charge_already_refunded",
                "message": "Charge ch_1 has already been refunded.",
            }
        },
    )
    cancel(order, operator)

    with caplog.at_level(logging.ERROR):
        task_worker()

    [refund] = Refund.objects.all()
    assert refund.state == "failed"
    assert (
        refund.failure_reason == "Stripe refused the refund: Charge ch_1 has already been refunded."
    )
    assert "ORD-" in caplog.text and "failed" in caplog.text
    [staff_mail] = [m for m in mail.outbox if m.to == [STAFF]]
    assert staff_mail.to == [STAFF]
    assert "Charge ch_1 has already been refunded." in staff_mail.body
    assert f"https://shop.example.com/ops/orders/{order.pk}/" in staff_mail.body
    # Nothing moves a failed refund: a late "succeeded" is ignored, and no one is mailed again.
    assert not refund_workflows.settle_refund(
        refund_id=refund.pk, stripe_refund={"status": "succeeded"}
    )
    assert OutgoingEmail.objects.filter(order=order, kind="refund_failed").count() == 1


# --- refund events -------------------------------------------------------------------------------


@pytest.fixture
def pending_refund(order, operator, fake_stripe, task_worker):
    """A full refund Stripe answered `pending`."""
    fake_stripe.refund_status = "pending"
    cancel(order, operator)
    task_worker()
    refund = Refund.objects.get()
    assert (refund.state, refund.stripe_refund_id) == ("pending", "re_fake0001")
    return refund


def event_for(refund, event_type, event_id, **overrides):
    fields = {
        "id": refund.stripe_refund_id,
        "amount": refund.amount,
        "payment_intent": refund.payment.payment_intent_id,
        "metadata": {"refundId": str(refund.pk), "orderId": str(refund.order_id)},
        "status": "succeeded",
        **overrides,
    }
    return refund_event(event_type, event_id, **fields)


def test_refund_updated_succeeded_settles_the_refund_and_mails_the_customer(client, pending_refund):
    response = deliver(client, event_for(pending_refund, "refund.updated", "evt_r1"))

    assert response.json()["outcome"] == "refund_updated"
    pending_refund.refresh_from_db()
    assert pending_refund.state == "succeeded"
    assert mails(pending_refund.order, "refund_succeeded") == ["customer@example.com"]
    log = ProcessedEvent.objects.get(event_id="evt_r1")
    assert (log.object_id, log.order_id) == ("re_fake0001", pending_refund.order_id)


def test_a_duplicate_refund_event_changes_nothing(client, pending_refund):
    event = event_for(pending_refund, "refund.updated", "evt_r1")
    deliver(client, event)

    response = deliver(client, event)

    assert response.json()["outcome"] == "duplicate"
    assert mails(pending_refund.order, "refund_succeeded") == ["customer@example.com"]
    assert len(timeline(pending_refund.order)) == 2


def test_a_stale_pending_after_succeeded_does_not_move_the_refund_back(client, pending_refund):
    deliver(client, event_for(pending_refund, "refund.updated", "evt_succeeded"))

    response = deliver(
        client, event_for(pending_refund, "refund.created", "evt_created", status="pending")
    )

    assert response.json()["outcome"] == "unchanged"
    pending_refund.refresh_from_db()
    assert pending_refund.state == "succeeded"
    assert mails(pending_refund.order, "refund_succeeded") == ["customer@example.com"]


def test_succeeded_arriving_before_the_task_recorded_stripes_id_is_matched_by_our_metadata(
    client, order, operator, fake_stripe
):
    cancel(order, operator)
    refund = Refund.objects.get()  # not yet sent: no Stripe id here
    event = refund_event(
        "refund.updated",
        "evt_early",
        id="re_from_stripe",
        amount=9000,
        payment_intent=payment_of(order).payment_intent_id,
        metadata={"refundId": str(refund.pk), "orderId": str(order.pk)},
        status="succeeded",
    )

    response = deliver(client, event)

    assert response.json()["outcome"] == "refund_updated"
    refund.refresh_from_db()
    assert (refund.state, refund.stripe_refund_id) == ("succeeded", "re_from_stripe")
    assert Refund.objects.count() == 1  # not mistaken for a dashboard refund


def test_refund_failed_after_succeeded_marks_it_failed_and_mails_the_staff(client, pending_refund):
    deliver(client, event_for(pending_refund, "refund.updated", "evt_ok"))

    response = deliver(
        client,
        event_for(
            pending_refund,
            "refund.failed",
            "evt_failed",
            status="failed",
            failure_reason="expired_or_canceled_card",
        ),
    )
    deliver(client, event_for(pending_refund, "refund.updated", "evt_stale_ok"))

    assert response.json()["outcome"] == "refund_updated"
    pending_refund.refresh_from_db()
    assert pending_refund.state == "failed"
    assert pending_refund.failure_reason == "Stripe: expired or canceled card"
    assert mails(pending_refund.order, "refund_failed") == [STAFF]
    assert mails(pending_refund.order, "refund_succeeded") == ["customer@example.com"]


def test_a_canceled_refund_is_final(client, pending_refund):
    deliver(client, event_for(pending_refund, "refund.updated", "evt_c", status="canceled"))
    deliver(client, event_for(pending_refund, "refund.updated", "evt_late", status="succeeded"))

    pending_refund.refresh_from_db()
    assert pending_refund.state == "canceled"
    assert mails(pending_refund.order, "refund_succeeded") == []


def test_charge_refunded_settles_the_refunds_it_lists(client, pending_refund):
    listed = refund_object(
        id="re_fake0001",
        amount=9000,
        status="succeeded",
        payment_intent=pending_refund.payment.payment_intent_id,
        metadata={"refundId": str(pending_refund.pk)},
    )
    charge = charge_object(
        refunds=[listed], payment_intent=pending_refund.payment.payment_intent_id
    )

    response = deliver(client, stripe_event("charge.refunded", charge, "evt_charge"))

    assert response.json()["outcome"] == "refund_updated"
    pending_refund.refresh_from_db()
    assert pending_refund.state == "succeeded"


def test_charge_refunded_without_its_refunds_says_what_is_unexplained(client, pending_refund):
    charge = charge_object(
        payment_intent=pending_refund.payment.payment_intent_id, amount_refunded=9000
    )

    response = deliver(client, stripe_event("charge.refunded", charge, "evt_charge"))

    assert response.json()["outcome"] == "unchanged"
    log = ProcessedEvent.objects.get(event_id="evt_charge")
    assert log.detail == "Stripe reports $90.00 refunded, $0.00 known here as succeeded."


def test_a_refund_made_in_stripes_dashboard_is_recorded_and_counts_against_the_paid_total(
    client, order, operator
):
    event = refund_event(
        "refund.updated",
        "evt_dashboard",
        id="re_dashboard",
        amount=4000,
        currency="usd",
        payment_intent=payment_of(order).payment_intent_id,
        metadata={},
        status="succeeded",
    )

    response = deliver(client, event)

    assert response.json()["outcome"] == "refund_recorded"
    assert refunds_of(order) == [(4000, "succeeded", "external")]
    with pytest.raises(RefundRefused, match=r"at most \$50\.00 can still be refunded"):
        request_refund(order=order, amount=5001, actor=operator)


def test_a_refund_of_another_shops_payment_is_logged_and_answered_200(client, order):
    event = refund_event(
        "refund.updated", "evt_other", id="re_other", amount=100, payment_intent="pi_unknown"
    )

    response = deliver(client, event)

    assert (response.status_code, response.json()["outcome"]) == (200, "unknown_payment")
    assert Refund.objects.count() == 0


@pytest.mark.parametrize(
    "event",
    [
        refund_event("refund.updated", "evt_bad", amount="9000"),
        refund_event("refund.updated", "evt_bad", id={"nested": "object"}),
        refund_event("refund.updated", "evt_bad", metadata={"refundId": ["x"]}),
        refund_event("refund.updated", "evt_bad", status=7),
        refund_event("refund.updated", "evt_bad", amount=True),
        refund_event("refund.updated", "evt_bad", id="re_" + "x" * 300),
        refund_event("refund.updated", "evt_bad", currency="dollars"),
        stripe_event("refund.updated", {"object": "charge", "id": "ch_1"}, "evt_bad"),
        stripe_event(
            "charge.refunded", charge_object(refunds=None, amount_refunded="1"), "evt_bad"
        ),
        stripe_event(
            "charge.refunded",
            {**charge_object(refunds=[]), "refunds": {"data": "not a list"}},
            "evt_bad",
        ),
        stripe_event("charge.refunded", charge_object(refunds=[{"object": "refund"}]), "evt_bad"),
    ],
)
def test_malformed_refund_events_are_refused_with_400(client, event):
    response = deliver(client, event)

    assert response.status_code == 400
    assert ProcessedEvent.objects.count() == 0


# --- paid after cancel ---------------------------------------------------------------------------


def test_a_payment_landing_after_the_draft_was_canceled_is_refunded_in_full(
    client, customer, garment, fake_stripe, task_worker
):
    draft = make_order(owner=customer, garment=garment)
    start_checkout(order=draft)
    draft.refresh_from_db()
    expired = checkout_session(draft, status="expired", payment_status="unpaid")
    deliver(client, stripe_event("checkout.session.expired", expired, "evt_expired"))

    response = deliver(
        client, stripe_event("checkout.session.completed", checkout_session(draft), "evt_paid")
    )
    task_worker()

    assert response.json()["outcome"] == "refund_requested"
    draft.refresh_from_db()
    assert draft.status == OrderState.CANCELED
    assert refunds_of(draft) == [(9000, "succeeded", "paid_after_cancel")]
    [request] = fake_stripe.refund_requests()
    assert request["form"]["amount"] == "9000"
    # The same payment reported again (its async event) refunds nothing more.
    deliver(
        client,
        stripe_event(
            "checkout.session.async_payment_succeeded", checkout_session(draft), "evt_async"
        ),
    )
    assert len(refunds_of(draft)) == 1


# --- partial refunds -----------------------------------------------------------------------------


def test_partial_refunds_never_exceed_what_was_paid(order, operator):
    request_refund(order=order, amount=3000, actor=operator, note="one shirt misprinted")
    request_refund(order=order, amount=6000, actor=operator)

    with pytest.raises(RefundRefused) as refused:
        request_refund(order=order, amount=1, actor=operator)

    assert refused.value.message == (
        f"{order.reference}: at most $0.00 can still be refunded "
        "($90.00 paid, $90.00 refunded or on its way)."
    )
    assert refunds_of(order) == [(3000, "pending", "operator"), (6000, "pending", "operator")]


def test_a_failed_refund_gives_its_amount_back_to_refund(order, operator):
    first = request_refund(order=order, amount=9000, actor=operator)
    refund_workflows.settle_refund(
        refund_id=first.pk, stripe_refund={"status": "failed", "failure_reason": "declined"}
    )

    again = request_refund(order=order, amount=9000, actor=operator)

    assert again.state == "pending"


@pytest.mark.parametrize("amount", [0, -5, True])
def test_a_refund_needs_an_amount_above_zero(order, operator, amount):
    with pytest.raises(RefundRefused):
        request_refund(order=order, amount=amount, actor=operator)
    assert Refund.objects.count() == 0


def test_an_order_paid_without_a_recorded_payment_cannot_be_refunded_here(customer, operator):
    # Submitted by the service directly (no checkout session): nothing Stripe could refund.
    order = make_order(owner=customer, state=OrderState.APPROVED)

    with pytest.raises(RefundRefused, match="no Stripe payment is on record"):
        request_refund(order=order, amount=100, actor=operator)


def test_the_same_form_posted_twice_is_one_refund(order, operator):
    first = request_refund(order=order, amount=1000, actor=operator, request_key="tok-1")
    second = request_refund(order=order, amount=1000, actor=operator, request_key="tok-1")

    assert first.pk == second.pk
    assert Refund.objects.count() == 1


# --- reconciliation ------------------------------------------------------------------------------


def test_reconcile_settles_a_refund_whose_webhook_never_came(pending_refund, fake_stripe, settings):
    fake_stripe.refunds["re_fake0001"]["status"] = "succeeded"
    Refund.objects.update(created_at=pending_refund.created_at - timedelta(hours=1))
    out = StringIO()

    call_command("reconcile_payments", stdout=out)
    call_command("reconcile_payments", stdout=StringIO())

    pending_refund.refresh_from_db()
    assert pending_refund.state == "succeeded"
    assert "re_fake0001 status=succeeded: settled" in out.getvalue()
    assert ("GET", "/v1/refunds/re_fake0001") in [
        (r["method"], r["path"]) for r in fake_stripe.requests
    ]
    assert mails(pending_refund.order, "refund_succeeded") == ["customer@example.com"]


def test_reconcile_leaves_recent_pending_refunds_to_their_webhook(pending_refund, fake_stripe):
    call_command("reconcile_payments", stdout=StringIO())

    assert not [r for r in fake_stripe.requests if r["path"].startswith("/v1/refunds/")]


def test_reconcile_queues_again_a_refund_whose_task_was_lost(order, operator, task_worker):
    cancel(order, operator)
    DBTaskResult.objects.all().delete()  # the queued task was lost
    Refund.objects.update(created_at=Refund.objects.get().created_at - timedelta(hours=1))

    call_command("reconcile_payments", stdout=StringIO())
    task_worker()

    assert refunds_of(order) == [(9000, "succeeded", "order_canceled")]


# --- the backfill of orders paid before payments were recorded ----------------------------------


def test_the_migration_backfills_payments_from_submission_events(customer, garment):
    backfill = importlib.import_module("payments.migrations.0002_payments_and_refunds")
    old = make_order(owner=customer, garment=garment)
    submit_paid_order(
        order=old,
        amount_total=old.total_amount,
        currency=old.currency,
        checkout_session_id="cs_before",
        metadata={
            "stripeEventId": "evt_old",
            "checkoutSessionId": "cs_before",
            "paymentIntent": "pi_before",
        },
    )
    by_hand = make_order(owner=customer, garment=garment, state=OrderState.SUBMITTED)

    backfill.backfill_payments(apps, None)

    payment = payment_of(old)
    assert (payment.payment_intent_id, payment.amount, payment.currency) == (
        "pi_before",
        9000,
        "usd",
    )
    assert payment.stripe_event_id == "evt_old"
    assert not by_hand.payments.exists()
