"""Delete the files of job-ticket batches older than TICKET_BATCH_KEEP_HOURS (run it from cron)."""

from django.core.management.base import BaseCommand

from ops.tickets import expire_old_batches


class Command(BaseCommand):
    help = "Delete job-ticket batch PDFs older than TICKET_BATCH_KEEP_HOURS."

    def handle(self, *args: object, **options: object) -> None:
        expired = expire_old_batches()
        self.stdout.write(f"Removed the files of {expired} job-ticket batch(es).")
