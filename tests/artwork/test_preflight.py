"""Preflight on designs made here, each with the verdict a person would expect, and the report
of an order's design: checked by the task queue, on the order's JSON, stopping its checkout until
the design is accepted, acknowledged or replaced."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw

from artwork.models import PreflightReport, Verdict
from artwork.preflight import PrintArea, check_design, check_url
from artwork.tasks import request_preflight
from payments.services import start_checkout
from production.models import FulfillmentEvent, ProductionOrder
from production.order_json import preflight_json
from production.services.artwork import (
    acknowledge_artwork_warnings,
    override_artwork_fail,
    replace_design,
)
from tests.factories import make_order
from tests.ops.test_tickets_designs import design_server, url

AREA = PrintArea("Front", 2, 2)  # 400 px across is 200 DPI
SVG = "http://www.w3.org/2000/svg"


def png(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def artwork(size: int = 400, alpha: int = 255, background=(0, 0, 0, 0)) -> Image.Image:
    """A red disc on `background`, the disc's alpha `alpha`."""
    image = Image.new("RGBA", (size, size), background)
    ImageDraw.Draw(image).ellipse(
        (size // 8, size // 8, size * 7 // 8, size * 7 // 8), fill=(220, 20, 60, alpha)
    )
    return image


def bomb() -> bytes:
    """A tiny PNG whose header claims 100,000 × 100,000 pixels."""
    data = bytearray(png(Image.new("1", (8, 8))))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 100_000, 100_000)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def statuses(result) -> dict[str, str]:
    return {check.code: check.status for check in result.checks}


def test_a_good_transparent_png_passes_every_check():
    result = check_design(png(artwork()), AREA)

    assert result.verdict == "pass", result.checks
    assert "200 DPI" in next(c.message for c in result.checks if c.code == "resolution")


@pytest.mark.parametrize(
    ("size", "verdict", "words"),
    [
        (200, "warning", "at 100 DPI on the front"),
        (100, "fail", "at 50 DPI on the front: it will look blurry"),
    ],
)
def test_too_few_pixels_for_the_print_size_warns_then_fails(size, verdict, words):
    result = check_design(png(artwork(size)), AREA)

    assert statuses(result)["resolution"] == verdict
    assert result.verdict == verdict
    assert words in next(c.message for c in result.checks if c.code == "resolution")


def test_thresholds_come_from_the_settings(settings):
    settings.PREFLIGHT_DPI_FAIL = 250
    settings.PREFLIGHT_DPI_WARN = 300

    assert statuses(check_design(png(artwork()), AREA))["resolution"] == "fail"


def test_semi_transparent_artwork_warns_with_a_picture_of_where():
    result = check_design(png(artwork(alpha=120)), AREA)

    assert statuses(result)["transparency"] == "warning"
    assert result.verdict == "warning"
    picture = Image.open(BytesIO(result.highlight)).convert("RGB")
    assert picture.getpixel((picture.width // 2, picture.height // 2)) == (255, 0, 200)
    assert picture.getpixel((2, 2)) != (255, 0, 200)  # the transparent corner is not marked


def test_a_white_box_around_the_artwork_warns():
    result = check_design(png(artwork(background=(255, 255, 255, 255))), AREA)

    assert statuses(result)["background"] == "warning"
    assert "solid white background" in next(
        c.message for c in result.checks if c.code == "background"
    )


def test_a_cmyk_jpeg_warns_that_colours_shift():
    cmyk = Image.new("CMYK", (400, 400), (0, 80, 90, 0))
    result = check_design(png(cmyk, "JPEG"), AREA)

    assert statuses(result)["colour"] == "warning"
    assert "CMYK" in next(c.message for c in result.checks if c.code == "colour")


def test_an_svg_linking_an_outside_image_warns_and_fetches_nothing():
    svg = (
        f'<svg xmlns="{SVG}" width="300" height="300"><circle cx="150" cy="150" r="100" '
        'fill="navy"/><image href="https://tracker.example/x.png" width="50" height="50"/></svg>'
    ).encode()

    result = check_design(svg, AREA)

    assert statuses(result) == {
        "file": "warning",
        "resolution": "pass",
        "colour": "pass",
        "transparency": "pass",
        "background": "pass",
        "extent": "pass",
    }
    assert "1 linked file" in result.checks[0].message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (bomb(), "megapixels the shop checks"),
        (png(artwork())[:900], "damaged or cut short"),
        (b"%PDF-1.7\n1 0 obj", "PDF designs are not accepted"),
        (b"hello", "not an image the shop can print"),
    ],
    ids=["decompression bomb", "truncated PNG", "PDF", "text"],
)
def test_files_that_cannot_be_read_fail_with_the_reason(data, words):
    result = check_design(data, AREA)

    assert result.verdict == "fail"
    assert words in result.checks[0].message


def test_a_design_over_the_memory_budget_is_refused_before_decoding(settings):
    settings.PREFLIGHT_MAX_MEMORY_MB = 1

    result = check_design(png(artwork(1000)), AREA)

    assert result.verdict == "fail"
    assert "MB to read" in result.checks[0].message


@pytest.mark.parametrize("n", range(7))
def test_the_demo_designs_pass(n):
    assert check_url(f"/static/demo/design-{n}.svg", PrintArea("Front", 12, 16)).verdict == "pass"


# --- an order's reports ----------------------------------------------------------------------


def order_with_design(monkeypatch, server, body: bytes, customer) -> ProductionOrder:
    server.routes["/d.png"] = (200, {"Content-Type": "image/png"}, body, 0)
    order = make_order(owner=customer)
    design = order.designs.get()
    design.url = url(server, "/d.png")
    design.save()
    return order


@pytest.fixture
def _public_test_site(settings):
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    settings.SITE_URL = "https://shop.example.com"


@pytest.mark.usefixtures("_public_test_site")
def test_a_failing_design_stops_the_checkout_until_an_operator_accepts_it(
    monkeypatch, customer, operator, task_worker, client
):
    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(40)), customer)
        assert request_preflight(order) == 1
        assert preflight_json(order)["verdict"] == "pending"
        assert task_worker() == ["fail"]

    report = preflight_json(order)
    assert report["verdict"] == "fail"
    [design] = report["designs"]
    assert {c["code"]: c["status"] for c in design["checks"]}["resolution"] == "fail"
    # Checkout: the order page, not a payment.
    assert start_checkout(order=order) == f"https://shop.example.com/orders/{order.pk}/"
    client.force_login(customer)
    page = client.post(reverse("payments:pay", args=[order.pk]), follow=True)
    assert "will not print well" in page.content.decode()
    assert ProductionOrder.objects.get(pk=order.pk).stripe_checkout_session_id is None

    event = override_artwork_fail(
        order=order.pk, placement="front", actor=operator, reason="Customer wants it pixelated"
    )

    assert event.kind == FulfillmentEvent.Kind.PROOF
    assert "Customer wants it pixelated" in event.message
    assert "/payments/checkout/" in start_checkout(order=ProductionOrder.objects.get(pk=order.pk))


@pytest.mark.usefixtures("_public_test_site")
def test_warnings_need_the_customers_acknowledgement_on_the_timeline(
    monkeypatch, customer, task_worker
):
    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(2400, alpha=120)), customer)
        request_preflight(order)
        assert task_worker() == ["warning"]

    assert start_checkout(order=order).endswith(f"/orders/{order.pk}/")

    event = acknowledge_artwork_warnings(order=order.pk, actor=customer)

    assert "read and accepted by the customer" in event.message
    assert preflight_json(order)["acknowledged"] is True
    assert "/payments/checkout/" in start_checkout(order=ProductionOrder.objects.get(pk=order.pk))


@pytest.mark.usefixtures("_public_test_site")
def test_a_new_design_is_checked_again(monkeypatch, customer, task_worker):
    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(40)), customer)
        request_preflight(order)
        assert task_worker() == ["fail"]
        server.routes["/good.png"] = (200, {}, png(artwork(2400)), 0)  # 12 × 16 in: 200 DPI

        replace_design(
            order=order.pk, placement="front", url=url(server, "/good.png"), actor=customer
        )

        assert PreflightReport.objects.get(order=order).verdict == Verdict.PENDING
        assert task_worker() == ["pass"]

    assert preflight_json(order)["verdict"] == "pass"
    assert ProductionOrder.objects.get(pk=order.pk).design_url.endswith("/good.png")


@pytest.mark.usefixtures("_public_test_site")
def test_a_check_still_running_past_its_hold_does_not_stop_the_checkout(customer):
    # PREFLIGHT_PENDING_HOLD is 0 here (tests/conftest.py): the hold is over at once.
    order = make_order(owner=customer)

    assert "/payments/checkout/" in start_checkout(order=order)
    assert PreflightReport.objects.get(order=order).verdict == Verdict.PENDING


def test_the_api_checks_a_design_without_making_an_order(customer_api, garment):
    response = customer_api.post(
        "/api/artwork/check",
        {
            "garmentId": garment.shopify_gid,
            "placement": "front",
            "designUrl": "https://shop.invalid/x.png",
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["verdict"] == "fail"
    assert ProductionOrder.objects.count() == 0


def test_the_api_check_needs_a_login(anon_api, garment):
    response = anon_api.post("/api/artwork/check", {}, format="json")

    assert response.status_code == 401


@pytest.mark.usefixtures("_public_test_site")
def test_the_report_on_the_order_json_is_what_the_schema_documents(
    monkeypatch, customer, task_worker
):
    from production.api.serializers import OrderOutput
    from production.order_json import order_json
    from production.selectors import get_order_detail

    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(2400, alpha=120)), customer)
        request_preflight(order)
        task_worker()
    acknowledge_artwork_warnings(order=order.pk, actor=customer)
    detail = get_order_detail(order_id=order.pk)

    assert order_json(detail)["preflight"] == OrderOutput(detail).data["preflight"]
    preflight = order_json(detail)["preflight"]
    assert (preflight["verdict"], preflight["acknowledged"]) == ("warning", True)
    transparency = next(c for c in preflight["designs"][0]["checks"] if c["code"] == "transparency")
    assert transparency["status"] == "warning"
    assert "semi-transparent" in transparency["message"]


@pytest.mark.usefixtures("_public_test_site")
def test_checks_run_on_their_own_queue_not_the_mail_one(monkeypatch, customer):
    from tests.task_queue import run_worker

    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork()), customer)
        request_preflight(order)

        assert run_worker(monkeypatch) == []  # the default queue's worker leaves it

    assert PreflightReport.objects.get(order=order).verdict == Verdict.PENDING
