"""The README's five-minute tour names what the demo really has."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from production.lifecycle import OrderState
from production.models import ProductionOrder

pytestmark = pytest.mark.django_db
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_scan_example_is_a_paid_order_a_scan_can_move(client, django_user_model):
    call_command("seed_demo")
    [number] = re.findall(r"reference such as `ORD-(\d+)`", README)

    # On a fresh database (`make run`) the demo's references start at ORD-000001; here the
    # sequence may have been used by earlier tests (PostgreSQL keeps it across rollbacks), so
    # the README's number is the demo's n-th order.
    order = ProductionOrder.objects.order_by("reference")[int(number) - 1]

    assert order.submitted_at is not None  # paid
    assert order.status in (OrderState.APPROVED, OrderState.IN_PRODUCTION)
    operator = django_user_model.objects.get(email="operator@example.com")
    client.force_login(operator)
    station = client.get("/ops/scan/")
    assert station.status_code == 200


def test_the_status_the_readme_gives_for_support_on_the_dashboard(client, django_user_model):
    call_command("seed_demo")
    said = re.search(r"Support staff are not\s+operators: `([^`]+)` answers (\d{3})", README)
    path, status = said.group(1), int(said.group(2))
    client.force_login(django_user_model.objects.get(email="support@example.com"))

    assert client.get(path).status_code == status == 403
