import pytest
from django.test import Client

from production.models import FulfillmentEvent
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def urls(order) -> list[tuple[str, str]]:
    return [
        ("get", "/ops/orders"),
        ("get", "/ops/orders/"),
        ("get", f"/ops/orders/{order.id}/"),
        ("get", "/ops/orders/export.csv"),
        ("post", "/ops/orders/bulk"),
        ("post", f"/ops/orders/{order.id}/actions"),
    ]


def test_anonymous_users_are_sent_to_log_in(garment):
    order = make_order(garment=garment)
    client = Client()
    for method, url in urls(order):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next=/ops/orders"), url


def test_customers_get_the_forbidden_page(customer_client, customer, garment):
    order = make_order(owner=customer, garment=garment)
    for method, url in urls(order):
        response = getattr(customer_client, method)(url)
        assert response.status_code == 403, url
        assert "You need an operator account" in response.content.decode()


def test_a_customer_cannot_move_even_their_own_order(customer_client, customer, garment):
    order = make_order(owner=customer, garment=garment, state="submitted")
    customer_client.post(
        "/ops/orders/bulk", {"change": "status:approved", "scope": "selected", "ids": [order.id]}
    )
    order.refresh_from_db()
    assert order.status == "submitted"


def test_operators_see_the_dashboard_with_and_without_trailing_slash(ops_client):
    assert ops_client.get("/ops/orders").status_code == 200
    assert ops_client.get("/ops/orders/").status_code == 200


def test_every_form_needs_a_csrf_token(operator, garment):
    order = make_order(garment=garment, state="submitted")
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    page = client.get("/ops/orders").content.decode()
    assert page.count("csrfmiddlewaretoken") >= 1
    detail = client.get(f"/ops/orders/{order.id}/").content.decode()
    assert detail.count("csrfmiddlewaretoken") == detail.count('method="post"')

    refused = client.post(
        "/ops/orders/bulk", {"change": "status:approved", "scope": "selected", "ids": [order.id]}
    )
    assert refused.status_code == 403
    refused = client.post(f"/ops/orders/{order.id}/actions", {"action": "message", "body": "Hello"})
    assert refused.status_code == 403
    order.refresh_from_db()
    assert order.status == "submitted"
    assert not FulfillmentEvent.objects.filter(order=order, kind="message").exists()
