"""Sign-up tells nobody whether an address has an account, is throttled, remembers where the
customer was going and welcomes them; log-in offers "Forgot password?" on the site's own pages."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from production.accounts.signup import WELCOME, send_signup_mail
from tests.factories import GarmentFactory
from tests.task_queue import waiting_tasks

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.com"
PASSWORD = "a-long-pass-phrase"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def sign_up(client, email, next_url=None, **extra):
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    if next_url:
        data["next"] = next_url
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/accounts/signup/", data, **extra)
    return response, [q["sql"].split()[0] for q in queries]


def link_in(mail, path_prefix):
    found = re.search(rf"{re.escape(SITE)}({path_prefix}\S*)", mail.body)
    assert found, mail.body
    return found.group(1)


def test_a_new_address_and_a_known_one_get_the_same_answer(client, customer, task_worker):
    other = Client()
    new, new_queries = sign_up(client, "New@Example.com")
    known, known_queries = sign_up(other, customer.email.upper())

    for response in (new, known):
        assert response.status_code == 302
        assert response["Location"] == "/accounts/signup/sent/"
    assert new_queries == known_queries  # the same work: nothing looked up in the request
    pages = [
        c.get("/accounts/signup/sent/").content.decode().replace(email, "EMAIL")
        for c, email in ((client, "new@example.com"), (other, customer.email))
    ]
    assert pages[0] == pages[1] and "already exists" not in pages[0]
    assert [t.args_kwargs["kwargs"]["email"] for t in waiting_tasks(send_signup_mail)] == [
        "new@example.com",
        customer.email,
    ]
    assert not client.get("/").context["user"].is_authenticated


def test_the_owner_of_a_known_address_is_mailed_instead(
    client, customer, mailoutbox, task_worker, django_user_model
):
    before = customer.password
    sign_up(client, customer.email)

    assert task_worker() == ["owner"]

    [mail] = mailoutbox
    assert mail.to == [customer.email]
    assert mail.subject == "Someone tried to sign up with your address"
    assert "sign" in mail.body.lower() and "reset" in mail.body.lower()
    assert client.get(link_in(mail, "/accounts/login/")).status_code == 200
    assert client.get(link_in(mail, "/accounts/password_reset/")).status_code == 200
    customer.refresh_from_db()
    assert customer.password == before and customer.is_active
    assert django_user_model.objects.filter(email__iexact=customer.email).count() == 1


def test_a_new_customer_opens_the_link_and_is_welcomed_where_they_were_going(
    client, mailoutbox, task_worker, django_user_model
):
    garment = GarmentFactory()
    order_form = f"/orders/new/?garment={garment.shopify_gid}"
    # Logged out, the garment's card leads to log-in, whose "Sign up" keeps the way back.
    login_page = client.get(client.get(order_form)["Location"]).content.decode()
    signup_link = re.search(r'href="(/accounts/signup/\?next=[^"]+)"', login_page).group(1)
    signup_page = client.get(signup_link.replace("&amp;", "&")).content.decode()
    next_value = re.search(r'name="next" value="([^"]+)"', signup_page).group(1)
    assert next_value.replace("&amp;", "&") == order_form

    sign_up(client, "fresh@example.com", next_url=order_form)
    assert task_worker() == ["welcome"]
    user = django_user_model.objects.get(email="fresh@example.com")
    assert not user.is_active  # nothing opens before the link

    [mail] = mailoutbox
    assert mail.subject == "Open your print shop account"
    response = client.get(link_in(mail, "/accounts/activate/"), follow=True)

    assert response.redirect_chain[-1][0] == order_form
    assert response.context["user"] == django_user_model.objects.get(pk=user.pk)
    page = response.content.decode()
    assert WELCOME in page
    assert f'value="{garment.shopify_gid}" checked' in page or garment.name in page
    # The link works once.
    client.logout()
    assert client.get(link_in(mail, "/accounts/activate/")).status_code == 400


def test_an_outside_next_is_not_followed(client, mailoutbox, task_worker):
    sign_up(client, "away@example.com", next_url="https://evil.example/steal")
    task_worker()
    response = client.get(link_in(mailoutbox[0], "/accounts/activate/"))
    assert response.status_code == 302 and response["Location"] == "/"


def test_sign_ups_are_throttled_per_client_address(client, customer, settings):
    settings.SIGNUP_RATE = "3/hour"
    for n in range(3):
        assert sign_up(client, f"probe{n}@example.com")[0].status_code == 302

    new, _ = sign_up(client, "probe9@example.com")
    known, _ = sign_up(client, customer.email)

    for response in (new, known):
        assert response.status_code == 429
        assert "Too many sign-up attempts" in response.content.decode()
        assert int(response["Retry-After"]) > 0
    # Another network is not held up by this one.
    assert sign_up(client, "other@example.com", REMOTE_ADDR="10.9.8.7")[0].status_code == 302


def test_sign_ups_for_one_address_are_throttled_from_any_network(client, settings):
    settings.SIGNUP_RATE = "2/hour"
    for n in range(2):
        assert (
            sign_up(client, "target@example.com", REMOTE_ADDR=f"10.0.0.{n}")[0].status_code == 302
        )
    assert sign_up(client, "target@example.com", REMOTE_ADDR="10.0.0.9")[0].status_code == 429


def test_a_bad_password_is_still_explained_next_to_the_field(client):
    response = client.post(
        "/accounts/signup/", {"email": "x@example.com", "password1": "a", "password2": "b"}
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_the_log_in_page_offers_forgot_password(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/password_reset/">Forgot password?</a>' in page


@pytest.mark.parametrize(
    "url",
    ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/done/"],
)
def test_the_reset_pages_are_the_shops_own(client, url):
    page = client.get(url).content.decode()
    assert "Django administration" not in page and "Django site admin" not in page
    assert 'class="site-header"' in page and "/static/css/site" in page


def test_a_reset_link_is_on_site_url_whatever_host_was_asked(
    client, customer, mailoutbox, task_worker, settings
):
    settings.ALLOWED_HOSTS = ["shop.example.com", "evil.example", "testserver"]
    client.post("/accounts/password_reset/", {"email": customer.email}, HTTP_HOST="evil.example")
    task_worker()

    [mail] = mailoutbox
    assert "evil.example" not in mail.body
    link = link_in(mail, "/accounts/reset/")
    assert client.get(link).status_code == 302  # to the form that sets the new password
    assert "Choose a new password" in client.get(client.get(link)["Location"]).content.decode()


def test_no_reset_link_is_built_from_the_host_without_site_url(
    client, customer, mailoutbox, task_worker, settings
):
    settings.SITE_URL = ""
    response = client.post("/accounts/password_reset/", {"email": customer.email})
    assert response.status_code == 302  # the same answer
    task_worker()
    assert mailoutbox == []
