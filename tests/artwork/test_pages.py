"""The artwork check where people see it: the customer's order page (the report, what to do, the
acknowledgement), the ops order page (accepting a fail), and the mockups and highlight pictures,
served to the order's owner and operators only."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.urls import reverse
from PIL import Image

from artwork.tasks import request_preflight
from production.models import FulfillmentEvent, ProductionOrder
from tests.artwork.test_preflight import artwork, png
from tests.factories import make_order
from tests.ops.test_tickets_designs import design_server, url

pytestmark = pytest.mark.usefixtures("_public_test_site")


@pytest.fixture
def _public_test_site(settings):
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    settings.SITE_URL = "https://shop.example.com"


def checked_order(monkeypatch, task_worker, customer, body: bytes) -> ProductionOrder:
    with design_server(monkeypatch) as server:
        server.routes["/d.png"] = (200, {}, body, 0)
        order = make_order(owner=customer)
        design = order.designs.get()
        design.url = url(server, "/d.png")
        design.save()
        request_preflight(order)
        task_worker()
    return order


def test_the_customer_sees_a_fail_and_what_to_do(monkeypatch, task_worker, customer, client):
    order = checked_order(monkeypatch, task_worker, customer, png(artwork(40)))
    client.force_login(customer)

    page = client.get(reverse("order-detail", args=[order.pk])).content.decode()

    assert "Will not print well" in page
    assert "Payment waits for the artwork." in page
    assert "it will look blurry" in page
    assert "Check the new design" in page


def test_the_customer_acknowledges_warnings_on_the_page(monkeypatch, task_worker, customer, client):
    order = checked_order(monkeypatch, task_worker, customer, png(artwork(2400, alpha=120)))
    client.force_login(customer)
    page = client.get(reverse("order-detail", args=[order.pk])).content.decode()
    assert "I have read the warnings" in page
    assert reverse("artwork:highlight", args=[order.pk, "front"]) in page

    client.post(reverse("artwork:acknowledge", args=[order.pk]))

    page = client.get(reverse("order-detail", args=[order.pk])).content.decode()
    assert "I have read the warnings" not in page
    assert "Payment waits for the artwork." not in page
    assert order.events.filter(kind=FulfillmentEvent.Kind.PROOF).count() == 1


def test_an_operator_accepts_a_fail_with_a_reason(
    monkeypatch, task_worker, customer, operator, client
):
    order = checked_order(monkeypatch, task_worker, customer, png(artwork(40)))
    client.force_login(operator)
    page = client.get(reverse("ops:order-detail", args=[order.pk])).content.decode()
    assert "Accept the design" in page

    client.post(
        reverse("artwork:override", args=[order.pk, "front"]), {"reason": "Retro pixel look"}
    )

    event = order.events.get(kind=FulfillmentEvent.Kind.PROOF)
    assert "Retro pixel look" in event.message
    assert event.actor == operator


def test_a_customer_cannot_accept_their_own_fail(monkeypatch, task_worker, customer, client):
    order = checked_order(monkeypatch, task_worker, customer, png(artwork(40)))
    client.force_login(customer)

    response = client.post(reverse("artwork:override", args=[order.pk, "front"]), {"reason": "x"})

    assert response.status_code == 403


def test_mockups_are_for_the_owner_and_operators_only(
    monkeypatch, task_worker, customer, other_customer, operator, client
):
    order = checked_order(monkeypatch, task_worker, customer, png(artwork(2400)))
    color = order.line_items.first().color
    mockup = reverse("artwork:mockup", args=[order.pk, "front", color.pk])

    client.force_login(customer)
    mine = client.get(mockup)
    client.force_login(other_customer)
    theirs = client.get(mockup)
    client.force_login(operator)
    ops = client.get(mockup)

    assert (mine.status_code, theirs.status_code, ops.status_code) == (200, 403, 200)
    image = Image.open(BytesIO(mine.content))
    assert image.format == "JPEG"
    # The red disc is drawn inside the print area, on the garment.
    reds = [
        p
        for p in image.convert("RGB").get_flattened_data()
        if p[0] > 180 and p[1] < 80 and p[2] < 110
    ]
    assert len(reds) > 1000


def test_the_job_ticket_says_the_artwork_failed(
    monkeypatch, task_worker, customer, operator, client
):
    from production.lifecycle import OrderState
    from production.services.orders import submit_paid_order
    from tests.ops.ticket_support import page_texts

    order = checked_order(monkeypatch, task_worker, customer, png(artwork(40)))
    submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.SUBMITTED
    client.force_login(operator)

    response = client.post(reverse("ops:order-ticket", args=[order.pk]))

    assert "Front · 12 × 16 in · artwork FAILED" in page_texts(response.content)[0]


def test_the_order_form_checks_a_design_and_shows_its_mockup_before_paying(customer, client):
    garment = make_order(owner=customer).garment  # its catalogue: a default colour, a front
    client.force_login(customer)
    form = client.get(reverse("order-new")).content.decode()
    assert "Check the design and show it on the garment" in form

    answer = client.get(
        reverse("artwork:form-preview"),
        {"garment": garment.shopify_gid, "color": "", "url": "/static/demo/design-1.svg"},
    ).json()

    assert answer["verdict"] == "pass"
    mockup = client.get(answer["mockupUrl"])
    assert mockup.status_code == 200
    assert Image.open(BytesIO(mockup.content)).format == "JPEG"


def test_the_order_form_check_is_throttled(customer, client, settings):
    settings.PREFLIGHT_CHECK_RATE = "1/minute"
    garment = make_order(owner=customer).garment
    client.force_login(customer)
    query = {"garment": garment.shopify_gid, "url": "/static/demo/design-1.svg"}

    assert client.get(reverse("artwork:form-preview"), query).status_code == 200
    assert client.get(reverse("artwork:form-preview"), query).status_code == 429
