"""In a real browser: an operator prints tickets for two selected orders as a queued batch, watches
the batch page follow the worker, and downloads the PDF."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ops import tickets
from ops.design_images import Thumbnail
from production.lifecycle import OrderState
from tests.browser_support import (  # noqa: F401 — pytest fixtures
    browser_type_launch_args,
    log_in,
    plain_http_live_server,
)
from tests.factories import make_order
from tests.ops.ticket_support import page_texts

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plain_http_live_server"),
]


def test_operator_prints_a_batch_and_downloads_it_when_ready(
    live_server, page, garment, operator, settings, monkeypatch, task_worker
):
    settings.TICKET_DIRECT_LIMIT = 1  # two orders are a batch for the worker
    monkeypatch.setattr(tickets, "design_thumbnail", lambda url: Thumbnail(None, "off"))
    monkeypatch.setattr("production.broadcasts.order_changed", lambda order, events: None)
    orders = [
        make_order(garment=garment, state=OrderState.SUBMITTED, operator=operator) for _ in range(3)
    ]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in(page, live_server.url, operator.email, next_url="/ops/orders")
    for order in orders[:2]:
        page.get_by_label(f"Select {order.reference}").check()
    # No bulk change chosen: printing is not a bulk change and needs none.
    page.get_by_role("button", name="Print tickets for selected").click()

    expect(page).to_have_url(re.compile(r"/ops/tickets/[0-9a-f-]+/$"))
    expect(page.get_by_role("heading", name="Job tickets for 2 orders")).to_be_visible()
    expect(page.locator("#batch-state")).to_have_text("Waiting for a worker")
    expect(page.get_by_role("link", name="Download the PDF")).to_be_hidden()

    assert task_worker() == ["ready"]

    # The page follows the batch by itself: no reload.
    expect(page.locator("#batch-state")).to_have_text("Ready to download", timeout=10_000)
    expect(page.locator("#batch-done")).to_have_text("2")
    link = page.get_by_role("link", name="Download the PDF")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    pdf = Path(download.value.path()).read_bytes()
    assert sorted(text.splitlines()[0] for text in page_texts(pdf)) == sorted(
        o.reference for o in orders[:2]
    )
    assert errors == []
