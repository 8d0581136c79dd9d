"""E-mail to customers: after commit, outside the transaction, never undoing a change."""

import pytest

from production import services
from production.lifecycle import EventSource, OrderState
from production.models import ProductionOrder
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
