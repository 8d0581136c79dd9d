from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shopify import catalogue, client, demo


class Command(BaseCommand):
    help = (
        "Send a signed orders/paid webhook of the local store simulator's demo tee (DEBUG or "
        "SHOPIFY_SIMULATOR): "
        "to this site's handler (the task worker makes the order), or to --url."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", help="POST it to a running site's /shopify/webhooks/")
        parser.add_argument("--design", default="", help="the front design's URL")
        parser.add_argument(
            "--no-design", action="store_true", help="send it without a design (arrives on hold)"
        )

    def handle(self, *args: object, **options: object) -> None:
        if not demo.simulator_in_use():
            raise CommandError(
                "Only with the store simulator: DEBUG or SHOPIFY_SIMULATOR, and no store domain."
            )
        catalogue.sync_catalogue(client.get_client())  # the demo tee is in the catalogue
        base = (settings.SITE_URL or "http://127.0.0.1:8000").rstrip("/")
        design = (
            None
            if options["no_design"]
            else (options["design"] or f"{base}/static/demo/design-1.svg")
        )
        payload = demo.demo_paid_order(design)
        if options["url"]:
            status, body = demo.post(str(options["url"]), payload)
            self.stdout.write(f"{payload['name']}: HTTP {status} {body}")
            return
        received = demo.send(payload)
        self.stdout.write(
            f"Store order {payload['name']} delivered ({received.outcome}); the task worker "
            "makes its production order."
        )
