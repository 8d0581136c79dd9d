"""The design on the operator's order page, fetched by the server through `ops.design_images`
(the job tickets' SSRF-safe, bounded fetch), never by the operator's browser: a design URL is the
customer's text, and an <img> pointing at it would tell the customer's server who on the staff
looked, and when (a tracking pixel), and from which address."""

from __future__ import annotations

from urllib.parse import urlsplit
from uuid import UUID

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views import View

from ops.design_images import (
    REFUSAL_CACHE_SECONDS,
    THUMBNAIL_CACHE_SECONDS,
    Refused,
    design_thumbnail,
    local_static_path,
)
from ops.views.orders import OperatorRequiredMixin
from production.models import OrderDesign, PlacementCode, ProductionOrder


class OrderDesignView(OperatorRequiredMixin, View):
    """The order's design at one placement (the front without one) as a small JPEG (the job
    ticket's thumbnail); a design among this site's own static files is redirected to there; a
    refused one is a 404 whose text says why."""

    def get(
        self, request: HttpRequest, order_id: UUID, placement: str = PlacementCode.FRONT
    ) -> HttpResponse:
        if placement == PlacementCode.FRONT:
            # The front design is the order's design_url (orders before placements have no row).
            order = get_object_or_404(ProductionOrder.objects.only("design_url"), pk=order_id)
            url = order.design_url
        else:
            url = get_object_or_404(
                OrderDesign.objects.only("url"), order_id=order_id, placement__code=placement
            ).url
        try:
            if local_static_path(url.strip()) is not None:
                # Our own file (the demo's SVG designs): the browser reads it from this site.
                response: HttpResponse = HttpResponseRedirect(urlsplit(url.strip()).path)
                patch_cache_control(response, private=True, max_age=THUMBNAIL_CACHE_SECONDS)
                return response
        except Refused as refusal:
            return _not_shown(request, str(refusal))
        thumbnail = design_thumbnail(url)
        if thumbnail.image is None:
            return _not_shown(request, thumbnail.reason)
        response = HttpResponse(thumbnail.image, content_type="image/jpeg")
        response["Content-Disposition"] = 'inline; filename="design.jpg"'
        response["X-Content-Type-Options"] = "nosniff"
        patch_cache_control(response, private=True, max_age=THUMBNAIL_CACHE_SECONDS)
        return response


def _not_shown(request: HttpRequest, reason: str) -> HttpResponse:
    """A 404 saying why; with `?placeholder=1` (the board's small thumbnails) the neutral "no
    preview" picture instead, so a card shows a box rather than a broken image."""
    if request.GET.get("placeholder") == "1":
        response: HttpResponse = HttpResponseRedirect(static("ops/no-design.svg"))
        patch_cache_control(response, private=True, max_age=REFUSAL_CACHE_SECONDS)
        return response
    response = HttpResponseNotFound(reason, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response
