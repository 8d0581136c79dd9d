"""Scan stations (/ops/scan/): a ticket's code moves its order to the station's stage through the
services and the rulebook, or says plainly why not; every scan is listed at its station."""

import re

import pytest
from django.test import Client

from ops.floor import STATIONS, parse_code
from ops.models import StationScan
from production.lifecycle import EventSource, OrderState, Priority, ProductionStatus
from production.models import FulfillmentEvent, ProductionOrder
from production.services.orders import update_order
from tests.factories import make_order, make_proof

pytestmark = pytest.mark.django_db

PROOF = "proof waiting"
MOVED, ALREADY = "moved", "already"
NOT_PAID = "The order is not paid yet: payment comes first."
APPROVE_FIRST = "Approve artwork first: the order is Submitted."
PROOF_1 = "The customer has not answered proof 1 yet."
ON_HOLD = "Release the hold first: the order is on hold."
START_FIRST = "Start production first: the order is Approved."
FULFILLED = "The order is fulfilled: it cannot change any more."
CANCELED = "The order is canceled: it cannot change any more."


def past(step: str) -> str:
    return f"The order is already at {step}: production only moves on."


# Every place an order can be × every station: moved, already there, or the rulebook's reason.
#   (state, step or PROOF, priority, at Printing, at Finishing, at Ready)
TABLE = [
    (OrderState.DRAFT, None, "standard", NOT_PAID, NOT_PAID, NOT_PAID),
    (OrderState.SUBMITTED, None, "standard", APPROVE_FIRST, APPROVE_FIRST, APPROVE_FIRST),
    (OrderState.SUBMITTED, None, "hold", APPROVE_FIRST, APPROVE_FIRST, APPROVE_FIRST),
    (OrderState.SUBMITTED, PROOF, "standard", PROOF_1, PROOF_1, PROOF_1),
    (OrderState.APPROVED, None, "standard", MOVED, START_FIRST, START_FIRST),
    (OrderState.APPROVED, None, "rush", MOVED, START_FIRST, START_FIRST),
    (OrderState.APPROVED, None, "hold", ON_HOLD, ON_HOLD, ON_HOLD),
    (OrderState.IN_PRODUCTION, "Printing", "standard", ALREADY, MOVED,
     "Finish printing first: the order is at Printing."),
    (OrderState.IN_PRODUCTION, "Printing", "hold", ALREADY, ON_HOLD, ON_HOLD),
    (OrderState.IN_PRODUCTION, "Finishing", "standard", past("Finishing"), ALREADY, MOVED),
    (OrderState.IN_PRODUCTION, "Finishing", "hold", past("Finishing"), ALREADY, ON_HOLD),
    (OrderState.IN_PRODUCTION, "Ready", "standard", past("Ready"), past("Ready"), ALREADY),
    (OrderState.FULFILLED, None, "standard", FULFILLED, FULFILLED, FULFILLED),
    (OrderState.CANCELED, None, "standard", CANCELED, CANCELED, CANCELED),
]  # fmt: skip
CASES = [
    pytest.param(
        state, step, priority, station, expected, id=f"{state}-{step}-{priority}-{station.key}"
    )
    for state, step, priority, *outcomes in TABLE
    for station, expected in zip(STATIONS, outcomes, strict=True)
]


def order_at(state, step, priority) -> ProductionOrder:
    order = make_order(state=state, step=None if step == PROOF else step)
    if step == PROOF:
        make_proof(order)
    if priority != order.priority:
        update_order(order=order, actor=None, source=EventSource.OPERATOR, priority=priority)
    return ProductionOrder.objects.get(pk=order.pk)


def scan(client: Client, station: str, code: str) -> dict:
    response = client.post(f"/ops/scan/{station}/scans", {"code": code})
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(("state", "step", "priority", "station", "expected"), CASES)
def test_every_station_and_every_order_position(
    ops_client, state, step, priority, station, expected
):
    order = order_at(state, step, priority)
    before = (order.status, order.production_status)
    events = order.events.count()

    answer = scan(ops_client, station.key, order.reference)

    moved = ProductionOrder.objects.get(pk=order.pk)
    assert answer["reference"] == order.reference
    assert answer["customer"] == order.owner.email
    if expected == MOVED:
        assert answer["outcome"] == "moved"
        assert answer["ok"] is True
        assert answer["message"] == f"Moved to {station.label}"
        assert answer["stage"] == station.label
        assert (moved.status, moved.production_status) == (
            OrderState.IN_PRODUCTION,
            station.step,
        )
        assert moved.events.count() == events + 1
        assert moved.events.last().source == EventSource.OPERATOR
    else:
        assert (moved.status, moved.production_status) == before
        assert moved.events.count() == events
        if expected == ALREADY:
            assert answer["outcome"] == "already"
            assert answer["ok"] is True  # a harmless re-scan: green, no error sound
            assert answer["message"] == f"Already at {station.label}"
        else:
            assert answer["outcome"] == "refused"
            assert answer["ok"] is False
            assert answer["message"] == expected
    logged = StationScan.objects.get()
    assert (logged.station, logged.order_id, logged.outcome) == (
        station.key,
        order.pk,
        answer["outcome"],
    )


def test_three_stations_in_order_take_an_order_to_ready(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    for station in ("printing", "finishing", "ready"):
        assert scan(ops_client, station, order.reference)["outcome"] == "moved"
    order.refresh_from_db()
    assert (order.status, order.production_status) == ("in_production", ProductionStatus.READY)
    assert list(order.events.values_list("message", flat=True))[-3:] == [
        "Production started",
        "Printing done: the order is being finished",
        "Finished and checked: the order is ready",
    ]


def test_a_double_scan_is_one_event(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    events = order.events.count()
    first = scan(ops_client, "printing", order.reference)
    second = scan(ops_client, "printing", order.reference)
    assert (first["outcome"], second["outcome"]) == ("moved", "already")
    assert second["message"] == "Already at Printing"
    assert order.events.count() == events + 1
    assert StationScan.objects.count() == 2  # both listed at the station


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ORD-000042", "ORD-000042"),
        ("  ord-000042\r\n", "ORD-000042"),
        ("Ord-42", "ORD-000042"),
        ("42", "ORD-000042"),
        ("ORD-1234567", "ORD-1234567"),
    ],
)
def test_references_are_read_however_they_are_typed(typed, expected):
    assert parse_code(typed).reference == expected


def test_the_qr_codes_ops_url_names_the_order_too(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    url = f"https://shop.example.com/ops/orders/{order.pk}/"
    assert parse_code(url).order_id == order.pk
    assert scan(ops_client, "printing", url)["reference"] == order.reference
    order.refresh_from_db()
    assert order.status == OrderState.IN_PRODUCTION


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ORD-999999", "No order ORD-999999: check the reference on the ticket."),
        (
            "hello world",
            "“hello world” is not an order code: scan the barcode on the job ticket or type its "
            "reference (ORD-000123).",
        ),
        (
            "https://shop.example.com/orders/new/",
            "“https://shop.example.com/orders/new/” is not an order code: scan the barcode on "
            "the job ticket or type its reference (ORD-000123).",
        ),
        ("   ", "Nothing was scanned: scan the barcode on the job ticket."),
    ],
)
def test_unknown_codes_get_a_clear_message(ops_client, typed, message):
    answer = scan(ops_client, "printing", typed)
    assert answer["outcome"] == "unknown"
    assert answer["ok"] is False
    assert answer["reference"] == ""
    assert answer["message"] == message
    assert not FulfillmentEvent.objects.exists()


def test_without_javascript_the_form_redirects_back_with_the_result(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    response = ops_client.post("/ops/scan/printing/", {"code": order.reference.lower()})
    assert response.status_code == 302
    assert re.fullmatch(r"/ops/scan/printing/\?scan=\d+", response["Location"])
    page = ops_client.get(response["Location"]).content.decode()
    assert 'class="scan-result ok moved"' in page
    assert f'data-field="headline">{order.reference}<' in page
    assert 'data-field="message">Moved to Printing<' in page
    assert 'data-field="stage">Now at Printing<' in page

    response = ops_client.post("/ops/scan/finishing/", {"code": "ORD-999999"})
    page = ops_client.get(response["Location"]).content.decode()
    assert 'class="scan-result refused unknown"' in page
    assert "No order ORD-999999: check the reference on the ticket." in page


def test_the_station_lists_its_last_ten_scans_newest_first(ops_client, garment):
    orders = [make_order(garment=garment, state=OrderState.APPROVED) for _ in range(3)]
    for order in orders:
        scan(ops_client, "printing", order.reference)
    for n in range(9):
        scan(ops_client, "printing", f"ORD-99999{n}")
    scan(ops_client, "finishing", orders[0].reference)  # another station's list

    scans = ops_client.get("/ops/scan/printing/").context["scans"]  # a reload shows them
    assert len(scans) == 10
    assert [s["code"] for s in scans[:3]] == ["ORD-999998", "ORD-999997", "ORD-999996"]
    assert scans[-1]["reference"] == orders[2].reference
    assert [s["reference"] for s in ops_client.get("/ops/scan/finishing/").context["scans"]] == [
        orders[0].reference
    ]


def test_a_station_page_keeps_its_field_ready_for_the_scanner(ops_client):
    page = ops_client.get("/ops/scan/finishing/").content.decode()
    field = re.search(r"<input id=\"scan-code\"[^>]*>", page).group(0)
    assert "autofocus" in field and 'autocomplete="off"' in field
    assert "Move to Finishing" in page
    assert "js/ops-scan.js" in page
    assert ops_client.get("/ops/scan/nowhere/").status_code == 404
    stations = ops_client.get("/ops/scan/").content.decode()
    for label in ("Printing", "Finishing", "Ready"):
        assert f">{label}</a>" in stations
    assert "Queued" not in stations  # approving artwork is no station's scan


def test_scans_need_the_csrf_token(operator, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post("/ops/scan/printing/", {"code": order.reference}).status_code == 403
    assert client.post("/ops/scan/printing/scans", {"code": order.reference}).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderState.APPROVED
    assert not StationScan.objects.exists()

    page = client.get("/ops/scan/printing/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    answer = client.post(
        "/ops/scan/printing/scans", {"code": order.reference}, headers={"X-CSRFToken": token}
    )
    assert answer.json()["outcome"] == "moved"


def test_stations_are_for_operators_only(customer_client, customer, garment):
    order = make_order(owner=customer, garment=garment, state=OrderState.APPROVED)
    urls = [
        ("get", "/ops/scan/"),
        ("get", "/ops/scan/printing/"),
        ("post", "/ops/scan/printing/"),
        ("post", "/ops/scan/printing/scans"),
    ]
    for method, url in urls:
        response = getattr(customer_client, method)(url, {"code": order.reference})
        assert response.status_code == 403, url
        response = getattr(Client(), method)(url, {"code": order.reference})
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"/accounts/login/?next={url}"), url
    order.refresh_from_db()
    assert order.status == OrderState.APPROVED
    assert not StationScan.objects.exists()


def test_a_phone_scanning_the_qr_code_logs_in_and_lands_on_the_order(operator, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED, priority=Priority.RUSH)
    phone = Client()
    url = f"/ops/orders/{order.pk}/"
    response = phone.get(url)
    assert response.status_code == 302
    login = response["Location"]
    assert login == f"/accounts/login/?next={url}"
    page = phone.get(login).content.decode()
    assert f'name="next" value="{url}"' in page
    response = phone.post(
        login, {"username": operator.email, "password": "pw-for-tests-123", "next": url}
    )
    assert response.status_code == 302
    assert response["Location"] == url
    assert order.reference in phone.get(url).content.decode()
