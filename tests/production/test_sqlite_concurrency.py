"""The embedded default (daphne + a SQLite file, as `make run` serves) under simultaneous writers.

SQLite allows one writer at a time. A transaction that starts by reading and then writes cannot
wait for the lock (SQLite refuses the upgrade at once, "database is locked", to avoid a deadlock),
so writers must take the write lock when they begin (`transaction_mode: IMMEDIATE`) and then
wait their turn for up to the busy timeout.
"""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe

from tests.realtime_support import BASE_DIR, Daphne, run_json, server_env

SECRET = "whsec_sqlite_concurrency"
WRITERS = 8


def _seed() -> None:
    """Runs in a subprocess: a draft with its checkout started, and an approved order."""
    import django

    django.setup()
    from payments.services import start_checkout
    from production.lifecycle import OrderState
    from production.models import ProductionOrder
    from tests.factories import GarmentFactory, make_order, operator_user, token_for

    garment = GarmentFactory()
    operator = operator_user(email="sqlite-operator@example.com")
    draft = make_order(garment=garment)
    start_checkout(order=draft)
    draft = ProductionOrder.objects.get(pk=draft.pk)
    approved = make_order(garment=garment, state=OrderState.APPROVED, operator=operator)
    print(
        json.dumps(
            {
                "draft_id": str(draft.pk),
                "session_id": draft.stripe_checkout_session_id,
                "amount": draft.total_amount,
                "currency": draft.currency,
                "approved_id": str(approved.pk),
                "operator_token": token_for(operator),
            }
        )
    )


def _query(env: dict, code: str) -> object:
    return run_json(env, f"import django, json; django.setup(); {code}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("sqlite") / "shop.sqlite3"
    env = server_env(
        f"sqlite:///{database}", STRIPE_WEBHOOK_SECRET=SECRET, SITE_URL="http://127.0.0.1"
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    seed = _query(env, "from tests.production.test_sqlite_concurrency import _seed; _seed()")
    daphne = Daphne(env)
    try:
        daphne.wait_ready()
        yield daphne, env, seed
    finally:
        daphne.stop()


def _send(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _at_once(requests: list[urllib.request.Request]) -> list[tuple[int, bytes]]:
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(_send, requests))


def test_simultaneous_deliveries_of_one_paid_event_all_succeed(server):
    daphne, env, seed = server
    session = {
        "id": seed["session_id"],
        "object": "checkout.session",
        "client_reference_id": seed["draft_id"],
        "status": "complete",
        "payment_status": "paid",
        "amount_total": seed["amount"],
        "currency": seed["currency"],
        "metadata": {"orderId": seed["draft_id"]},
    }
    event = {
        "id": "evt_sqlite_race",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    payload = json.dumps(event)
    requests = [
        urllib.request.Request(
            f"{daphne.url}/api/stripe/webhook",
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                    payload, SECRET
                ),
            },
        )
        for _ in range(WRITERS)
    ]

    answers = _at_once(requests)

    assert [status for status, _ in answers] == [200] * WRITERS, answers
    outcomes = sorted(json.loads(body)["outcome"] for _, body in answers)
    assert outcomes == ["duplicate"] * (WRITERS - 1) + ["submitted"]
    state = _query(
        env,
        "from production.models import ProductionOrder as O; "
        f"o = O.objects.get(pk='{seed['draft_id']}'); "
        "print(json.dumps([o.status, o.events.filter(status='Queued').count()]))",
    )
    assert state == ["submitted", 1]


def test_simultaneous_patches_of_one_order_all_succeed(server):
    daphne, env, seed = server
    bodies = [{"status": "in_production"}] * (WRITERS // 2) + [
        {"priority": "rush"},
        {"priority": "standard"},
        {"notes": "Checked the artwork"},
        {"notes": "Inks ready"},
    ]
    requests = [
        urllib.request.Request(
            f"{daphne.url}/api/production/{seed['approved_id']}",
            data=json.dumps(body).encode(),
            method="PATCH",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Token {seed['operator_token']}",
            },
        )
        for body in bodies
    ]

    answers = _at_once(requests)

    assert [status for status, _ in answers] == [200] * WRITERS, answers
    state = _query(
        env,
        "from production.models import ProductionOrder as O, OrderNote; "
        f"o = O.objects.get(pk='{seed['approved_id']}'); "
        "print(json.dumps([o.status, o.events.filter(metadata__to='in_production').count(), "
        "OrderNote.objects.filter(order=o).count()]))",
    )
    assert state == ["in_production", 1, 2]
