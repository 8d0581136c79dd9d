"""A task worker killed mid-task: its task is found within minutes, run again when that is safe
(a mail never sent twice, a refund never made twice) or failed with the reason."""

from __future__ import annotations

import re
import signal
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from ops.models import TaskWorker, TicketBatch
from ops.tickets import build_ticket_batch
from payments.models import Refund
from payments.refunds import submit_refund
from production import notifications
from production.accounts.password_reset import send_password_reset
from production.lifecycle import EventSource, OrderState, ProductionStatus
from production.models import OutgoingEmail
from production.services.orders import transition_order
from tests.factories import make_order
from tests.ops.test_tickets import big_batch, status  # noqa: F401
from tests.payments.test_refunds import cancel, fake_stripe, order  # noqa: F401

pytestmark = pytest.mark.django_db

DEAD = "worker-killed-with-sigkill"


@pytest.fixture(autouse=True)
def _shop(settings):
    settings.SITE_URL = "https://shop.example.com"


def left_running(task, *, worker_id: str = DEAD, minutes: float = 5) -> DBTaskResult:
    """What a worker killed mid-task leaves of its task: RUNNING, claimed by it, for ever."""
    started = timezone.now() - timedelta(minutes=minutes)
    rows = DBTaskResult.objects.filter(task_path=task.module_path, status="READY")
    assert rows.update(status="RUNNING", started_at=started, worker_ids=[worker_id]) == 1
    return DBTaskResult.objects.get(task_path=task.module_path, status="RUNNING")


def requeue_stale_tasks() -> list[str]:
    out = StringIO()
    call_command("requeue_stale_tasks", stdout=out)
    return out.getvalue().splitlines()


def fulfilled_order(customer, operator):
    ready = make_order(
        owner=customer,
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
        operator=operator,
    )
    transition_order(
        order=ready, to=OrderState.FULFILLED, actor=operator, source=EventSource.OPERATOR
    )
    return ready


def test_a_mail_whose_worker_died_while_connecting_is_sent_once_within_minutes(
    customer, operator, mailoutbox, task_worker
):
    fulfilled_order(customer, operator)
    # The killed worker had claimed the mail (for CLAIM_LEASE) and was connecting.
    OutgoingEmail.objects.update(
        attempts=1, next_attempt_at=timezone.now() + notifications.CLAIM_LEASE
    )
    task = left_running(notifications.deliver_email, minutes=0)

    assert requeue_stale_tasks()[0] == "0 re-queued, 0 failed"  # it may still be connecting
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=timezone.now() - timedelta(minutes=3))
    report = requeue_stale_tasks()

    assert report[0].startswith(f"{task.pk} production.notifications.deliver_email: requeued")
    assert report[1:] == ["1 re-queued, 0 failed", "oldest ready task: 0 s", "mail in doubt: 0"]
    assert task_worker() == ["sent"]
    assert [m.to for m in mailoutbox] == [[customer.email]]
    assert requeue_stale_tasks()[0] == "0 re-queued, 0 failed"
    assert task_worker() == []
    assert len(mailoutbox) == 1


def test_a_mail_in_doubt_is_not_sent_again_by_the_recovery(
    customer, operator, mailoutbox, task_worker
):
    fulfilled_order(customer, operator)
    # The killed worker had handed the mail over: the server may have taken it.
    an_hour_ago = timezone.now() - timedelta(hours=1)
    OutgoingEmail.objects.update(attempts=1, handed_over_at=an_hour_ago)
    left_running(notifications.deliver_email, minutes=60)

    report = requeue_stale_tasks()

    assert report[-3:] == ["1 re-queued, 0 failed", "oldest ready task: 0 s", "mail in doubt: 1"]
    assert task_worker() == ["skipped"]
    assert mailoutbox == []
    assert notifications.delivery_state(OutgoingEmail.objects.get()).startswith("in doubt")


def test_a_task_whose_worker_is_alive_is_left_alone_however_long_it_runs(
    customer, operator, mailoutbox, task_worker
):
    fulfilled_order(customer, operator)
    OutgoingEmail.objects.update(attempts=1, next_attempt_at=timezone.now() + timedelta(hours=1))
    left_running(notifications.deliver_email, worker_id="busy-worker", minutes=60)
    now = timezone.now()
    TaskWorker.objects.create(
        worker_id="busy-worker", hostname="h", pid=1, started_at=now, seen_at=now
    )

    assert requeue_stale_tasks()[0] == "0 re-queued, 0 failed"

    TaskWorker.objects.update(seen_at=now - timedelta(minutes=3))  # it stopped saying so
    assert requeue_stale_tasks()[-3] == "1 re-queued, 0 failed"
    assert task_worker() == ["sent"]
    assert len(mailoutbox) == 1


def test_a_refund_whose_worker_died_is_asked_again_at_once_and_made_once(
    order,  # noqa: F811
    operator,
    fake_stripe,  # noqa: F811
    task_worker,
):
    cancel(order, operator)
    left_running(submit_refund, minutes=3)

    assert requeue_stale_tasks()[-3] == "1 re-queued, 0 failed"
    # Not after reconcile_payments' 30 minutes; the mails: the cancellation and the refund.
    assert sorted(task_worker()) == ["sent", "sent", "succeeded"]

    [request] = fake_stripe.refund_requests()
    [refund] = Refund.objects.all()
    assert request["headers"]["Idempotency-Key"] == refund.idempotency_key
    assert refund.state == "succeeded"


def test_a_refund_whose_worker_died_after_stripe_answered_is_not_made_twice(
    order,  # noqa: F811
    operator,
    fake_stripe,  # noqa: F811
    task_worker,
):
    cancel(order, operator)
    task_worker()
    # The worker was killed between Stripe's answer and recording it.
    Refund.objects.update(state="pending", stripe_refund_id=None, stripe_status="")
    DBTaskResult.objects.filter(task_path=submit_refund.module_path).update(
        status="RUNNING",
        started_at=timezone.now() - timedelta(minutes=3),
        worker_ids=[DEAD],
        finished_at=None,
    )

    assert requeue_stale_tasks()[-3] == "1 re-queued, 0 failed"
    task_worker()

    assert list(fake_stripe.refunds) == ["re_fake0001"]  # one refund at Stripe
    assert Refund.objects.get().state == "succeeded"


def test_a_task_that_may_not_run_again_is_failed_with_the_reason(mailoutbox, task_worker):
    send_password_reset.enqueue(
        email="customer@example.com",
        domain="shop.example.com",
        use_https=True,
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.html",
        html_email_template_name=None,
        from_email=None,
        extra_email_context=None,
    )
    task = left_running(send_password_reset, minutes=3)

    report = requeue_stale_tasks()

    assert report[-3] == "0 re-queued, 1 failed"
    assert "the reset mail may already have left" in report[0]
    task.refresh_from_db()
    assert task.status == "FAILED"
    assert task.exception_class_path == "ops.task_recovery.WorkerLost"
    assert f"Worker {DEAD} is gone mid-task" in task.traceback
    assert task_worker() == []
    assert mailoutbox == []


def test_a_ticket_batch_whose_worker_died_is_built_again(
    big_batch,  # noqa: F811
    ops_client,
    task_worker,
):
    _, batch, _ = big_batch
    TicketBatch.objects.filter(pk=batch.pk).update(
        state=TicketBatch.State.RUNNING, started_at=timezone.now(), done=2
    )
    left_running(build_ticket_batch, minutes=3)

    assert requeue_stale_tasks()[-3] == "1 re-queued, 0 failed"
    assert status(ops_client, batch)["state"] == "queued"
    assert task_worker() == ["ready"]
    assert status(ops_client, batch)["state"] == "ready"


def test_the_report_says_how_long_the_oldest_due_task_has_waited(customer, operator):
    fulfilled_order(customer, operator)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=5))

    waited = requeue_stale_tasks()[-2]

    assert re.fullmatch(r"oldest ready task: 30\d s", waited)


def run_task_worker(monkeypatch, worker_id: str) -> str:
    """`manage.py task_worker --batch --worker-id ...` in this test's transaction."""
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    out = StringIO()
    try:
        call_command(
            "task_worker",
            batch=True,
            reload=False,
            startup_delay=False,
            interval=0,
            verbosity=0,
            worker_id=worker_id,
            stdout=out,
        )
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return out.getvalue()


def test_a_worker_started_again_under_its_id_recovers_its_task_at_once(
    customer, operator, mailoutbox, monkeypatch
):
    fulfilled_order(customer, operator)
    OutgoingEmail.objects.update(
        attempts=1, next_attempt_at=timezone.now() + notifications.CLAIM_LEASE
    )
    task = left_running(notifications.deliver_email, worker_id="printshop-1", minutes=0)

    said = run_task_worker(monkeypatch, "printshop-1")

    assert f"{task.pk} production.notifications.deliver_email: requeued" in said
    assert [m.to for m in mailoutbox] == [[customer.email]]
    task.refresh_from_db()
    assert (task.status, task.return_value) == ("SUCCESSFUL", "sent")
    assert task.worker_ids == ["printshop-1", "printshop-1"]
    assert not TaskWorker.objects.exists()  # it stopped cleanly: nothing left to recover
