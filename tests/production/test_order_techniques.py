"""An order keeps its line items' techniques (`technique_bits`): set by the services with the
items, recomputed by `refresh_technique_bits` after a data repair, backfilled by migration 0011."""

import importlib

import pytest
from django.apps import apps

from production.models import (
    TECHNIQUE_BITS,
    LineItem,
    ProductionOrder,
    Technique,
    bit_sets_with,
    technique_bits,
    techniques_of,
)
from production.services.orders import refresh_technique_bits
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def test_a_new_order_knows_its_techniques(garment):
    order = make_order(garment=garment, sizes=[("M", 2), ("L", 3)])
    stored = ProductionOrder.objects.get(pk=order.pk)
    items = set(LineItem.objects.filter(order=order).values_list("technique", flat=True))
    assert items == {Technique.DTG}
    assert techniques_of(stored.technique_bits) == [Technique.DTG]


def test_bits_round_trip_and_every_set_with_a_technique_is_found():
    assert technique_bits(["embroidery", "dtg", "dtg"]) == TECHNIQUE_BITS["dtg"] | 4
    assert techniques_of(technique_bits(["embroidery", "screen"])) == ["screen", "embroidery"]
    assert technique_bits(["laser"]) == 0
    assert bit_sets_with("screen") == [2, 3, 6, 7]
    for bits in range(8):
        assert (bits in bit_sets_with("embroidery")) == ("embroidery" in techniques_of(bits))


def test_refresh_recomputes_after_a_repair_of_the_line_items(garment):
    order = make_order(garment=garment, sizes=[("M", 2), ("L", 3)])
    other = make_order(garment=garment)
    LineItem.objects.filter(order=order, size="L").update(technique="embroidery")
    refresh_technique_bits([order.pk])
    assert techniques_of(ProductionOrder.objects.get(pk=order.pk).technique_bits) == [
        "dtg",
        "embroidery",
    ]
    LineItem.objects.filter(order=order).update(technique="screen")
    refresh_technique_bits([order.pk])
    assert techniques_of(ProductionOrder.objects.get(pk=order.pk).technique_bits) == ["screen"]
    assert techniques_of(ProductionOrder.objects.get(pk=other.pk).technique_bits) == ["dtg"]


def test_the_migration_backfills_orders_made_before_the_column(garment):
    migration = importlib.import_module("production.migrations.0011_order_techniques")
    mixed = make_order(garment=garment, sizes=[("M", 2), ("L", 3), ("XL", 1)])
    LineItem.objects.filter(order=mixed, size="L").update(technique="screen")
    LineItem.objects.filter(order=mixed, size="XL").update(technique="embroidery")
    plain = make_order(garment=garment)
    ProductionOrder.objects.update(technique_bits=0)  # as the column's default left them

    migration.backfill(apps, None)

    assert ProductionOrder.objects.get(pk=mixed.pk).technique_bits == 7
    assert techniques_of(ProductionOrder.objects.get(pk=plain.pk).technique_bits) == ["dtg"]
    assert migration.BITS == TECHNIQUE_BITS
