"""`selectors.locked_row`: the webhook's locked read of an order, its SQL compiled once, reads
what `only_row(select_for_update())` reads."""

import uuid

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from production.models import ProductionOrder
from production.selectors import locked_row, only_row
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def fields(instance: Model) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_same_row_as_the_orm_reads_in_one_locking_query() -> None:
    order = make_order()
    with transaction.atomic():
        expected = only_row(ProductionOrder.objects.select_for_update().filter(pk=order.pk))
        with CaptureQueriesContext(connection) as queries:
            first = locked_row(ProductionOrder, order.pk)
            again = locked_row(ProductionOrder, str(order.pk))  # compiled: the same statement
    assert fields(first) == fields(expected) == fields(again)
    assert not first._state.adding and first._state.db == "default"
    assert len(queries) == 2 and queries[0]["sql"] == queries[1]["sql"]
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in queries[0]["sql"]


def test_no_such_row() -> None:
    make_order()
    with transaction.atomic():
        assert locked_row(ProductionOrder, uuid.uuid4()) is None
