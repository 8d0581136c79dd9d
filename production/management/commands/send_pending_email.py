from django.core.management.base import BaseCommand

from production import notifications


class Command(BaseCommand):
    help = (
        "Safety sweep for customer e-mails: queue a delivery for each mail whose time has come and "
        "that has no task waiting (lost with a killed worker, or older than the queue). It sends "
        "nothing itself; the task worker (db_worker) does. Run it every few minutes from cron."
    )

    def handle(self, *args, **options) -> None:
        queued, waiting = notifications.enqueue_due()
        self.stdout.write(f"{queued} queued, {waiting} already waiting in the queue")
