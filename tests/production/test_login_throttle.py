"""Login throttling (django-axes): wrong passwords are limited per account and per address."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tests.browser_support import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
LOCKED = "Too many failed login attempts. Try again in 15 minutes."


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 10


def attempt(client, email, password="wrong-password", url=LOGIN, **extra):
    return client.post(url, {"username": email, "password": password}, **extra)


def fail_times(n, email, client=None, **extra):
    client = client or Client()
    return [attempt(client, email, **extra).status_code for _ in range(n)]


def test_ten_wrong_passwords_lock_the_account_even_for_the_right_one(customer):
    assert fail_times(9, customer.email) == [200] * 9  # the form again, with its error
    tenth = attempt(Client(), customer.email)
    assert tenth.status_code == 429

    right = attempt(Client(), customer.email, password=PASSWORD)
    assert right.status_code == 429
    assert right["Retry-After"] == "900"
    page = right.content.decode()
    assert LOCKED in page
    assert '<header class="site-header">' in page  # the site's own page, not a bare text
    assert "_auth_user_id" not in right.client.session


def test_a_correct_password_before_the_limit_still_logs_in(customer):
    fail_times(5, customer.email)
    response = attempt(Client(), customer.email, password=PASSWORD)
    assert response.status_code == 302
    assert response.wsgi_request.user == customer


def test_an_unknown_account_gets_the_same_answer(customer):
    fail_times(10, customer.email, REMOTE_ADDR="10.0.0.1")
    fail_times(10, "nobody@example.com", REMOTE_ADDR="10.0.0.2")

    known = attempt(Client(), customer.email, REMOTE_ADDR="10.0.0.3")
    unknown = attempt(Client(), "nobody@example.com", REMOTE_ADDR="10.0.0.4")
    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content


def test_the_account_is_locked_whatever_the_address_and_the_case(customer):
    for i in range(10):
        email = customer.email.upper() if i % 2 else customer.email
        attempt(Client(), email, REMOTE_ADDR=f"10.0.1.{i}")
    response = attempt(Client(), customer.email, password=PASSWORD, REMOTE_ADDR="10.0.2.1")
    assert response.status_code == 429


def test_an_address_trying_many_accounts_is_locked_out(customer):
    for i in range(10):
        attempt(Client(), f"guess{i}@example.com", REMOTE_ADDR="10.0.3.1")
    from_there = attempt(Client(), customer.email, password=PASSWORD, REMOTE_ADDR="10.0.3.1")
    elsewhere = attempt(Client(), customer.email, password=PASSWORD, REMOTE_ADDR="10.0.3.2")
    assert from_there.status_code == 429
    assert elsewhere.status_code == 302


def test_x_forwarded_for_is_ignored_unless_proxies_are_configured(customer):
    # Without TRUSTED_PROXY_COUNT a client cannot pick its own address with the header.
    for i in range(10):
        attempt(Client(), f"guess{i}@example.com", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert attempt(Client(), customer.email, password=PASSWORD).status_code == 429


def test_behind_a_proxy_the_forwarded_address_is_counted(customer, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The proxy (REMOTE_ADDR) appends the client's address; what the client sent before is kept.
    for i in range(10):
        attempt(
            Client(),
            f"guess{i}@example.com",
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 198.51.100.7",
        )
    locked = attempt(
        Client(), customer.email, password=PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    other_client = attempt(
        Client(), customer.email, password=PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8"
    )
    assert locked.status_code == 429
    assert other_client.status_code == 302


def test_json_clients_get_a_json_429(customer):
    fail_times(10, customer.email)
    response = attempt(Client(), customer.email, HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    assert response.json() == {"error": LOCKED}


def test_the_lockout_ends_after_the_cool_off(customer):
    fail_times(10, customer.email)
    assert attempt(Client(), customer.email, password=PASSWORD).status_code == 429
    # Attempts while locked out do not extend it: it ends 15 minutes after the tenth failure.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timezone.timedelta(minutes=14))
    response = attempt(Client(), customer.email, password=PASSWORD)
    assert response.status_code == 429
    assert "Try again in 1 minute." in response.content.decode()
    AccessAttempt.objects.update(attempt_time=timezone.now() - timezone.timedelta(minutes=16))
    assert attempt(Client(), customer.email, password=PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(operator):
    operator.is_staff = operator.is_superuser = True
    operator.save()
    statuses = fail_times(10, operator.email, url=ADMIN_LOGIN)
    assert statuses == [200] * 9 + [429]
    response = attempt(Client(), operator.email, password=PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
