import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from production.models import ProductionOrder


@pytest.fixture
def ops_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def customer_client(customer) -> Client:
    client = Client()
    client.force_login(customer)
    return client


def created_on(order: ProductionOrder, day: dt.date, hour: int = 12) -> ProductionOrder:
    """Backdate an order (test data: creation time is not something the services change)."""
    when = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
    ProductionOrder.objects.filter(pk=order.pk).update(created_at=when)
    order.refresh_from_db()
    return order


def references(response) -> list[str]:
    """The references of the list's rows, top to bottom."""
    return [row.reference for row in response.context["rows"]]
