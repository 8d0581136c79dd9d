"""Support's read-only admin pages for the ops dashboard's own records: ticket batches and the
scan stations' log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ops import services
from ops.floor import STATIONS_BY_KEY
from ops.models import StationScan, TicketBatch
from production.lifecycle import OrderState
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_batch(operator):
    orders = [make_order(state=OrderState.APPROVED) for _ in range(3)]
    return TicketBatch.objects.create(
        requested_by=operator,
        order_ids=[str(o.pk) for o in orders],
        base_url="https://shop.example.com",
        total=3,
        done=1,
        state=TicketBatch.State.FAILED,
        error="The tickets could not be built (RuntimeError). Try again.",
    )


def test_support_finds_a_failed_batch_its_error_and_who_asked(staff_client, failed_batch, operator):
    listed = staff_client.get(reverse("admin:ops_ticketbatch_changelist") + "?state=failed")
    assert listed.status_code == 200
    assert operator.email in listed.content.decode()
    assert "1 of 3 (33 %)" in listed.content.decode()

    page = staff_client.get(reverse("admin:ops_ticketbatch_change", args=[failed_batch.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "The tickets could not be built (RuntimeError). Try again." in text
    assert reverse("ops:ticket-batch", args=[failed_batch.pk]) in text


def test_support_reads_a_stations_scans_by_order_reference(staff_client, operator):
    order = make_order(state=OrderState.APPROVED)
    other = make_order(state=OrderState.APPROVED)
    printing = STATIONS_BY_KEY["printing"]
    services.scan_at_station(station=printing, code=order.reference, actor=operator)
    services.scan_at_station(station=printing, code=other.reference, actor=operator)
    services.scan_at_station(station=printing, code="ORD-999999", actor=operator)

    found = staff_client.get(reverse("admin:ops_stationscan_changelist") + f"?q={order.reference}")

    text = found.content.decode()
    assert found.status_code == 200
    assert order.reference in text and "Moved to Printing" in text
    assert other.reference not in text
    unknown = staff_client.get(reverse("admin:ops_stationscan_changelist") + "?outcome=unknown")
    assert "No order ORD-999999" in unknown.content.decode()


def test_batches_and_scans_cannot_be_added_changed_or_deleted(staff_client, failed_batch, operator):
    services.scan_at_station(station=STATIONS_BY_KEY["printing"], code="nothing", actor=operator)
    scan = StationScan.objects.get()
    for model, obj in (("ticketbatch", failed_batch), ("stationscan", scan)):
        delete = reverse(f"admin:ops_{model}_delete", args=[obj.pk])
        assert staff_client.get(reverse(f"admin:ops_{model}_add")).status_code == 403
        assert staff_client.get(delete).status_code == 403
        change = reverse(f"admin:ops_{model}_change", args=[obj.pk])
        assert staff_client.post(change, {}).status_code == 403
    failed_batch.refresh_from_db()
    assert failed_batch.state == TicketBatch.State.FAILED
    assert StationScan.objects.count() == 1
