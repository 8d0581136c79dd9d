"""Job tickets: what an operator gets from the order page and the list, read back from the PDF."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from reportlab.pdfgen.canvas import Canvas

from ops import tickets
from ops.design_images import Thumbnail
from ops.models import TicketBatch
from production.lifecycle import OrderState, Priority, ProductionStatus
from production.models import FulfillmentEvent, ProductionOrder
from tests.factories import make_order, set_technique
from tests.ops.ticket_support import page_texts, scanned_codes

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.com"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.TICKET_DIRECT_LIMIT = 20
    settings.TICKET_BATCH_LIMIT = 500


@pytest.fixture(autouse=True)
def _no_design_fetch(monkeypatch):
    # These tests are about the ticket; designs have their own (tests/ops/test_tickets_designs.py).
    monkeypatch.setattr(
        tickets, "design_thumbnail", lambda url: Thumbnail(None, "Design preview off in tests")
    )


def ticket_events(order: ProductionOrder) -> list[FulfillmentEvent]:
    return list(order.events.filter(kind=FulfillmentEvent.Kind.JOB_TICKET))


def print_order_ticket(client, order: ProductionOrder):
    return client.post(reverse("ops:order-ticket", args=[order.pk]))


def print_from_list(client, *, ids=(), scope="selected", filters=""):
    return client.post(
        reverse("ops:ticket-print"),
        {"scope": scope, "ids": [str(i) for i in ids], "filters": filters},
    )


def test_order_page_ticket_holds_reference_sizes_quantities_and_techniques(ops_client, garment):
    order = make_order(
        garment=garment,
        sizes=[("M", 2), ("XL", 13)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.PRINTING,
    )
    set_technique(order, "screen", sizes=["XL"])
    ProductionOrder.objects.filter(pk=order.pk).update(
        notes="Left chest, 9 cm wide", due_date=dt.date(2030, 3, 8)
    )

    response = print_order_ticket(ops_client, order)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"job-tickets-{order.reference}.pdf" in response["Content-Disposition"]
    [text] = page_texts(response.content)
    assert order.reference in text
    lines = text.splitlines()
    # The table reads size, quantity, technique for each line, then the total.
    assert lines[lines.index("M") : lines.index("M") + 3] == ["M", "2", "Direct to garment"]
    assert lines[lines.index("XL") : lines.index("XL") + 3] == ["XL", "13", "Screen print"]
    assert lines[lines.index("Total") + 1] == "15"
    assert "Classic Tee" in text
    assert order.owner.email in text
    assert "Fri 08 Mar 2030" in text
    assert "Left chest, 9 cm wide" in text
    assert "RUSH" not in text


def test_barcode_scans_as_the_reference_and_qr_opens_the_ops_order_page(ops_client):
    order = make_order(state=OrderState.APPROVED)

    response = print_order_ticket(ops_client, order)

    codes = scanned_codes(response.content)
    assert codes["Code128"] == order.reference
    assert codes["QRCode"] == SITE + reverse("ops:order-detail", args=[order.pk])


def test_without_site_url_the_qr_code_uses_the_address_the_operator_used(ops_client, settings):
    settings.SITE_URL = ""
    order = make_order(state=OrderState.SUBMITTED)

    response = print_order_ticket(ops_client, order)

    assert scanned_codes(response.content)["QRCode"] == (
        "http://testserver" + reverse("ops:order-detail", args=[order.pk])
    )


def test_rush_and_hold_tickets_say_so_in_a_band_across_the_top(ops_client):
    rush = make_order(priority=Priority.RUSH, state=OrderState.APPROVED)
    held = make_order(priority=Priority.HOLD, state=OrderState.SUBMITTED)

    rush_text = page_texts(print_order_ticket(ops_client, rush).content)[0]
    held_text = page_texts(print_order_ticket(ops_client, held).content)[0]

    assert rush_text.splitlines()[0] == "RUSH"  # the first thing on the page
    assert held_text.splitlines()[0] == "ON HOLD"
    assert "RUSH" not in held_text


def test_customer_notes_print_as_written_even_with_markup(ops_client):
    order = make_order(state=OrderState.SUBMITTED)
    ProductionOrder.objects.filter(pk=order.pk).update(notes="Use <b>bold</b> & keep it < 10 cm")

    text = page_texts(print_order_ticket(ops_client, order).content)[0]

    assert "Use <b>bold</b> & keep it < 10 cm" in text


def test_printing_a_ticket_is_recorded_once_per_print_for_operators_only(
    ops_client, customer_client, customer
):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)

    print_order_ticket(ops_client, order)
    assert len(ticket_events(order)) == 1
    print_order_ticket(ops_client, order)

    events = ticket_events(order)
    assert [e.status for e in events] == ["Job ticket printed", "Job ticket printed"]
    assert events[0].actor.email == "operator@example.com"
    # On the ops timeline...
    ops_page = ops_client.get(reverse("ops:order-detail", args=[order.pk])).content.decode()
    assert "Job ticket printed" in ops_page
    # ...and nowhere the customer looks.
    page = customer_client.get(reverse("order-detail", args=[order.pk])).content.decode()
    assert "Job ticket" not in page
    api = customer_client.get(f"/api/production/{order.pk}").json()
    assert all(event["status"] != "Job ticket printed" for event in api["order"]["events"])


def test_customers_cannot_print_tickets(customer_client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)

    assert print_order_ticket(customer_client, order).status_code == 403
    assert print_from_list(customer_client, ids=[order.pk]).status_code == 403
    assert not ticket_events(order)


def test_printing_a_ticket_is_a_post(ops_client):
    order = make_order(state=OrderState.SUBMITTED)

    assert ops_client.get(reverse("ops:order-ticket", args=[order.pk])).status_code == 405
    assert not ticket_events(order)


def test_list_selection_prints_one_page_per_order_soonest_due_first(ops_client):
    later = make_order(state=OrderState.SUBMITTED)
    sooner = make_order(state=OrderState.SUBMITTED)
    undated = make_order(state=OrderState.SUBMITTED)
    ProductionOrder.objects.filter(pk=later.pk).update(due_date=dt.date(2030, 1, 20))
    ProductionOrder.objects.filter(pk=sooner.pk).update(due_date=dt.date(2030, 1, 10))
    ProductionOrder.objects.filter(pk=undated.pk).update(due_date=None)

    response = print_from_list(ops_client, ids=[later.pk, undated.pk, sooner.pk])

    assert response.status_code == 200
    texts = page_texts(response.content)
    assert [t.splitlines()[0] for t in texts] == [
        sooner.reference,
        later.reference,
        undated.reference,
    ]
    assert [scanned_codes(response.content, page=i)["Code128"] for i in range(3)] == [
        sooner.reference,
        later.reference,
        undated.reference,
    ]
    for order in (later, sooner, undated):
        assert len(ticket_events(order)) == 1


def test_all_matching_prints_what_the_filter_matches(ops_client):
    rush = make_order(priority=Priority.RUSH, state=OrderState.SUBMITTED)
    make_order(state=OrderState.SUBMITTED)

    response = print_from_list(ops_client, scope="all", filters="priority=rush")

    [text] = page_texts(response.content)
    assert rush.reference in text


def test_all_matching_over_the_limit_is_refused_naming_the_limit(ops_client, settings):
    settings.TICKET_BATCH_LIMIT = 2
    orders = [make_order(state=OrderState.SUBMITTED) for _ in range(3)]

    response = print_from_list(ops_client, scope="all", filters="status=submitted")

    assert response.status_code == 302
    page = ops_client.get(response["Location"]).content.decode()
    assert "More than 2 orders match: job tickets are printed at most 2 at a time" in page
    assert "nothing was printed" in page
    assert not FulfillmentEvent.objects.filter(kind=FulfillmentEvent.Kind.JOB_TICKET).exists()
    assert not TicketBatch.objects.exists()
    assert all(not ticket_events(o) for o in orders)


def test_a_selection_over_the_limit_is_refused_naming_the_limit(ops_client, settings):
    settings.TICKET_BATCH_LIMIT = 2
    orders = [make_order(state=OrderState.SUBMITTED) for _ in range(3)]

    response = print_from_list(ops_client, ids=[o.pk for o in orders])

    page = ops_client.get(response["Location"]).content.decode()
    assert "3 orders: job tickets are printed at most 2 at a time (TICKET_BATCH_LIMIT)" in page
    assert not FulfillmentEvent.objects.filter(kind=FulfillmentEvent.Kind.JOB_TICKET).exists()


def test_nothing_selected_is_a_clear_message(ops_client):
    response = print_from_list(ops_client, ids=[])

    page = ops_client.get(response["Location"]).content.decode()
    assert "Select at least one order to print its job ticket." in page


def test_list_and_order_page_offer_the_print_buttons(ops_client):
    order = make_order(state=OrderState.SUBMITTED)

    listing = ops_client.get(reverse("ops:order-list")).content.decode()
    detail = ops_client.get(reverse("ops:order-detail", args=[order.pk])).content.decode()

    assert "Print tickets for selected" in listing
    assert "Print tickets for all" in listing
    assert reverse("ops:order-ticket", args=[order.pk]) in detail
    assert "Print job ticket" in detail


def test_direct_print_runs_the_same_queries_for_3_or_12_orders(operator):
    few = [make_order().pk for _ in range(3)]
    many = few + [make_order().pk for _ in range(9)]

    def queries(ids) -> int:
        with CaptureQueriesContext(connection) as captured:
            tickets.print_tickets(order_ids=ids, actor=operator, base_url=SITE)
        return len(captured)

    # ...one of them the designs' artwork checks, for the whole batch
    assert queries(few) == queries(many) <= 6
    # ...and one event each per print, written in one statement.
    assert FulfillmentEvent.objects.filter(kind=FulfillmentEvent.Kind.JOB_TICKET).count() == 15


# --- large batches: the task queue ---------------------------------------------------------------


@pytest.fixture
def big_batch(settings, ops_client):
    settings.TICKET_DIRECT_LIMIT = 2
    orders = [make_order(state=OrderState.SUBMITTED) for _ in range(4)]
    response = print_from_list(ops_client, ids=[o.pk for o in orders])
    batch = TicketBatch.objects.get()
    return orders, batch, response


def status(client, batch):
    return client.get(reverse("ops:ticket-batch", args=[batch.pk]) + "?format=json").json()


def test_a_large_batch_is_queued_then_built_by_the_worker_and_downloaded(
    big_batch, ops_client, task_worker
):
    orders, batch, response = big_batch

    assert response.status_code == 302
    assert response["Location"] == reverse("ops:ticket-batch", args=[batch.pk])
    page = ops_client.get(response["Location"]).content.decode()
    assert "Job tickets for 4 orders" in page
    assert "Waiting for a worker" in page
    assert status(ops_client, batch) == {
        "state": "queued",
        "stateLabel": "Waiting for a worker",
        "done": 0,
        "total": 4,
        "percent": 0,
        "finished": False,
        "downloadUrl": "",
        "error": "",
    }
    assert not FulfillmentEvent.objects.filter(kind=FulfillmentEvent.Kind.JOB_TICKET).exists()

    assert task_worker() == ["ready"]

    ready = status(ops_client, batch)
    assert (ready["state"], ready["done"], ready["percent"], ready["finished"]) == (
        "ready",
        4,
        100,
        True,
    )
    download = ops_client.get(ready["downloadUrl"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    pdf = b"".join(download.streaming_content)
    texts = page_texts(pdf)
    assert sorted(t.splitlines()[0] for t in texts) == sorted(o.reference for o in orders)
    assert scanned_codes(pdf, page=3)["Code128"] == texts[3].splitlines()[0]
    for order in orders:
        [event] = ticket_events(order)
        assert event.actor.email == "operator@example.com"
        assert event.metadata["batch"] == str(batch.pk)
    assert "Download the PDF" in ops_client.get(response["Location"]).content.decode()


def test_the_worker_reports_progress_while_it_builds(big_batch, task_worker, monkeypatch):
    _, batch, _ = big_batch
    seen: list[int] = []
    finish_page = Canvas.showPage  # reportlab's: one page per ticket

    def finishing_page(canvas):
        seen.append(TicketBatch.objects.get(pk=batch.pk).done)
        return finish_page(canvas)

    monkeypatch.setattr(Canvas, "showPage", finishing_page)

    task_worker()

    assert seen == [0, 1, 2, 3]  # what the status page showed while each ticket was drawn


def test_a_batch_is_for_operators_only(big_batch, customer_client, task_worker):
    _, batch, _ = big_batch
    task_worker()

    assert customer_client.get(reverse("ops:ticket-batch", args=[batch.pk])).status_code == 403
    download = reverse("ops:ticket-batch-download", args=[batch.pk])
    assert customer_client.get(download).status_code == 403
    anonymous = customer_client.__class__()
    assert anonymous.get(download).status_code == 302  # to the login page


def test_a_failed_batch_says_so_and_records_nothing(
    big_batch, ops_client, task_worker, monkeypatch
):
    _, batch, _ = big_batch

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tickets, "render_tickets", broken)
    assert task_worker() == ["failed"]

    failed = status(ops_client, batch)
    assert failed["state"] == "failed"
    assert failed["error"] == "The tickets could not be built (RuntimeError). Try again."
    assert failed["downloadUrl"] == ""
    assert not FulfillmentEvent.objects.filter(kind=FulfillmentEvent.Kind.JOB_TICKET).exists()


def test_old_batch_files_are_removed(big_batch, ops_client, task_worker, settings):
    from django.core.files.storage import default_storage
    from django.core.management import call_command

    _, batch, _ = big_batch
    task_worker()
    batch.refresh_from_db()
    name = batch.file.name
    assert default_storage.exists(name)
    TicketBatch.objects.filter(pk=batch.pk).update(
        finished_at=timezone.now() - dt.timedelta(hours=settings.TICKET_BATCH_KEEP_HOURS + 1)
    )

    call_command("clean_ticket_batches")

    assert not default_storage.exists(name)
    assert status(ops_client, batch)["state"] == "expired"
    assert ops_client.get(reverse("ops:ticket-batch-download", args=[batch.pk])).status_code == 404


def test_an_old_batch_expires_when_opened_even_without_the_cleanup(
    big_batch, ops_client, task_worker, settings
):
    _, batch, _ = big_batch
    task_worker()
    TicketBatch.objects.filter(pk=batch.pk).update(
        finished_at=timezone.now() - dt.timedelta(hours=settings.TICKET_BATCH_KEEP_HOURS + 1)
    )

    download = ops_client.get(reverse("ops:ticket-batch-download", args=[batch.pk]))

    assert download.status_code == 404
    page = ops_client.get(reverse("ops:ticket-batch", args=[batch.pk])).content.decode()
    assert "Expired (file removed)" in page


def test_building_a_batch_takes_a_bounded_number_of_queries(settings, operator, monkeypatch):
    settings.TICKET_DIRECT_LIMIT = 1
    monkeypatch.setattr(tickets, "LOAD_CHUNK", 5)

    def built_with(count: int) -> int:
        printed = tickets.print_tickets(
            order_ids=[make_order().pk for _ in range(count)], actor=operator, base_url=SITE
        )
        with CaptureQueriesContext(connection) as captured:
            assert tickets.build_ticket_batch.call(str(printed.batch.pk)) == "ready"
        return len(captured)

    # Per chunk of 5 orders: the orders, their line items (with colours) and their designs (with
    # placements); the progress updates are capped at PROGRESS_STEPS whatever the size; the
    # events are one INSERT.
    small, large = built_with(10), built_with(40)
    assert large - small <= (40 - 10) // 5 * 3 + tickets.PROGRESS_STEPS
    assert large <= 40 // 5 * 3 + tickets.PROGRESS_STEPS + 10


def test_a_batch_whose_worker_died_is_reported_failed_by_the_cleanup(
    big_batch, ops_client, settings
):
    from django.core.management import call_command

    _, batch, _ = big_batch
    TicketBatch.objects.filter(pk=batch.pk).update(
        state=TicketBatch.State.RUNNING,
        created_at=timezone.now() - dt.timedelta(hours=settings.TICKET_BATCH_KEEP_HOURS + 1),
    )

    call_command("clean_ticket_batches")

    failed = status(ops_client, batch)
    assert failed["state"] == "failed"
    assert failed["error"] == "The worker stopped before finishing these tickets. Print them again."


def test_notes_too_long_for_the_page_say_they_go_on(ops_client):
    short = make_order(state=OrderState.SUBMITTED)
    long = make_order(state=OrderState.SUBMITTED)
    ProductionOrder.objects.filter(pk=short.pk).update(notes="Fold in thirds.")
    ProductionOrder.objects.filter(pk=long.pk).update(notes="Fold in thirds, then bag. " * 400)

    short_text = page_texts(print_order_ticket(ops_client, short).content)[0]
    long_text = page_texts(print_order_ticket(ops_client, long).content)[0]

    assert "Fold in thirds." in short_text
    assert "the notes go on: read them on the ops page" not in short_text
    assert "the notes go on: read them on the ops page" in long_text


def test_names_notes_and_garments_in_any_script_print_as_written(ops_client, garment, settings):
    if not (settings.TICKET_FONT and settings.TICKET_FONT_BOLD):
        pytest.skip("no Unicode TrueType font on this machine (Debian: fonts-dejavu-core)")
    order = make_order(garment=garment, state=OrderState.APPROVED)
    order.owner.first_name, order.owner.last_name = "Łukasz", "Żółć-Дмитриев"
    order.owner.save()
    garment.name = "Tričko Ελαφρύ"
    garment.save()
    ProductionOrder.objects.filter(pk=order.pk).update(notes="Печать на груди, 9 см · İstanbul")

    [text] = page_texts(print_order_ticket(ops_client, order).content)

    assert "Łukasz Żółć-Дмитриев" in text
    assert "Tričko Ελαφρύ" in text
    assert "Печать на груди, 9 см · İstanbul" in text


def test_without_a_unicode_font_tickets_print_latin_1_with_the_base_fonts(ops_client, settings):
    settings.TICKET_FONT = settings.TICKET_FONT_BOLD = ""
    order = make_order(state=OrderState.APPROVED)
    order.owner.first_name, order.owner.last_name = "Zoë", "Müller"
    order.owner.save()

    response = print_order_ticket(ops_client, order)

    assert response.status_code == 200
    [text] = page_texts(response.content)
    assert "Zoë Müller" in text
    assert tickets.ticket_fonts() == tickets.Fonts("Helvetica", "Helvetica-Bold")


def test_a_font_setting_that_names_no_font_file_is_a_clear_configuration_error(settings, tmp_path):
    not_a_font = tmp_path / "notes.ttf"
    not_a_font.write_text("not a font")
    settings.TICKET_FONT, settings.TICKET_FONT_BOLD = str(not_a_font), str(not_a_font)

    with pytest.raises(ImproperlyConfigured, match="TICKET_FONT must name a TrueType font"):
        tickets.render_tickets([make_order(state=OrderState.APPROVED)], base_url=SITE)

    settings.TICKET_FONT, settings.TICKET_FONT_BOLD = "", str(not_a_font)
    with pytest.raises(ImproperlyConfigured, match="set TICKET_FONT and TICKET_FONT_BOLD together"):
        tickets.ticket_fonts()
