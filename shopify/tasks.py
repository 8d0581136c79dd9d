"""The store app's work on the task queue (django-tasks, database backend)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from shopify import services
from shopify.client import ShopifyError

MAX_DELIVERY_ATTEMPTS = 8


@task()
def process_webhook(delivery_id: int, attempt: int = 1) -> str:
    """Act on one recorded webhook delivery (once: its row says when it was processed). A store
    that cannot be reached (a product webhook reads the product) is tried again later, with
    backoff; the delivery stays queued meanwhile, never lost."""
    try:
        return services.process_delivery(delivery_id)
    except ShopifyError as exc:
        if not exc.retryable or attempt >= MAX_DELIVERY_ATTEMPTS:
            services.give_up_delivery(delivery_id, str(exc))
            return "failed"
        delay = settings.SHOPIFY_RETRY_DELAY * 2 ** (attempt - 1)
        process_webhook.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
            delivery_id, attempt + 1
        )
        return "retrying"


@task()
def push_fulfilment(push_id: int) -> str:
    """Send one store order's parcel to the store as a fulfilment (retried with backoff)."""
    return services.push_fulfilment(push_id)
