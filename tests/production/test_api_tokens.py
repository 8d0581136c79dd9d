"""API tokens: a signed-in user sees, replaces and revokes their own on /accounts/api-token/, and
a password change or reset ends the old one at once (even while its user is cached)."""

import re

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import token_for

pytestmark = pytest.mark.django_db

PAGE = "/accounts/api-token/"
OLD_PASSWORD = "pw-for-tests-123"  # the factory's
NEW_PASSWORD = "Quiet-harbor-7731"


def api_status(key: str) -> int:
    return APIClient().get("/api/production", HTTP_AUTHORIZATION=f"Token {key}").status_code


@pytest.fixture
def signed_in(customer) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    return client


def csrf_post(client: Client, path: str, data: dict, **kwargs):
    """POST as the browser does: with the CSRF token the page's form carries."""
    page = client.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    return client.post(path, {**data, "csrfmiddlewaretoken": token.group(1)}, **kwargs)


def new_key_on(response) -> str:
    return re.search(r'<code class="token">([0-9a-f]{40})</code>', response.content.decode())[1]


def test_the_page_needs_a_login(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE}"


def test_the_header_links_to_the_page(signed_in):
    assert f'<a href="{PAGE}">Account</a>' in signed_in.get("/orders/").content.decode()


def test_creating_a_token_shows_its_key_once_and_it_works(signed_in):
    assert "You have no API token." in signed_in.get(PAGE).content.decode()

    response = csrf_post(signed_in, PAGE, {"action": "rotate"})

    key = new_key_on(response)
    assert "copy it now: it is not shown again" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert api_status(key) == 200
    later = signed_in.get(PAGE).content.decode()
    assert "You have an API token, created" in later
    assert key not in later


def test_rotating_gives_a_new_key_that_works_and_the_old_one_401(signed_in, customer):
    old = token_for(customer)
    assert api_status(old) == 200  # its user is cached now

    new = new_key_on(csrf_post(signed_in, PAGE, {"action": "rotate"}))

    assert new != old
    assert api_status(new) == 200
    assert api_status(old) == 401


def test_revoking_ends_the_token(signed_in, customer):
    old = token_for(customer)
    assert api_status(old) == 200

    response = csrf_post(signed_in, PAGE, {"action": "revoke"}, follow=True)

    assert "Your API token is revoked: it no longer works." in response.content.decode()
    assert "You have no API token." in response.content.decode()
    assert api_status(old) == 401


def test_a_post_without_the_csrf_token_changes_nothing(signed_in, customer):
    old = token_for(customer)

    response = signed_in.post(PAGE, {"action": "rotate"})

    assert response.status_code == 403
    assert api_status(old) == 200


def test_changing_the_password_revokes_the_token(signed_in, customer):
    old = token_for(customer)
    assert api_status(old) == 200

    response = csrf_post(
        signed_in,
        "/accounts/password_change/",
        {
            "old_password": OLD_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    assert api_status(old) == 401
    assert signed_in.get(PAGE).status_code == 200  # still signed in here
    assert "You have no API token." in signed_in.get(PAGE).content.decode()


def test_resetting_the_password_revokes_the_token(
    client, customer, mailoutbox, task_worker, settings
):
    settings.SITE_URL = "https://shop.example.com"
    old = token_for(customer)
    assert api_status(old) == 200
    client.post("/accounts/password_reset/", {"email": customer.email})
    task_worker()
    link = re.search(r"https://shop\.example\.com(/accounts/reset/\S+/)", mailoutbox[0].body).group(
        1
    )
    form = client.get(link)["Location"]  # the link's token traded for a session, as Django does

    response = client.post(form, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/reset/done/"
    assert api_status(old) == 401


def test_a_password_hash_upgrade_at_login_keeps_the_token(client, customer, settings):
    # The tests hash with MD5; a stronger first hasher makes Django re-hash at the next login,
    # which is no password change.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    old = token_for(customer)

    response = client.post(
        "/accounts/login/", {"username": customer.email, "password": OLD_PASSWORD}
    )

    assert response.status_code == 302  # signed in

    customer.refresh_from_db()
    assert customer.password.startswith("pbkdf2_sha256$")
    assert api_status(old) == 200


def test_the_command_rotates_on_request(capsys, customer):
    old = token_for(customer)

    call_command("api_token", customer.email, "--rotate")

    new = capsys.readouterr().out.strip()
    assert new != old
    assert (api_status(new), api_status(old)) == (200, 401)
