import json
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from production.lifecycle import EventSource, OrderState, Priority, ProductionStatus
from production.models import FulfillmentEvent, LineItem, ProductionOrder, ReferenceNumber
from production.services.messages import add_customer_message
from production.services.orders import transition_order
from tests.factories import GarmentFactory, make_order

pytestmark = pytest.mark.django_db

URL = "/api/production"

SPEC_ORDER_KEYS = {
    "id", "reference", "status", "orderStatus", "createdAt", "updatedAt", "prompt", "priority",
    "etaDays", "imageUrl", "garment", "lineItems", "events",
}  # fmt: skip
LINE_ITEM_KEYS = {"id", "size", "quantity", "technique", "metadata"}
EVENT_KEYS = {"id", "status", "message", "occurredAt", "metadata"}


def order_url(order) -> str:
    return f"{URL}/{order.pk}"


def valid_body(**overrides) -> dict:
    body = {
        "designUrl": "https://ucarecdn.com/xxx/design.png",
        "garmentId": "gid://shopify/Product/123456",
        "sizes": [{"size": "M", "quantity": 2}, {"size": "L", "quantity": 3}],
        "priority": "standard",
    }
    body.update(overrides)
    return body


def counts() -> tuple[int, int, int, int]:
    return (
        ProductionOrder.objects.count(),
        LineItem.objects.count(),
        FulfillmentEvent.objects.count(),
        ReferenceNumber.objects.count(),
    )


class TestCreate:
    def test_creates_a_priced_draft_and_returns_its_checkout(self, customer_api, customer, garment):
        response = customer_api.post(URL, valid_body(), format="json")
        assert response.status_code == 201
        body = response.json()
        assert body["checkoutUrl"].startswith("http://testserver/payments/checkout/cs_")
        order = ProductionOrder.objects.get(pk=body["orderId"])
        assert order.owner == customer
        assert order.reference == body["reference"]
        assert (order.status, order.production_status) == ("draft", "Spec Review")
        assert order.total_amount == 5 * 1800
        assert order.stripe_checkout_session_id in body["checkoutUrl"]
        assert [(li.size, li.quantity, li.technique) for li in order.line_items.all()] == [
            ("M", 2, "dtg"),
            ("L", 3, "dtg"),
        ]

    def test_a_client_cannot_set_owner_state_prices_or_stripe_ids(
        self, customer_api, customer, other_customer, garment
    ):
        body = valid_body(
            status="fulfilled",
            orderStatus="in_production",
            totalAmount=1,
            total_amount=1,
            owner=other_customer.pk,
            userId=other_customer.pk,
            stripe_checkout_session_id="cs_evil",
            reference="ORD-999999",
            id=str(uuid.uuid4()),
        )
        response = customer_api.post(URL, body, format="json")
        assert response.status_code == 201
        order = ProductionOrder.objects.get()
        assert order.owner == customer
        assert order.status == "draft"
        assert order.total_amount == 9000
        assert order.reference != "ORD-999999"
        assert order.stripe_checkout_session_id != "cs_evil"
        assert str(order.pk) == response.json()["orderId"] != body["id"]

    def test_anonymous_is_401(self, anon_api, garment):
        response = anon_api.post(URL, valid_body(), format="json")
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}
        assert counts() == (0, 0, 0, 0)

    def test_bad_token_is_401(self, garment):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        response = client.post(URL, valid_body(), format="json")
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"designUrl": None}, "designUrl"),
            ({"designUrl": "not a url"}, "designUrl"),
            ({"designUrl": "ftp://files.example.com/d.png"}, "designUrl"),
            ({"designUrl": "javascript:alert(1)"}, "designUrl"),
            ({"designUrl": "https://e.com/" + "a" * 2040}, "designUrl"),
            ({"garmentId": "gid://shopify/Product/000"}, "garmentId"),
            ({"garmentId": ""}, "garmentId"),
            ({"sizes": []}, "sizes"),
            ({"sizes": "M"}, "sizes"),
            ({"sizes": [{"size": f"S{i}", "quantity": 1} for i in range(21)]}, "sizes"),
            ({"sizes": [{"size": "M", "quantity": 1}, {"size": "M", "quantity": 1}]}, "sizes"),
            ({"sizes": [{"size": "XS", "quantity": 1}]}, "sizes"),
            ({"sizes": [{"size": "M", "quantity": 0}]}, "sizes"),
            ({"sizes": [{"size": "M", "quantity": 10001}]}, "sizes"),
            ({"sizes": [{"size": "M", "quantity": -1}]}, "sizes"),
            ({"sizes": [{"size": "M", "quantity": "2"}]}, "sizes"),
            ({"sizes": [{"size": "M", "quantity": 2.5}]}, "sizes"),
            ({"sizes": [{"size": "M", "quantity": True}]}, "sizes"),
            ({"sizes": [{"size": "M"}]}, "sizes"),
            ({"priority": "urgent"}, "priority"),
            ({"priority": "Rush"}, "priority"),
            ({"notes": "x" * 2001}, "notes"),
        ],
    )
    def test_invalid_requests_are_400_and_write_nothing(
        self, customer_api, garment, overrides, field
    ):
        body = {k: v for k, v in valid_body(**overrides).items() if v is not None}
        response = customer_api.post(URL, body, format="json")
        assert response.status_code == 400
        assert response.json()["error"] == "Invalid request"
        assert field in response.json()["details"]
        assert counts() == (0, 0, 0, 0)

    def test_missing_fields_are_named(self, customer_api, garment):
        response = customer_api.post(URL, {}, format="json")
        assert response.status_code == 400
        assert set(response.json()["details"]) == {"designUrl", "garmentId", "sizes"}

    def test_an_inactive_garment_is_refused(self, customer_api):
        GarmentFactory(shopify_gid="gid://shopify/Product/123456", is_active=False)
        response = customer_api.post(URL, valid_body(), format="json")
        assert response.status_code == 400
        assert "garmentId" in response.json()["details"]

    @pytest.mark.parametrize("payload", ['{"designUrl": ', "[1, 2]", '"text"', "null"])
    def test_malformed_json_is_400_not_500(self, customer_api, garment, payload):
        response = customer_api.generic("POST", URL, payload, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"] == "Invalid request"
        assert counts() == (0, 0, 0, 0)

    def test_form_encoded_body_is_refused(self, customer_api, garment):
        response = customer_api.post(URL, {"designUrl": "https://e.com/d.png"})
        assert response.status_code == 415
        assert response.json()["error"] == "Invalid request"

    def test_idempotency_key_returns_the_same_order_and_checkout(self, customer_api, garment):
        first = customer_api.post(URL, valid_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        second = customer_api.post(URL, valid_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert ProductionOrder.objects.count() == 1

    def test_idempotency_key_with_another_body_is_409(self, customer_api, garment):
        customer_api.post(URL, valid_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        response = customer_api.post(
            URL, valid_body(priority="rush"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
        )
        assert response.status_code == 409
        assert "Idempotency-Key" in response.json()["details"]
        assert ProductionOrder.objects.count() == 1

    def test_creation_is_throttled_per_user(self, customer_api, other_api, garment, monkeypatch):
        from production.api.views import OrderCreateThrottle

        monkeypatch.setattr(OrderCreateThrottle, "THROTTLE_RATES", {"order-create": "3/min"})
        statuses = [
            customer_api.post(URL, valid_body(), format="json").status_code for _ in range(4)
        ]
        assert statuses == [201, 201, 201, 429]
        assert customer_api.post(URL, valid_body(), format="json").json()["error"] == (
            "Too many requests"
        )
        # Another user is not affected, and reads are never throttled.
        assert other_api.post(URL, valid_body(), format="json").status_code == 201
        assert customer_api.get(URL).status_code == 200
        assert ProductionOrder.objects.count() == 4

    def test_a_payment_provider_error_is_500_and_keeps_the_draft(
        self, customer_api, garment, monkeypatch
    ):
        from payments import gateway, services

        class Failing:
            def create_session(self, **kwargs):
                raise gateway.GatewayError("Stripe is down")

        monkeypatch.setattr(services, "get_gateway", lambda: Failing())
        response = customer_api.post(URL, valid_body(), format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 500
        assert response.json() == {"error": "Internal error"}
        order = ProductionOrder.objects.get()
        assert order.status == "draft" and order.stripe_checkout_session_id is None
        # The retry with the same key reuses the draft and gets a checkout this time.
        monkeypatch.undo()
        retry = customer_api.post(URL, valid_body(), format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert retry.status_code == 201 and retry.json()["orderId"] == str(order.pk)


class TestSessionAuth:
    def test_csrf_is_enforced_for_session_requests(self, customer, garment):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(customer)
        response = client.post(URL, valid_body(), format="json")
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"
        assert ProductionOrder.objects.count() == 0

        page = client.get("/accounts/login/")
        token = page.cookies["csrftoken"].value
        response = client.post(URL, valid_body(), format="json", HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 201

    def test_session_reads_need_no_csrf(self, customer):
        order = make_order(owner=customer)
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(customer)
        assert client.get(order_url(order)).status_code == 200


class TestRetrieve:
    def test_owner_sees_every_field_of_the_spec(self, customer_api, customer, garment):
        order = make_order(owner=customer, garment=garment, state=OrderState.IN_PRODUCTION)
        response = customer_api.get(order_url(order))
        assert response.status_code == 200
        data = response.json()["order"]
        assert set(data) >= SPEC_ORDER_KEYS
        assert data["id"] == str(order.pk)
        assert data["reference"] == order.reference
        assert data["status"] == "Printing"
        assert data["orderStatus"] == "in_production"
        assert data["priority"] == "Standard"
        assert data["etaDays"] == 7
        assert data["imageUrl"] == "https://cdn.example.com/design.png"
        assert data["prompt"] is None
        assert data["totalAmount"] == 9000 and data["currency"] == "usd"
        assert data["garment"]["id"] == "gid://shopify/Product/123456"
        assert data["garment"]["name"] == "Classic Tee"
        assert data["garment"]["imageUrl"] is None
        assert [set(li) >= LINE_ITEM_KEYS for li in data["lineItems"]] == [True, True]
        assert [(li["size"], li["quantity"]) for li in data["lineItems"]] == [("M", 2), ("L", 3)]
        assert all(set(e) == EVENT_KEYS for e in data["events"])
        assert [e["status"] for e in data["events"]] == [
            "Spec Review",
            "Queued",
            "Queued",
            "Printing",
        ]
        times = [e["occurredAt"] for e in data["events"]]
        assert times == sorted(times)

    def test_priority_is_capitalised_in_responses(self, customer_api, customer):
        order = make_order(owner=customer, priority=Priority.RUSH)
        assert customer_api.get(order_url(order)).json()["order"]["priority"] == "Rush"

    def test_another_customer_is_403(self, other_api, customer):
        order = make_order(owner=customer)
        response = other_api.get(order_url(order))
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"

    def test_operator_sees_any_order(self, operator_api, customer):
        order = make_order(owner=customer)
        assert operator_api.get(order_url(order)).status_code == 200

    def test_anonymous_is_401(self, anon_api, customer):
        order = make_order(owner=customer)
        response = anon_api.get(order_url(order))
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}

    @pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid", "123", "ORD-000001"])
    def test_unknown_or_malformed_id_is_404(self, customer_api, order_id):
        response = customer_api.get(f"{URL}/{order_id}")
        assert response.status_code == 404
        assert response.json() == {"error": "Order not found"}

    def test_query_count_does_not_grow_with_items_or_events(self, customer_api, customer):
        small = make_order(owner=customer, sizes=[("M", 1)])
        sizes = [f"S{i}" for i in range(50)]
        garment = GarmentFactory(sizes=sizes)
        big = make_order(owner=customer, garment=garment, sizes=[(s, 1) for s in sizes])
        # 1 creation event + 49 customer messages = 50 events, 50 line items.
        for i in range(49):
            add_customer_message(
                order=big, author=None, body=f"note {i}", source=EventSource.SYSTEM
            )
        assert (big.line_items.count(), big.events.count()) == (50, 50)
        assert (small.line_items.count(), small.events.count()) == (1, 1)

        def queries(order) -> int:
            # cold: token, order, line items, designs, the garment's colours, their variants and
            # its placements, events, proofs, shipments, the designs' artwork checks
            cache.clear()
            with CaptureQueriesContext(connection) as ctx:
                assert customer_api.get(order_url(order)).status_code == 200
            return len(ctx.captured_queries)

        assert queries(small) == queries(big) <= 11

    def test_a_repeated_read_is_served_from_the_cache_until_the_order_changes(
        self, customer_api, customer, operator
    ):
        order = make_order(owner=customer, state=OrderState.SUBMITTED)

        def read() -> tuple[dict, int]:
            with CaptureQueriesContext(connection) as ctx:
                data = customer_api.get(order_url(order)).json()["order"]
            return data, len(ctx.captured_queries)

        first, cold = read()
        again, warm = read()
        assert again == first and warm < cold
        transition_order(
            order=order, to=OrderState.APPROVED, actor=operator, source=EventSource.OPERATOR
        )
        after, _ = read()
        assert after["orderStatus"] == "approved"
        assert len(after["events"]) == len(first["events"]) + 1


class TestUpdate:
    def test_operator_moves_an_order_with_a_note(self, operator_api, operator, customer):
        order = make_order(owner=customer, state=OrderState.APPROVED)
        response = operator_api.patch(
            order_url(order),
            {"status": "in_production", "notes": "Started printing batch"},
            format="json",
        )
        assert response.status_code == 200
        data = response.json()["order"]
        assert (data["orderStatus"], data["status"]) == ("in_production", "Printing")
        last = data["events"][-1]
        assert (last["status"], last["message"]) == ("Printing", "Started printing batch")
        assert last["metadata"] == {
            "source": "operator",
            "actor": "operator",
            "field": "status",
            "from": "approved",
            "to": "in_production",
        }

    def test_illegal_move_is_400_with_the_reason(self, operator_api, customer):
        order = make_order(owner=customer, state=OrderState.FULFILLED)
        events = order.events.count()
        response = operator_api.patch(order_url(order), {"status": "approved"}, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "error": "Invalid request",
            "details": {
                "status": [f"{order.reference}: The order is fulfilled: it cannot change any more."]
            },
        }
        order.refresh_from_db()
        assert order.status == "fulfilled" and order.events.count() == events

    def test_a_draft_cannot_be_submitted_by_patch(self, operator_api, customer):
        order = make_order(owner=customer)
        response = operator_api.patch(order_url(order), {"status": "submitted"}, format="json")
        assert response.status_code == 400
        order.refresh_from_db()
        assert order.status == "draft"

    def test_priority_and_production_status(self, operator_api, customer):
        order = make_order(owner=customer, state=OrderState.IN_PRODUCTION)
        response = operator_api.patch(
            order_url(order), {"priority": "rush", "productionStatus": "Finishing"}, format="json"
        )
        assert response.status_code == 200
        data = response.json()["order"]
        assert (data["priority"], data["status"], data["etaDays"]) == ("Rush", "Finishing", 3)
        order.refresh_from_db()
        assert order.production_status == ProductionStatus.FINISHING

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"status": "shipped"},
            {"priority": "Rush"},
            {"productionStatus": "printing"},
            {"notes": "x" * 2001},
            {"status": None},
        ],
    )
    def test_invalid_update_is_400_and_changes_nothing(self, operator_api, customer, body):
        order = make_order(owner=customer, state=OrderState.SUBMITTED)
        before = (order.status, order.priority, order.events.count())
        response = operator_api.patch(order_url(order), body, format="json")
        assert response.status_code == 400
        assert response.json()["error"] == "Invalid request"
        order.refresh_from_db()
        assert (order.status, order.priority, order.events.count()) == before

    def test_customer_cannot_update_even_their_own_order(self, customer_api, customer):
        order = make_order(owner=customer, state=OrderState.SUBMITTED)
        response = customer_api.patch(order_url(order), {"status": "canceled"}, format="json")
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"
        order.refresh_from_db()
        assert order.status == "submitted"

    def test_anonymous_update_is_401(self, anon_api, customer):
        order = make_order(owner=customer, state=OrderState.SUBMITTED)
        assert (
            anon_api.patch(order_url(order), {"status": "approved"}, format="json").status_code
            == 401
        )

    @pytest.mark.parametrize("body", [{"status": "approved"}, {"status": "no-such-state"}, {}])
    @pytest.mark.parametrize("order_id", [lambda: uuid.uuid4(), lambda: "not-a-uuid"])
    def test_unknown_order_is_404_whatever_the_body(self, operator_api, body, order_id):
        response = operator_api.patch(f"{URL}/{order_id()}", body, format="json")
        assert response.status_code == 404
        assert response.json() == {"error": "Order not found"}

    def test_unsupported_method_is_405_json(self, operator_api, customer):
        order = make_order(owner=customer)
        response = operator_api.delete(order_url(order))
        assert response.status_code == 405
        assert response.json() == {"error": "Method not allowed"}
        assert ProductionOrder.objects.filter(pk=order.pk).exists()


class TestList:
    def test_customer_lists_only_their_orders_newest_first(self, customer_api, customer):
        mine = [make_order(owner=customer) for _ in range(3)]
        make_order()
        response = customer_api.get(URL)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 3
        assert [o["id"] for o in body["orders"]] == [str(o.pk) for o in reversed(mine)]
        assert "events" not in body["orders"][0]

    def test_operator_lists_all_and_filters(self, operator_api, customer):
        make_order(owner=customer, priority=Priority.RUSH, state=OrderState.SUBMITTED)
        make_order(owner=customer, state=OrderState.SUBMITTED)
        make_order(priority=Priority.RUSH)
        assert operator_api.get(URL).json()["count"] == 3
        rush = operator_api.get(URL, {"priority": "rush"}).json()
        assert rush["count"] == 2
        both = operator_api.get(URL, {"priority": "rush", "status": "submitted"}).json()
        assert both["count"] == 1
        many = operator_api.get(f"{URL}?status=submitted&status=draft").json()
        assert many["count"] == 3

    def test_invalid_filter_is_400(self, operator_api):
        response = operator_api.get(URL, {"status": "shipped"})
        assert response.status_code == 400
        assert "status" in response.json()["details"]

    def test_pagination(self, customer_api, customer):
        for _ in range(3):
            make_order(owner=customer)
        page = customer_api.get(URL, {"pageSize": 2}).json()
        assert (page["count"], len(page["orders"]), page["previous"]) == (3, 2, None)
        second = customer_api.get(page["next"]).json()
        assert len(second["orders"]) == 1 and second["next"] is None

    def test_page_out_of_range_is_404(self, customer_api):
        response = customer_api.get(URL, {"page": 99})
        assert response.status_code == 404

    def test_anonymous_is_401(self, anon_api):
        assert anon_api.get(URL).status_code == 401


def test_unknown_api_path_is_json_404(customer_api):
    response = customer_api.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_unexpected_error_is_500_without_traceback(customer_api, customer, monkeypatch):
    order = make_order(owner=customer)
    from production.api import views

    def boom(**kwargs):
        raise RuntimeError("database exploded at /secret/path")

    monkeypatch.setattr(views, "get_cached_order", boom)
    response = customer_api.get(order_url(order))
    assert response.status_code == 500
    assert response.json() == {"error": "Internal error"}
    assert "secret" not in json.dumps(response.json())


class TestTokenCache:
    def test_a_deleted_token_stops_working_at_once(self, customer_api, customer):
        order = make_order(owner=customer)
        assert customer_api.get(order_url(order)).status_code == 200
        customer.auth_token.delete()
        assert customer_api.get(order_url(order)).status_code == 401

    def test_a_deactivated_user_is_refused_at_once(self, customer_api, customer):
        order = make_order(owner=customer)
        assert customer_api.get(order_url(order)).status_code == 200
        customer.is_active = False
        customer.save()
        assert customer_api.get(order_url(order)).status_code == 401

    def test_a_known_token_and_cached_order_cost_no_query(
        self, customer_api, customer, django_assert_num_queries
    ):
        order = make_order(owner=customer)
        customer_api.get(order_url(order))
        with django_assert_num_queries(0):
            assert customer_api.get(order_url(order)).status_code == 200


class TestEncodedBody:
    def test_the_body_is_the_json_renderers_bytes(self, customer_api, customer):
        from rest_framework.renderers import JSONRenderer

        from production.selectors import get_order_json

        order = make_order(owner=customer, sizes=[("M", 2), ("L", 1)])
        for _ in range(2):  # cold, then from this process's copy
            response = customer_api.get(order_url(order))
            assert response["Content-Type"] == "application/json"
            expected = JSONRenderer().render({"order": get_order_json(order_id=order.pk)})
            assert response.content == expected

    def test_a_client_asking_for_indentation_still_gets_it(self, customer_api, customer):
        order = make_order(owner=customer)
        response = customer_api.get(order_url(order), HTTP_ACCEPT="application/json; indent=2")
        assert response.status_code == 200
        assert response.content.startswith(b'{\n  "order": {\n')
