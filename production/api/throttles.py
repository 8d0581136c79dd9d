"""The order-creation rate (ORDER_CREATE_RATE per user), one counter for every surface.

DRF's throttle keeps its history in the cache under the user's id; the API applies it as a DRF
throttle class, the order form through `order_creation_wait`, so 30 creations a minute means 30
across the API and the form together.
"""

from __future__ import annotations

import math

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView


class OrderCreateThrottle(UserRateThrottle):
    """Order creation per user (ORDER_CREATE_RATE); reads are not throttled."""

    scope = "order-create"

    def allow_request(self, request: Request | HttpRequest, view: APIView | None) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


def order_creation_wait(request: HttpRequest) -> int | None:
    """Count one order creation for `request.user`: None if allowed, else seconds to wait."""
    throttle = OrderCreateThrottle()
    if throttle.allow_request(request, None):
        return None
    return max(1, math.ceil(throttle.wait() or 1))
