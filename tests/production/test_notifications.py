"""E-mail to customers: after commit, outside the transaction, never undoing a change."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from production import notifications, services
from production.lifecycle import EventSource, OrderState
from production.models import OutgoingEmail, ProductionOrder
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def fulfil(order, operator):
    return services.transition_order(
        order=order, to=OrderState.FULFILLED, actor=operator, source=EventSource.OPERATOR
    )


def test_fulfilling_an_order_mails_its_owner_after_commit(
    customer, operator, mailoutbox, django_capture_on_commit_callbacks
):
    order = make_order(owner=customer, state=OrderState.IN_PRODUCTION, operator=operator)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        fulfil(order, operator)
    assert mailoutbox == []  # nothing leaves while the transaction is open
    for callback in callbacks:
        callback()
    [mail] = mailoutbox
    assert mail.to == ["customer@example.com"]
    assert order.reference in mail.subject and "ready" in mail.subject
    assert f"/orders/{order.pk}/" in mail.body


def test_an_operator_message_mails_the_customer(
    customer, operator, mailoutbox, django_capture_on_commit_callbacks
):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_customer_message(
            order=order, author=operator, body="Proof approved?", source=EventSource.OPERATOR
        )
    [mail] = mailoutbox
    assert mail.to == ["customer@example.com"]
    assert "Proof approved?" in mail.body


def test_other_changes_send_no_mail(
    customer, operator, mailoutbox, django_capture_on_commit_callbacks
):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    with django_capture_on_commit_callbacks(execute=True):
        services.transition_order(
            order=order, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
        )
    assert mailoutbox == []


def test_a_refused_change_mails_nobody(
    customer, operator, mailoutbox, django_capture_on_commit_callbacks
):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception):
        fulfil(order, operator)  # approved → fulfilled is not allowed
    assert mailoutbox == []


def test_a_failing_mail_server_is_logged_and_the_order_stays_fulfilled(
    customer, operator, mailoutbox, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    order = make_order(owner=customer, state=OrderState.IN_PRODUCTION, operator=operator)

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("production.notifications.send_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        fulfil(order, operator)
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.FULFILLED
    assert "order_fulfilled" in caplog.text and "failed" in caplog.text


class TestOutbox:
    """A committed change always has its mail on record; a mail server that is down delays it."""

    def test_the_mail_is_recorded_with_the_change_and_marked_sent(
        self, customer, operator, mailoutbox, django_capture_on_commit_callbacks
    ):
        order = make_order(owner=customer, state=OrderState.IN_PRODUCTION, operator=operator)
        with django_capture_on_commit_callbacks(execute=True):
            fulfil(order, operator)
        [email] = OutgoingEmail.objects.filter(order=order)
        assert (email.kind, email.to, email.attempts) == ("order_fulfilled", customer.email, 1)
        assert email.sent_at is not None and email.last_error == ""
        [mail] = mailoutbox
        assert (mail.subject, mail.body) == (email.subject, email.body)

    def test_a_rolled_back_change_leaves_no_mail_on_record(
        self, customer, operator, mailoutbox, monkeypatch
    ):
        order = make_order(owner=customer, state=OrderState.IN_PRODUCTION, operator=operator)
        record = notifications.order_fulfilled

        def record_then_fail(**kwargs):
            record(**kwargs)  # the mail is written in the transaction...
            assert OutgoingEmail.objects.filter(order=order).exists()
            raise RuntimeError("disk full")  # ...which then rolls back

        monkeypatch.setattr(notifications, "order_fulfilled", record_then_fail)
        with pytest.raises(RuntimeError):
            fulfil(order, operator)
        assert not OutgoingEmail.objects.exists()
        assert mailoutbox == []
        assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.IN_PRODUCTION

    def test_a_failed_send_is_retried_later_and_then_sent_once(
        self, customer, operator, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
    ):
        order = make_order(owner=customer, state=OrderState.IN_PRODUCTION, operator=operator)
        smtp_down = True
        real_send = notifications.send_mail

        def send(*args, **kwargs):
            if smtp_down:
                raise ConnectionRefusedError("smtp down")
            return real_send(*args, **kwargs)

        monkeypatch.setattr(notifications, "send_mail", send)
        with django_capture_on_commit_callbacks(execute=True):
            fulfil(order, operator)
        email = OutgoingEmail.objects.get(order=order)
        assert email.sent_at is None and "smtp down" in email.last_error
        assert email.next_attempt_at > timezone.now()

        smtp_down = False
        out = StringIO()
        call_command("send_pending_email", stdout=out)  # not due yet: nothing happens
        assert out.getvalue().strip() == "0 sent, 0 failed (kept for a later try)"
        assert mailoutbox == []

        OutgoingEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        call_command("send_pending_email", stdout=out)
        call_command("send_pending_email", stdout=out)  # a second sweep finds nothing to resend
        [mail] = mailoutbox
        assert mail.to == [customer.email]
        email.refresh_from_db()
        assert email.sent_at is not None and email.attempts == 2 and email.last_error == ""

    def test_retries_wait_longer_each_time_and_stop_after_the_last_attempt(
        self, customer, operator, monkeypatch
    ):
        def refuse(*args, **kwargs):
            raise ConnectionRefusedError("smtp down")

        monkeypatch.setattr(notifications, "send_mail", refuse)
        order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator)
        services.add_customer_message(
            order=order, author=operator, body="Hello", source=EventSource.OPERATOR
        )
        email = OutgoingEmail.objects.get(order=order)
        delays = []
        for _ in range(notifications.MAX_ATTEMPTS):
            OutgoingEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
            before = timezone.now()
            notifications.send_due()
            email.refresh_from_db()
            delays.append(round((email.next_attempt_at - before).total_seconds() / 60))
        assert delays == [1, 2, 4, 8, 16, 32, 64, 128]
        assert email.attempts == notifications.MAX_ATTEMPTS
        OutgoingEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        assert notifications.send_due() == (0, 0)  # given up: support can send it again

        monkeypatch.setattr(notifications, "send_mail", lambda *args, **kwargs: 1)
        assert notifications.retry_now([email.pk]) == (1, 0)
        email.refresh_from_db()
        assert email.sent_at is not None

    def test_two_senders_never_send_one_mail_twice(
        self, customer, operator, mailoutbox, django_capture_on_commit_callbacks
    ):
        order = make_order(owner=customer, state=OrderState.IN_PRODUCTION, operator=operator)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            fulfil(order, operator)
        email = OutgoingEmail.objects.get(order=order)
        assert notifications.deliver([email.pk]) == (1, 0)
        for callback in callbacks:  # the after-commit send, arriving second
            callback()
        assert notifications.deliver([email.pk]) == (0, 0)
        assert len(mailoutbox) == 1

    def test_support_sees_the_mails_of_an_order_in_the_admin(
        self, customer, operator, admin_client, django_capture_on_commit_callbacks
    ):
        order = make_order(owner=customer, state=OrderState.IN_PRODUCTION, operator=operator)
        with django_capture_on_commit_callbacks(execute=True):
            fulfil(order, operator)
        page = admin_client.get("/admin/production/outgoingemail/").content.decode()
        assert order.reference in page and customer.email in page
