from django.core.management.base import BaseCommand

from production import notifications


class Command(BaseCommand):
    help = (
        "Send the customer e-mails whose earlier attempt failed and whose retry time has come. "
        "Run it every minute (cron, a systemd timer); a run that finds nothing does nothing."
    )

    def handle(self, *args, **options) -> None:
        sent, failed = notifications.send_due()
        self.stdout.write(f"{sent} sent, {failed} failed (kept for a later try)")
