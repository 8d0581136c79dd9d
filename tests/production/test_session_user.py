"""The session's user comes from the shared cache beside their operator answer
(production.accounts.access.session_user, decision 0072): no query for it on a later request,
and every change of the user through Django takes effect on their next request."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from production.accounts.access import operators_group
from tests.factories import UserFactory, operator_user

pytestmark = pytest.mark.django_db

PAGE = "/ops/scan/"  # an operator page that reads nothing else


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def queries_of(client: Client, url: str = PAGE) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code
    return status, [q["sql"] for q in queries.captured_queries]


def test_a_later_request_runs_no_query_for_the_user_or_their_access():
    client = logged_in(operator_user())
    first_status, first = queries_of(client)
    status, later = queries_of(client)
    assert first_status == status == 200
    assert any("auth_user" in sql for sql in first)
    assert later == []


def test_the_shared_cache_never_holds_the_password_hash():
    user = operator_user()
    client = logged_in(user)
    assert client.get(PAGE).status_code == 200
    entry = cache.get(f"session-user:{user.pk}")
    assert entry is not None
    assert user.password not in repr(entry)
    assert client.get(PAGE).status_code == 200  # served from that entry, still logged in


def test_a_password_changed_elsewhere_logs_the_session_out_on_its_next_request():
    user = operator_user()
    client = logged_in(user)
    assert client.get(PAGE).status_code == 200
    user.set_password("a-new-password-entirely")
    user.save()
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_deactivated_user_is_logged_out_on_their_next_request():
    user = operator_user()
    client = logged_in(user)
    assert client.get(PAGE).status_code == 200
    user.is_active = False
    user.save()
    assert client.get(PAGE).status_code == 302


def test_an_operator_taken_out_of_the_group_is_refused_on_their_next_request():
    user = operator_user()
    client = logged_in(user)
    assert client.get(PAGE).status_code == 200
    user.groups.remove(operators_group())
    assert client.get(PAGE).status_code == 403


def test_a_changed_name_shows_on_the_next_page():
    user = operator_user(email="before@example.com")
    client = logged_in(user)
    assert "before@example.com" in client.get(PAGE).content.decode()
    user.email = "after@example.com"
    user.save()
    assert "after@example.com" in client.get(PAGE).content.decode()


def test_a_change_made_around_django_takes_effect_when_the_cached_row_expires():
    """Raw SQL sends no signal: the cached row is served until it expires (ACCESS_TTL)."""
    user = operator_user()
    client = logged_in(user)
    assert client.get(PAGE).status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert client.get(PAGE).status_code == 200  # within ACCESS_TTL
    cache.clear()  # as if ACCESS_TTL had passed
    assert client.get(PAGE).status_code == 302


def test_redis_unreachable_reads_the_user_from_the_database(monkeypatch):
    client = logged_in(operator_user())
    monkeypatch.setattr(cache, "get_many", lambda keys: {})  # what IGNORE_EXCEPTIONS answers
    monkeypatch.setattr(cache, "get", lambda key, default=None: default)
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: False)
    status, sql = queries_of(client)
    assert status == 200
    assert any("auth_user" in s for s in sql)


def test_a_customer_is_a_customer_and_a_stranger_a_stranger():
    customer = logged_in(UserFactory())
    assert customer.get(PAGE).status_code == 403
    assert queries_of(customer)[0] == 403
    response = Client().get(PAGE)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_session_of_another_backend_is_loaded_by_that_backend(settings):
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "django.contrib.auth.backends.AllowAllUsersModelBackend",
    ]
    user = operator_user()
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.AllowAllUsersModelBackend")
    assert client.get(PAGE).status_code == 200
    user.is_active = False
    user.save()
    # That backend lets inactive users in; the operator check still refuses them.
    assert client.get(PAGE).status_code == 403
