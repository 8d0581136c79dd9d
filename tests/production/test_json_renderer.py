"""The API's JSON encoder (orjson, `production.api.renderers`) writes DRF's bytes."""

import datetime
import decimal
import json
import uuid

import pytest
from rest_framework.renderers import JSONRenderer

from production.api.renderers import FastJSONRenderer
from production.plumbing.json_bytes import dumps
from production.selectors import get_order_json
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def test_an_order_and_awkward_values_encode_as_drf_encodes_them(customer):
    order = get_order_json(order_id=make_order(owner=customer, state="approved").pk)
    awkward = {
        "order": order,
        "when": datetime.datetime(2026, 12, 7, 4, 5, 6, 789000, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 12, 7),
        "money": decimal.Decimal("12.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "text": "line\u2028separator\u2029 and é",
        "huge": 2**70,  # beyond orjson: DRF's encoder takes it
    }
    assert dumps(awkward) == JSONRenderer().render(awkward)
    assert json.loads(dumps(awkward))["text"] == awkward["text"]


def test_an_indented_answer_is_still_indented(operator_api, customer):
    order = make_order(owner=customer)
    response = operator_api.get(
        f"/api/production/{order.pk}", HTTP_ACCEPT="application/json; indent=2"
    )
    assert response.status_code == 200
    assert response.content.startswith(b'{\n  "order": {')
    assert FastJSONRenderer().render(None) == b""
