"""An operator's cancel: the form says the reason goes to the customer, and it does, in the
cancellation mail with the refund."""

import pytest

from production.lifecycle import OrderState
from production.models import OutgoingEmail
from tests.payments.refund_support import paid_order

pytestmark = pytest.mark.django_db


def test_the_cancel_reason_is_asked_for_the_customer_and_mailed_to_them(
    ops_client, customer, settings
):
    settings.SITE_URL = "https://shop.example.com"
    order = paid_order(owner=customer, state=OrderState.APPROVED)
    url = f"/ops/orders/{order.id}/actions"

    confirm = ops_client.post(url, {"action": "status", "value": "canceled"}).content.decode()
    assert "The customer reads this word for word in the cancellation e-mail" in confirm

    ops_client.post(
        url,
        {
            "action": "status",
            "value": "canceled",
            "confirmed": "1",
            "body": "We cannot print this design at the size you chose.",
        },
    )

    [mail] = OutgoingEmail.objects.filter(order=order, kind="order_canceled")
    assert mail.to == customer.email
    assert "Why: We cannot print this design at the size you chose." in mail.body
    assert "Your refund: $90.00 goes back to the card you paid with" in mail.body
