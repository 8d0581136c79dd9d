"""The store app's work on the task queue (django-tasks, database backend)."""

from django_tasks import task

from shopify import services


@task()
def process_webhook(delivery_id: int) -> str:
    """Act on one recorded webhook delivery (once: its row says when it was processed)."""
    return services.process_delivery(delivery_id)


@task()
def push_fulfilment(push_id: int) -> str:
    """Send one store order's parcel to the store as a fulfilment (retried with backoff)."""
    return services.push_fulfilment(push_id)
