import pytest

from tests.factories import make_order

pytestmark = pytest.mark.django_db


def test_login_and_logout(client, customer):
    response = client.post(
        "/accounts/login/", {"username": customer.email, "password": "pw-for-tests-123"}
    )
    assert response.status_code == 302
    assert client.get("/").context["user"] == customer
    client.post("/accounts/logout/")
    assert not client.get("/").context["user"].is_authenticated


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.json() == {"status": "ok"}


def test_order_page_for_owner_operator_and_others(client, customer, other_customer, operator):
    order = make_order(owner=customer)
    url = f"/orders/{order.pk}/"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(other_customer)
    assert client.get(url).status_code == 403
    client.force_login(customer)
    page = client.get(url)
    assert page.status_code == 200 and order.reference in page.content.decode()
    client.force_login(operator)
    assert client.get(url).status_code == 200


def test_openapi_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/production", "/api/production/{order_id}"} <= set(paths)
    assert {"get", "patch"} <= set(paths["/api/production/{order_id}"])
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn." not in docs and "unpkg" not in docs


def test_a_failed_login_speaks_of_the_email_not_a_username(client, customer):
    response = client.post("/accounts/login/", {"username": customer.email, "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please enter a correct email and password." in html
    assert "username" not in response.context["form"].non_field_errors()[0]


def test_the_signup_page_is_the_sites_own_form(client):
    html = client.get("/accounts/signup/").content.decode()
    assert 'class="form narrow"' in html and "css/site" in html
    assert "<p><label" not in html  # not Django's default as_p / as_div rendering
    for field in ("id_email", "id_password1", "id_password2"):
        assert f'<label for="{field}">' in html
    assert 'autocomplete="email"' in html
    response = client.post("/accounts/signup/", {"email": "x@example.com", "password1": "a"})
    assert 'role="alert"' in response.content.decode()


def test_every_page_names_the_favicon_and_favicon_ico_leads_to_it(client):
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].startswith("/static/favicon")
    assert response["Location"].endswith(".svg")
