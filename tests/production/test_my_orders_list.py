"""My orders as the customer reads it: an order waiting for their answer on top and marked, a
small picture of each order's design (this site's own files only), badges and references that
do not break inside a word."""

import re

import pytest
from django.utils import timezone

from artwork.models import PreflightReport, Verdict
from production.lifecycle import OrderState
from production.models import ProductionOrder
from tests.factories import make_order, make_proof

pytestmark = pytest.mark.django_db


def rows(response) -> list[str]:
    return re.findall(r"<tr[ >].*?</tr>", response.content.decode(), flags=re.S)[1:]


def test_an_order_waiting_for_my_answer_is_listed_first_and_marked(client, customer):
    waiting = make_order(owner=customer, state=OrderState.SUBMITTED)
    make_proof(waiting)
    newer = [make_order(owner=customer) for _ in range(2)]
    client.force_login(customer)
    listed = rows(client.get("/orders/"))
    assert waiting.reference in listed[0]
    assert "Waiting for your answer" in listed[0]
    assert all(
        "Waiting for your answer" not in row and o.reference in row
        for row, o in zip(listed[1:], reversed(newer), strict=True)
    )


def test_the_waiting_order_is_first_even_when_it_would_be_on_page_two(client, customer):
    waiting = make_order(owner=customer, state=OrderState.SUBMITTED)
    make_proof(waiting)
    for _ in range(20):
        make_order(owner=customer)
    client.force_login(customer)
    assert waiting.reference in rows(client.get("/orders/"))[0]
    assert waiting.reference not in client.get("/orders/?page=2").content.decode()


def test_a_demo_design_is_shown_and_a_customer_url_never_is(client, customer):
    ours = make_order(owner=customer)
    ProductionOrder.objects.filter(pk=ours.pk).update(
        design_url="http://testserver/static/demo/design-1.svg"
    )
    theirs = make_order(owner=customer)
    ProductionOrder.objects.filter(pk=theirs.pk).update(
        design_url="https://tracker.example.com/pixel.png"
    )
    client.force_login(customer)
    page = client.get("/orders/").content.decode()
    row_ours = next(r for r in rows(client.get("/orders/")) if ours.reference in r)
    row_theirs = next(r for r in rows(client.get("/orders/")) if theirs.reference in r)
    assert '<img src="/static/demo/design-1.svg"' in row_ours
    assert 'width="48" height="48" loading="lazy"' in row_ours
    assert "<img" not in row_theirs and "thumb-placeholder" in row_theirs
    assert "tracker.example.com" not in page


def test_an_unpaid_order_with_artwork_warnings_to_read_is_listed_first_until_read(client, customer):
    warned = make_order(owner=customer)
    report = PreflightReport.objects.create(
        design=warned.designs.get(),
        order=warned,
        url=warned.design_url,
        verdict=Verdict.WARNING,
        checked_at=timezone.now(),
    )
    newer = make_order(owner=customer)
    client.force_login(customer)
    listed = rows(client.get("/orders/"))
    assert warned.reference in listed[0] and "Waiting for your answer" in listed[0]
    assert newer.reference in listed[1] and "Waiting for your answer" not in listed[1]

    PreflightReport.objects.filter(pk=report.pk).update(acknowledged_at=timezone.now())
    listed = rows(client.get("/orders/"))
    assert newer.reference in listed[0]
    assert "Waiting for your answer" not in "".join(listed)
