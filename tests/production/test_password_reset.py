"""Password reset: the request only queues; the worker looks the address up and mails the link."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from production.accounts.password_reset import send_password_reset
from tests.task_queue import waiting_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://shop.example.com"


def ask_for_reset(client, email):
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/accounts/password_reset/", {"email": email})
    return response, [q["sql"].split()[0] for q in queries]


def test_known_and_unknown_addresses_get_the_same_answer_and_no_mail_in_the_request(
    client, customer, mailoutbox, task_worker
):
    known, known_queries = ask_for_reset(client, customer.email)
    unknown, unknown_queries = ask_for_reset(client, "nobody@example.com")
    for response in (known, unknown):
        assert response.status_code == 302
        assert response["Location"] == "/accounts/password_reset/done/"
    # The same work for both: the task's INSERT, no user lookup (the timing tells nothing).
    assert known_queries == unknown_queries == ["INSERT"]
    assert mailoutbox == []
    assert [t.args_kwargs["kwargs"]["email"] for t in waiting_tasks(send_password_reset)] == [
        customer.email,
        "nobody@example.com",
    ]

    task_worker()
    [reset_mail] = mailoutbox
    assert reset_mail.to == [customer.email]
    link = re.search(r"https://shop\.example\.com(/accounts/reset/\S+/)", reset_mail.body).group(1)
    assert client.get(link).status_code == 302  # to the form that sets the new password


def test_an_inactive_user_gets_no_mail(client, customer, mailoutbox, task_worker):
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    assert client.post("/accounts/password_reset/", {"email": customer.email}).status_code == 302
    task_worker()
    assert mailoutbox == []
