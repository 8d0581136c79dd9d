"""/metrics: what a scrape shows after a paid order goes through, and who may scrape."""

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connections
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from payments.models import Refund
from payments.services import start_checkout
from production.lifecycle import OrderState, ProductionStatus
from production.models import OutgoingEmail, ProductionOrder
from tests.factories import make_order, operator_user, token_for
from tests.payments.stripe_events import checkout_session, deliver, stripe_event
from tests.realtime_support import session_key_for, socket_to
from tests.task_queue import run_worker

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests"


@pytest.fixture(autouse=True)
def _metrics(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    settings.SITE_URL = "http://shop.test"


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: {(name, sorted labels): value}."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name, **labels) -> float:
    """The sum of `name` over every label set that includes `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def test_a_paid_order_moves_the_figures(
    client, customer, garment, operator, monkeypatch, django_capture_on_commit_callbacks
):
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        draft = make_order(owner=customer, garment=garment)
    start_checkout(order=draft)
    draft = ProductionOrder.objects.get(pk=draft.pk)
    event = stripe_event("checkout.session.completed", checkout_session(draft), "evt_metrics_1")
    with django_capture_on_commit_callbacks(execute=True):
        paid = deliver(client, event)
        again = deliver(client, event)  # Stripe delivers it a second time
    assert paid.json()["outcome"] == "submitted" and again.json()["outcome"] == "duplicate"

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(operator)}")
    ready = make_order(
        state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY, operator=operator
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api.patch(
                f"/api/production/{ready.pk}", {"status": "fulfilled"}, format="json"
            ).status_code
            == 200
        )
        api.get(f"/api/production/{ready.pk}")
        api.get(f"/api/production/{ready.pk}")
    queued = scrape(client)
    run_worker(monkeypatch)  # sends the "fulfilled" mail
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "printshop_dependency_up", dependency="database") == 1
    webhook = "printshop_stripe_webhooks_total"
    assert moved(webhook, event_type="checkout.session.completed", outcome="submitted") == 1
    assert moved(webhook, event_type="checkout.session.completed", outcome="duplicate") == 1
    # The webhook's change committed (make_order's, inside the test's transaction, never does).
    assert moved("printshop_orders_entered_state_total", state="draft") == 1
    assert moved("printshop_orders_entered_state_total", state="submitted") == 1
    assert moved("printshop_orders_entered_state_total", state="fulfilled") == 1

    # The webhook's and the PATCH's latency, by route and status, with their queries.
    latency = "printshop_http_request_duration_seconds_count"
    assert moved(latency, view="stripe-webhook", method="POST", status="200") == 2
    patch_view = next(
        dict(labels)["view"]
        for (name, labels), _ in after.items()
        if name == latency and dict(labels).get("method") == "PATCH"
    )
    assert "order" in patch_view
    assert total(after, "printshop_http_request_db_queries_total", view=patch_view) > total(
        before, "printshop_http_request_db_queries_total", view=patch_view
    )
    assert total(after, "printshop_http_request_db_seconds_total", view=patch_view) > 0
    assert moved("printshop_cache_reads_total", result="hit") >= 1
    assert moved("printshop_cache_reads_total", result="miss") >= 1

    # The mail: queued for a worker, then sent.
    assert (
        value(queued, "printshop_task_queue_ready", task="production.notifications.deliver_email")
        >= 1
    )
    assert value(queued, "printshop_task_queue_oldest_ready_seconds") >= 0
    assert (
        value(after, "printshop_task_queue_ready", task="production.notifications.deliver_email")
        == 0
    )
    assert OutgoingEmail.objects.filter(sent_at__isnull=False).count() == value(
        after, "printshop_emails", state="sent"
    )
    assert (
        value(after, "printshop_emails", state="sent")
        - value(queued, "printshop_emails", state="sent")
        >= 1  # the "fulfilled" mail (and any other the order's changes queued)
    )
    assert (
        moved(
            "printshop_tasks_finished_total",
            task="production.notifications.deliver_email",
            status="SUCCESSFUL",
        )
        >= 1
    )


def test_failed_and_pending_refunds_and_mail_in_doubt_are_counted(client, customer):
    from django.utils import timezone

    from tests.payments.refund_support import paid_order, payment_of

    order = paid_order(owner=customer)
    OutgoingEmail.objects.create(
        order=order,
        kind=OutgoingEmail.Kind.CUSTOMER_MESSAGE,
        to="c@example.com",
        subject="s",
        body="b",
        handed_over_at=timezone.now() - timezone.timedelta(hours=1),  # its worker was killed
    )
    before = scrape(client)
    for state in (Refund.State.FAILED, Refund.State.PENDING):
        Refund.objects.create(
            order=order,
            payment=payment_of(order),
            amount=100,
            currency="usd",
            state=state,
            reason=Refund.Reason.ORDER_CANCELED,
            idempotency_key=f"metrics-test-{state}",
        )
    after = scrape(client)
    for state in ("failed", "pending"):
        assert (
            value(after, "printshop_refunds", state=state)
            - value(before, "printshop_refunds", state=state)
            == 1
        )
    assert value(after, "printshop_emails", state="in_doubt") == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Token {TOKEN}"},
        {"X-Forwarded-For": "10.1.2.3"},
    ],
    ids=["nothing", "wrong-token", "not-bearer", "spoofed-forwarded-for"],
)
def test_metrics_are_not_public(client, settings, headers):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert b"printshop_" not in response.content


def test_an_allowed_address_may_scrape_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 404
    # Behind one proxy, the client's address is the proxy's entry, not REMOTE_ADDR (the proxy).
    settings.TRUSTED_PROXY_COUNT = 1
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert (
        client.get(
            "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1"
        ).status_code
        == 200
    )


def test_with_metrics_off_nothing_is_counted(client, settings):
    settings.METRICS_ENABLED = False
    before = scrape(client)
    client.get("/healthz")
    after = scrape(client)
    count = "printshop_http_request_duration_seconds_count"
    assert value(after, count, view="healthz", method="GET", status="200") == value(
        before, count, view="healthz", method="GET", status="200"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layers")
async def test_sockets_open_and_frames_sent_are_counted(client):
    operator = await database_sync_to_async(operator_user)(email=f"{uuid.uuid4().hex}@example.com")
    order = await database_sync_to_async(make_order)(
        state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY, operator=operator
    )
    get = database_sync_to_async(scrape)
    before = await get(client)
    session = await database_sync_to_async(session_key_for)(operator)
    communicator = socket_to("/ws/ops/orders/", session_key=session)
    assert (await communicator.connect())[0]
    opened = await get(client)

    @database_sync_to_async
    def patch():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(operator)}")
        return api.patch(f"/api/production/{order.pk}", {"status": "fulfilled"}, format="json")

    assert (await patch()).status_code == 200
    json.loads(await communicator.receive_from(timeout=5))
    sent = await get(client)
    await communicator.disconnect()
    closed = await get(client)

    assert total(opened, "printshop_sockets_open") - total(before, "printshop_sockets_open") == 1
    assert total(closed, "printshop_sockets_open") == total(before, "printshop_sockets_open")
    frames = "printshop_socket_frames_sent_total"
    assert (
        value(sent, frames, type="order.updated") - value(before, frames, type="order.updated") >= 1
    )
    await database_sync_to_async(connections.close_all)()


def test_a_made_up_method_cannot_grow_the_metrics(client):
    before = scrape(client)
    for method in ("BREW", "WHEN", "PROPFIND"):
        client.generic(method, "/healthz")
    after = scrape(client)
    count = "printshop_http_request_duration_seconds_count"
    assert (
        value(after, count, view="healthz", method="other", status="405")
        - value(before, count, view="healthz", method="other", status="405")
        == 3
    )
    assert not any(dict(labels).get("method") == "BREW" for _, labels in after)


def test_job_tickets_and_the_artwork_check_are_timed(client, operator):
    from django.urls import reverse

    from artwork.preflight import PrintArea, check_url

    operator_client = APIClient()
    operator_client.force_login(operator)
    order = make_order(state=OrderState.APPROVED, operator=operator)
    before = scrape(client)
    pdf = operator_client.post(reverse("ops:order-ticket", args=[order.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    # A design on a loopback address is refused by the safe fetch: checked all the same.
    result = check_url("http://127.0.0.1:9/design.png", PrintArea("Front", 12, 16))
    assert result.verdict == "fail"
    after = scrape(client)
    count = "printshop_work_duration_seconds_count"
    for work in ("job_tickets", "preflight"):
        assert value(after, count, work=work) - value(before, count, work=work) == 1
    assert value(after, "printshop_work_duration_seconds_sum", work="job_tickets") > value(
        before, "printshop_work_duration_seconds_sum", work="job_tickets"
    )
