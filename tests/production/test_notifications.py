"""Customer e-mail: recorded and queued with the change, sent by the task worker at most once."""

import smtplib
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from production import notifications
from production.lifecycle import EventSource, OrderState, ProductionStatus
from production.models import OutgoingEmail, ProductionOrder
from production.services.messages import add_customer_message
from production.services.orders import transition_order
from tests.factories import make_order
from tests.task_queue import silent_smtp_server, time_passes, waiting_tasks

pytestmark = pytest.mark.django_db

BACKENDS = "tests.production.test_notifications"


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down: the connection is refused."""

    def open(self):
        raise ConnectionRefusedError("smtp down")

    def send_messages(self, email_messages):
        raise AssertionError("never reached: open() failed")


class RejectingBackend(LocmemBackend):
    """A mail server that answers, then refuses the mail (e.g. greylisting: try again later)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPDataError(451, b"try again later")


class DroppingBackend(LocmemBackend):
    """The connection drops while the mail is being sent: did the server take it?"""

    def send_messages(self, email_messages):
        raise TimeoutError("timed out waiting for the end-of-data reply")


def ready_to_ship(customer, operator):
    return make_order(
        owner=customer,
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
        operator=operator,
    )


def fulfil(order, operator):
    return transition_order(
        order=order, to=OrderState.FULFILLED, actor=operator, source=EventSource.OPERATOR
    )


def test_fulfilling_an_order_queues_the_mail_and_the_worker_sends_it(
    customer, operator, mailoutbox, task_worker
):
    order = ready_to_ship(customer, operator)
    fulfil(order, operator)
    assert mailoutbox == []  # the change itself never talks to the mail server
    [email] = OutgoingEmail.objects.filter(order=order)
    assert [t.args_kwargs["args"] for t in waiting_tasks(notifications.deliver_email)] == [
        [email.pk]
    ]

    assert task_worker() == ["sent"]
    [sent] = mailoutbox
    assert sent.to == ["customer@example.com"]
    assert order.reference in sent.subject and "ready" in sent.subject
    assert f"/orders/{order.pk}/" in sent.body
    email.refresh_from_db()
    assert (email.attempts, email.last_error) == (1, "")
    assert email.sent_at is not None and notifications.delivery_state(email) == "sent"


def test_an_operator_message_mails_the_customer(customer, operator, mailoutbox, task_worker):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    add_customer_message(
        order=order, author=operator, body="Proof approved?", source=EventSource.OPERATOR
    )
    task_worker()
    [sent] = mailoutbox
    assert sent.to == ["customer@example.com"]
    assert "Proof approved?" in sent.body


def test_other_changes_send_no_mail(customer, operator, mailoutbox, task_worker):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    transition_order(
        order=order, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
    )
    assert waiting_tasks(notifications.deliver_email) == []
    task_worker()
    assert mailoutbox == []


def test_a_refused_change_mails_nobody(customer, operator, mailoutbox, task_worker):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    with pytest.raises(Exception):
        fulfil(order, operator)  # approved → fulfilled is not allowed
    assert waiting_tasks(notifications.deliver_email) == []
    task_worker()
    assert mailoutbox == []


def test_a_fulfil_answers_at_once_while_the_mail_server_hangs(
    customer, operator, operator_api, settings, mailoutbox, task_worker
):
    """The request only records and queues; the worker meets the hanging server, gives up after
    EMAIL_TIMEOUT and retries later, when the server is back, once."""
    order = ready_to_ship(customer, operator)
    with silent_smtp_server() as port:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 1
        started = time.monotonic()
        response = operator_api.patch(
            f"/api/production/{order.pk}", {"status": "fulfilled"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert time.monotonic() - started < 1  # never waited on the server
        [email] = OutgoingEmail.objects.filter(order=order)
        assert len(waiting_tasks(notifications.deliver_email)) == 1

        started = time.monotonic()
        assert task_worker() == ["failed"]
        assert 1 <= time.monotonic() - started < 5  # the worker waited EMAIL_TIMEOUT, no longer
    email.refresh_from_db()
    assert email.sent_at is None and "timed out" in email.last_error
    assert notifications.delivery_state(email) == "waiting to retry"
    [retry] = waiting_tasks(notifications.deliver_email)
    assert retry.run_after == email.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert task_worker() == []  # not before its time

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back
    time_passes()
    assert task_worker() == ["sent"]
    time_passes()
    assert task_worker() == []
    assert [m.to for m in mailoutbox] == [[customer.email]]


class TestOutbox:
    """A committed change always has its mail on record and queued; it leaves at most once."""

    def test_a_rolled_back_change_leaves_no_mail_and_no_task(
        self, customer, operator, mailoutbox, monkeypatch, task_worker
    ):
        order = ready_to_ship(customer, operator)
        record = notifications.order_fulfilled

        def record_then_fail(**kwargs):
            record(**kwargs)  # the mail and its task are written in the transaction...
            assert OutgoingEmail.objects.filter(order=order).exists()
            assert len(waiting_tasks(notifications.deliver_email)) == 1
            raise RuntimeError("disk full")  # ...which then rolls back

        monkeypatch.setattr(notifications, "order_fulfilled", record_then_fail)
        with pytest.raises(RuntimeError):
            fulfil(order, operator)
        assert not OutgoingEmail.objects.exists()
        assert not DBTaskResult.objects.exists()
        task_worker()
        assert mailoutbox == []
        assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.IN_PRODUCTION

    @pytest.mark.django_db(transaction=True)
    def test_a_change_that_fails_to_commit_queues_nothing(self, customer, operator, monkeypatch):
        """The same, with a real transaction (no test transaction around it)."""
        order = ready_to_ship(customer, operator)
        record = notifications.order_fulfilled

        def record_then_fail(**kwargs):
            record(**kwargs)
            raise RuntimeError("disk full")

        monkeypatch.setattr(notifications, "order_fulfilled", record_then_fail)
        with pytest.raises(RuntimeError):
            fulfil(order, operator)
        assert (OutgoingEmail.objects.count(), DBTaskResult.objects.count()) == (0, 0)
        monkeypatch.undo()
        fulfil(order, operator)  # and when it commits, both are there
        assert (OutgoingEmail.objects.count(), DBTaskResult.objects.count()) == (1, 1)

    def test_a_failed_send_is_retried_later_with_backoff_and_sent_once(
        self, customer, operator, settings, mailoutbox, task_worker, caplog
    ):
        settings.EMAIL_BACKEND = f"{BACKENDS}.RefusingBackend"
        order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
        add_customer_message(
            order=order, author=operator, body="Hello", source=EventSource.OPERATOR
        )
        email = OutgoingEmail.objects.get(order=order)
        delays = []
        for _ in range(notifications.MAX_ATTEMPTS):
            before = timezone.now()
            assert task_worker() == ["failed"]
            email.refresh_from_db()
            delays.append(round((email.next_attempt_at - before).total_seconds() / 60))
            time_passes()
        assert delays == [1, 2, 4, 8, 16, 32, 64, 128]
        assert "smtp down" in email.last_error and "failed (attempt 8 of 8" in caplog.text
        # Given up: no further try is queued, and the sweep leaves it to support.
        assert waiting_tasks(notifications.deliver_email) == []
        assert notifications.enqueue_due() == (0, 0)
        assert notifications.delivery_state(email).startswith("gave up")
        assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.APPROVED

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert notifications.retry_now([email.pk]) == [email.pk]
        assert mailoutbox == []  # queued, not sent by support's click
        assert task_worker() == ["sent"]
        assert notifications.retry_now([email.pk]) == []  # sent: nothing to try again
        time_passes()
        assert task_worker() == []
        assert len(mailoutbox) == 1

    def test_a_worker_that_finds_the_mail_server_down_postpones_the_other_mails(
        self, customer, operator, settings, mailoutbox, task_worker
    ):
        """An outage costs the worker one failed connection, not one per queued mail."""
        settings.EMAIL_BACKEND = f"{BACKENDS}.RefusingBackend"
        for _ in range(3):
            fulfil(ready_to_ship(customer, operator), operator)
        assert task_worker() == ["failed", "postponed", "postponed"]
        assert sorted(OutgoingEmail.objects.values_list("attempts", flat=True)) == [0, 0, 1]
        assert notifications.enqueue_due() == (0, 2)  # their tasks wait: the sweep adds none
        retries = [t.run_after for t in waiting_tasks(notifications.deliver_email)]
        assert len(retries) == 3
        assert all(retry > timezone.now() + timedelta(seconds=50) for retry in retries)

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        time_passes()
        assert task_worker() == ["sent", "sent", "sent"]
        assert len(mailoutbox) == 3

    def test_a_mail_the_server_refuses_is_retried(
        self, customer, operator, settings, mailoutbox, task_worker
    ):
        settings.EMAIL_BACKEND = f"{BACKENDS}.RejectingBackend"
        fulfil(ready_to_ship(customer, operator), operator)
        assert task_worker() == ["failed"]
        email = OutgoingEmail.objects.get()
        assert email.handed_over_at is None and "SMTPDataError" in email.last_error
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        time_passes()
        assert task_worker() == ["sent"]
        assert len(mailoutbox) == 1

    def test_two_tasks_for_one_mail_send_it_once(self, customer, operator, mailoutbox, task_worker):
        fulfil(ready_to_ship(customer, operator), operator)
        email = OutgoingEmail.objects.get()
        notifications.deliver_email.enqueue(email.pk)  # e.g. the sweep raced the first task
        assert sorted(task_worker()) == ["sent", "skipped"]
        assert len(mailoutbox) == 1

    def test_a_mail_lost_mid_send_is_in_doubt_and_never_resent_by_itself(
        self, customer, operator, settings, mailoutbox, task_worker
    ):
        settings.EMAIL_BACKEND = f"{BACKENDS}.DroppingBackend"
        fulfil(ready_to_ship(customer, operator), operator)
        assert task_worker() == ["in doubt"]
        email = OutgoingEmail.objects.get()
        assert email.handed_over_at is not None and "TimeoutError" in email.last_error
        assert notifications.delivery_state(email) == "sending"
        later = timezone.now() + notifications.IN_DOUBT_AFTER + timedelta(seconds=1)
        assert notifications.delivery_state(email, now=later).startswith("in doubt")

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        time_passes()
        assert notifications.enqueue_due() == (0, 0)
        assert task_worker() == []
        assert mailoutbox == []
        # Support checked the mail server's log: the mail never arrived.
        assert notifications.retry_now([email.pk]) == []  # not while it may still be sending
        OutgoingEmail.objects.update(handed_over_at=timezone.now() - timedelta(hours=1))
        assert notifications.retry_now([email.pk]) == [email.pk]
        assert task_worker() == ["sent"]
        assert len(mailoutbox) == 1

    def test_a_worker_killed_while_connecting_lets_the_sweep_queue_the_mail_again(
        self, customer, operator, mailoutbox, task_worker
    ):
        fulfil(ready_to_ship(customer, operator), operator)
        email = OutgoingEmail.objects.get()
        # What a worker killed after its claim, before the hand-over, leaves: the mail claimed,
        # its task RUNNING for ever.
        OutgoingEmail.objects.update(
            attempts=1, next_attempt_at=timezone.now() + notifications.CLAIM_LEASE
        )
        DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now())
        out = StringIO()
        call_command("send_pending_email", stdout=out)
        assert out.getvalue().strip() == "0 queued, 0 already waiting in the queue"  # claimed

        OutgoingEmail.objects.update(next_attempt_at=timezone.now())  # the claim has run out
        call_command("send_pending_email", stdout=out)
        call_command("send_pending_email", stdout=out)  # a second sweep does not queue it twice
        assert out.getvalue().splitlines()[1:] == [
            "1 queued, 0 already waiting in the queue",
            "0 queued, 1 already waiting in the queue",
        ]
        assert task_worker() == ["sent"]
        email.refresh_from_db()
        assert email.attempts == 2 and [m.to for m in mailoutbox] == [[customer.email]]

    def test_a_claim_that_ran_out_stops_the_slow_worker_before_it_sends(
        self, customer, operator, settings, mailoutbox, task_worker, monkeypatch
    ):
        """A worker that connected for longer than its claim finds the mail re-claimed."""
        fulfil(ready_to_ship(customer, operator), operator)
        email = OutgoingEmail.objects.get()
        open_connection = LocmemBackend.open

        def slow_open(backend):
            # Meanwhile the claim ran out and another worker claimed the mail.
            OutgoingEmail.objects.update(attempts=2)
            return open_connection(backend)

        monkeypatch.setattr(LocmemBackend, "open", slow_open)
        assert notifications.deliver_email.call(email.pk) == "skipped"
        assert mailoutbox == []

    def test_support_sees_the_mails_and_their_delivery_in_the_admin(
        self, customer, operator, admin_client, task_worker
    ):
        order = ready_to_ship(customer, operator)
        fulfil(order, operator)
        page = admin_client.get("/admin/production/outgoingemail/").content.decode()
        assert order.reference in page and customer.email in page and "queued" in page
        task_worker()
        page = admin_client.get("/admin/production/outgoingemail/").content.decode()
        assert ">sent<" in page

    def test_try_again_now_in_the_admin_queues_without_waiting_for_the_mail_server(
        self, customer, operator, admin_client, settings, task_worker
    ):
        settings.EMAIL_BACKEND = f"{BACKENDS}.RefusingBackend"
        fulfil(ready_to_ship(customer, operator), operator)
        task_worker()
        email = OutgoingEmail.objects.get()
        response = admin_client.post(
            "/admin/production/outgoingemail/",
            {"action": "try_again_now", "_selected_action": [email.pk]},
            follow=True,
        )
        assert "1 queued for sending" in response.content.decode()
        email.refresh_from_db()
        assert email.attempts == 1  # no attempt in the admin's request
        assert email.next_attempt_at <= timezone.now()
        assert len(waiting_tasks(notifications.deliver_email)) == 2  # the backoff's and this one
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert task_worker() == ["sent"]
