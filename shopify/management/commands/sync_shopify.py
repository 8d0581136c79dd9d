from django.core.management.base import BaseCommand, CommandError

from shopify import catalogue, client, services


class Command(BaseCommand):
    help = (
        "Bring the store's products into the catalogue (garments, colour × size variants, "
        "prices, availability, images, placements); safe to run again. Store orders that waited "
        "for a variant are imported after."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            report = catalogue.sync_catalogue(client.get_client())
        except client.ShopifyError as exc:
            raise CommandError(str(exc)) from exc
        for label, names in (
            ("Added", report.added),
            ("Changed", report.changed),
            ("Retired", report.retired),
        ):
            for name in names:
                self.stdout.write(f"{label}: {name}")
        self.stdout.write(report.words())
        if moved := services.import_waiting():
            self.stdout.write(f"{moved} waiting store order(s) imported.")
