"""Payment workflows: starting a checkout (and, with the payments issue, the webhook's events)."""

from django.conf import settings
from django.http import HttpRequest

from payments.gateway import get_gateway
from production.models import ProductionOrder
from production.services import attach_checkout_session


def site_base_url(request: HttpRequest | None) -> str:
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/")
    if request is None:
        raise ValueError("SITE_URL is not set and there is no request to take the host from.")
    return request.build_absolute_uri("/").rstrip("/")


def start_checkout(*, order: ProductionOrder, request: HttpRequest | None = None) -> str:
    """The checkout URL of a draft, creating its Checkout Session on first call.

    The gateway is called outside any transaction; a gateway error leaves the draft as it was (no
    session), so a retry simply tries again.
    """
    if order.checkout_url and order.stripe_checkout_session_id:
        return order.checkout_url
    session = get_gateway().create_session(order=order, base_url=site_base_url(request))
    order = attach_checkout_session(order=order, session_id=session.id, checkout_url=session.url)
    return order.checkout_url
