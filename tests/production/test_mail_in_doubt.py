"""A mail in doubt (its worker killed, or the connection lost, while handing it over) waits for
support's decision in the admin: send it again, or mark it sent; each decision is recorded."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from production import notifications
from production.models import OutgoingEmail
from tests.production.test_notifications import BACKENDS, fulfil, ready_to_ship

pytestmark = pytest.mark.django_db

LIST = "/admin/production/outgoingemail/"


@pytest.fixture
def in_doubt(customer, operator, settings, task_worker) -> OutgoingEmail:
    settings.EMAIL_BACKEND = f"{BACKENDS}.DroppingBackend"
    fulfil(ready_to_ship(customer, operator), operator)
    assert task_worker() == ["in doubt"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Long enough ago that no worker is still sending it.
    OutgoingEmail.objects.update(handed_over_at=timezone.now() - timedelta(hours=1))
    return OutgoingEmail.objects.get()


def act(admin_client, action: str, email: OutgoingEmail) -> str:
    response = admin_client.post(
        LIST, {"action": action, "_selected_action": [email.pk]}, follow=True
    )
    return response.content.decode()


def history(email: OutgoingEmail) -> list[tuple[str, str]]:
    entries = LogEntry.objects.filter(object_id=str(email.pk)).order_by("action_time")
    return [(entry.user.email, entry.get_change_message()) for entry in entries]


def test_support_finds_the_mails_in_doubt(admin_client, in_doubt, customer, operator):
    fulfil(ready_to_ship(customer, operator), operator)  # another mail, merely queued

    page = admin_client.get(LIST, {"delivery": "in_doubt"}).content.decode()

    assert page.count("in doubt: check the mail server") == 1
    assert notifications.in_doubt().count() == 1


def test_send_again_sends_the_mail_once_and_records_who_decided(
    admin_client, admin_user, in_doubt, mailoutbox, task_worker, customer
):
    page = act(admin_client, "try_again_now", in_doubt)

    assert "1 queued for sending" in page
    assert task_worker() == ["sent"]
    assert [m.to for m in mailoutbox] == [[customer.email]]
    assert history(in_doubt) == [(admin_user.email, "Sent again (was in doubt)")]

    assert "0 queued for sending" in act(admin_client, "try_again_now", in_doubt)  # sent now
    assert task_worker() == []
    assert len(mailoutbox) == 1
    assert len(history(in_doubt)) == 1


def test_mark_as_sent_closes_the_doubt_without_sending_and_records_it(
    admin_client, admin_user, in_doubt, mailoutbox, task_worker
):
    page = act(admin_client, "mark_as_sent", in_doubt)

    assert "1 marked as sent." in page
    in_doubt.refresh_from_db()
    assert notifications.delivery_state(in_doubt) == "sent"
    assert notifications.in_doubt().count() == 0
    assert history(in_doubt) == [(admin_user.email, "Marked as sent (was in doubt)")]
    assert task_worker() == []
    assert mailoutbox == []


def test_only_a_mail_in_doubt_can_be_marked_as_sent(
    admin_client, customer, operator, mailoutbox, task_worker
):
    fulfil(ready_to_ship(customer, operator), operator)
    queued = OutgoingEmail.objects.get()

    page = act(admin_client, "mark_as_sent", queued)

    assert "1 left alone (only mails in doubt can be marked as sent)" in page
    queued.refresh_from_db()
    assert queued.sent_at is None and history(queued) == []
    assert task_worker() == ["sent"]
    assert len(mailoutbox) == 1
