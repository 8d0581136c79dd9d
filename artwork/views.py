"""The artwork app's surfaces: an order's mockups and its semi-transparency picture (the order's
owner and operators only), the customer's acknowledgement of warnings and new design, the
operator's acceptance of a fail, and the read-only API check of a design for a garment's
placement (no order made). Each is one call of a service or of the check."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from artwork import mockups
from artwork.models import PreflightReport
from artwork.preflight import PrintArea, check_url
from artwork.templatetags.artwork import report_context
from production.accounts.access import can_view_order, is_operator
from production.exceptions import OrderError
from production.models import Garment, GarmentColor, OrderDesign, Placement, ProductionOrder
from production.services.artwork import (
    acknowledge_artwork_warnings,
    override_artwork_fail,
    replace_design,
)

IMAGE_CACHE_SECONDS = 300


def _order_for(request: HttpRequest, order_id: UUID) -> ProductionOrder:
    order = get_object_or_404(ProductionOrder.objects.select_related("garment"), pk=order_id)
    if not can_view_order(request.user, order):
        raise PermissionDenied
    return order


def _image(data: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, private=True, max_age=IMAGE_CACHE_SECONDS)
    return response


@login_required
@require_GET
def order_mockup(
    request: HttpRequest, order_id: UUID, placement: str, color_id: int
) -> HttpResponse:
    """The order's design at `placement` on the garment in one of its colours (JPEG)."""
    order = _order_for(request, order_id)
    design = get_object_or_404(
        OrderDesign.objects.select_related("placement"), order=order, placement__code=placement
    )
    color = get_object_or_404(GarmentColor, pk=color_id, garment_id=order.garment_id)
    jpeg = mockups.cached_mockup(design.url, order.garment_id, color.hex, design.placement)
    if jpeg is None:
        place = design.placement
        result = check_url(
            design.url, PrintArea(place.name, float(place.width_in), float(place.height_in))
        )
        if result.preview is None:
            return _not_shown(result.checks[0].message)
        jpeg = mockups.draw_mockup(result.preview, color.hex, place)
        mockups.remember(design.url, order.garment_id, color.hex, place, jpeg)
    return _image(jpeg, "image/jpeg")


@login_required
@require_GET
def order_report(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """The artwork check section alone (HTML), for the live pages to swap in when the order's
    report changes; `?ops=1` for an operator's view of it."""
    order = _order_for(request, order_id)
    ops = request.GET.get("ops") == "1" and is_operator(request.user)
    response = render(request, "artwork/_preflight_report.html", report_context(order, ops=ops))
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_GET
def order_highlight(request: HttpRequest, order_id: UUID, placement: str) -> HttpResponse:
    """The picture marking the design's semi-transparent pixels (PNG)."""
    order = _order_for(request, order_id)
    report = get_object_or_404(PreflightReport, order=order, design__placement__code=placement)
    if not report.highlight:
        return _not_shown("No semi-transparent pixels to show.")
    return _image(bytes(report.highlight), "image/png")


def _not_shown(reason: str) -> HttpResponse:
    response = HttpResponseNotFound(reason, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def acknowledge(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """The customer: print the designs as they are, despite the warnings."""
    order = _order_for(request, order_id)
    if order.owner_id != request.user.pk:
        raise PermissionDenied
    try:
        acknowledge_artwork_warnings(order=order.pk, actor=request.user)
        messages.success(request, "Noted: the designs will be printed as they are.")
    except OrderError as error:
        messages.error(request, error.message)
    return redirect("order-detail", order_id=order.pk)


@login_required
@require_POST
def new_design(request: HttpRequest, order_id: UUID, placement: str) -> HttpResponse:
    """The customer replaces a draft's design at one placement; it is checked again."""
    order = _order_for(request, order_id)
    if order.owner_id != request.user.pk:
        raise PermissionDenied
    try:
        replace_design(
            order=order.pk, placement=placement, url=request.POST.get("url", ""), actor=request.user
        )
        messages.success(request, "New design saved: it is being checked.")
    except OrderError as error:
        messages.error(request, error.message)
    return redirect("order-detail", order_id=order.pk)


@login_required
@require_POST
def override(request: HttpRequest, order_id: UUID, placement: str) -> HttpResponse:
    """An operator accepts a design the check failed, with a reason."""
    if not is_operator(request.user):
        raise PermissionDenied
    order = get_object_or_404(ProductionOrder, pk=order_id)
    try:
        override_artwork_fail(
            order=order.pk,
            placement=placement,
            actor=request.user,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, "Design accepted despite the check.")
    except OrderError as error:
        messages.error(request, error.message)
    return redirect("ops:order-detail", order_id=order.pk)


# --- the order form: a check and a mockup before the order exists ---------------------------


def _form_target(request: HttpRequest) -> tuple[Garment, GarmentColor, Placement, str] | None:
    garment = Garment.objects.filter(
        shopify_gid=request.GET.get("garment", ""), is_active=True
    ).first()
    url = request.GET.get("url", "").strip()
    if garment is None or not url or len(url) > 2048:
        return None
    colors = GarmentColor.objects.filter(garment=garment)
    color = colors.filter(name__iexact=request.GET.get("color", "")).first()
    color = color or colors.filter(is_default=True).first()
    placement = Placement.objects.filter(
        garment=garment, code=request.GET.get("placement", "front")
    ).first()
    if color is None or placement is None:
        return None
    return garment, color, placement, url


@login_required
@require_GET
def form_preview(request: HttpRequest) -> JsonResponse:
    """The order form's artwork check of the design typed (front), and where its mockup is:
    `?garment=<gid>&color=<name>&placement=<code>&url=<design>`. Throttled per user like the
    API's check (PREFLIGHT_CHECK_RATE)."""
    throttle = PreflightCheckThrottle()
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]
        return JsonResponse({"ok": False, "message": "Too many checks: wait a minute."}, status=429)
    target = _form_target(request)
    if target is None:
        return JsonResponse({"ok": False, "message": "Choose a garment and enter the design link."})
    garment, color, placement, url = target
    area = PrintArea(placement.name, float(placement.width_in), float(placement.height_in))
    result = check_url(url, area)
    mockup = ""
    if result.preview is not None:
        jpeg = mockups.draw_mockup(result.preview, color.hex, placement)
        mockups.remember(url, garment.pk, color.hex, placement, jpeg)
        mockup = reverse("artwork:form-mockup") + "?" + request.GET.urlencode()
    return JsonResponse(
        {
            "ok": True,
            "verdict": result.verdict,
            "checks": result.checks_json(),
            "mockupUrl": mockup,
            "colorName": color.name,
        }
    )


@login_required
@require_GET
def form_mockup(request: HttpRequest) -> HttpResponse:
    """The mockup `form_preview` drew (from the cache only: nothing is fetched here)."""
    target = _form_target(request)
    if target is None:
        return _not_shown("Nothing to show.")
    garment, color, placement, url = target
    jpeg = mockups.cached_mockup(url, garment.pk, color.hex, placement)
    if jpeg is None:
        return _not_shown("Check the design again to see its mockup.")
    return _image(jpeg, "image/jpeg")


# --- the API: check a design without an order -----------------------------------------------


class PreflightCheckThrottle(UserRateThrottle):
    """Checks per user (PREFLIGHT_CHECK_RATE): each one fetches and decodes a file."""

    scope = "artwork-check"

    def get_rate(self) -> str:
        return settings.PREFLIGHT_CHECK_RATE


class CheckInput(serializers.Serializer):
    garmentId = serializers.CharField(max_length=100, help_text="The garment's Shopify GID.")
    placement = serializers.CharField(max_length=20, default="front")
    designUrl = serializers.URLField(max_length=2048)


class CheckOutput(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["pass", "warning", "fail"])
    placement = serializers.CharField()
    printArea = serializers.DictField(child=serializers.FloatField())
    checks = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))


class PreflightCheckView(APIView):
    throttle_classes = [PreflightCheckThrottle]

    @extend_schema(
        operation_id="checkDesign",
        request=CheckInput,
        responses={
            200: CheckOutput,
            400: OpenApiResponse(description="Unknown garment or placement, or a bad URL"),
            429: OpenApiResponse(description="Too many checks"),
        },
    )
    def post(self, request: Request) -> Response:
        """Check a design for a garment's placement as an order would (nothing is saved)."""
        data = CheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        garment = Garment.objects.filter(shopify_gid=fields["garmentId"], is_active=True).first()
        if garment is None:
            return Response({"error": "No active garment with that id."}, status=400)
        place = Placement.objects.filter(garment=garment, code=fields["placement"]).first()
        if place is None:
            return Response({"error": "The garment has no such placement."}, status=400)
        area = PrintArea(place.name, float(place.width_in), float(place.height_in))
        result = check_url(fields["designUrl"], area)
        body = {
            "verdict": result.verdict,
            "placement": place.code,
            "printArea": {"widthIn": area.width_in, "heightIn": area.height_in},
            "checks": result.checks_json(),
        }
        return Response(body, status=status.HTTP_200_OK)
