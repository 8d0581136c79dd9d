"""The shop floor's pages: scan stations (`/ops/scan/`) and the production board (`/ops/board/`).

Thin: forms check what is posted, `ops.services` moves orders (through `production.services` and
the rulebook), `ops.board` reads. Each write answers a plain form with a redirect (works without
JavaScript) and the page's script with JSON (same service, same words).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from ops.board import (
    BoardFilters,
    customer_name,
    production_board,
    recent_scans,
)
from ops.floor import STAGES_BY_KEY, STATIONS, STATIONS_BY_KEY, Stage, stage_of
from ops.forms import BoardMoveForm, ScanForm
from ops.models import StationScan
from ops.services import move_to_stage, scan_at_station
from ops.views.orders import OperatorRequiredMixin
from production.lifecycle import OPEN_STATES, OrderFacts
from production.models import ProductionOrder


def _station(key: str) -> Stage:
    station = STATIONS_BY_KEY.get(key)
    if station is None:
        raise Http404("No such station")
    return station


def scan_json(scan: StationScan) -> dict:
    """A scan as the station page's script shows it (the banner and the list's row)."""
    order = scan.order
    stage = stage_of(OrderFacts.of(order)) if order is not None else None
    return {
        "id": scan.pk,
        "ok": scan.ok,
        "outcome": scan.outcome,
        "message": scan.message,
        "code": scan.code,
        "reference": order.reference if order else "",
        "customer": customer_name(order),
        "stage": stage.label if stage else (order.get_status_display() if order else ""),
        "orderUrl": reverse("ops:order-detail", args=[order.pk]) if order else "",
        "time": timezone.localtime(scan.scanned_at).strftime("%H:%M:%S"),
    }


class ScanStationsView(OperatorRequiredMixin, View):
    """Pick a station."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "ops/scan_stations.html", {"stations": STATIONS})


class ScanStationView(OperatorRequiredMixin, View):
    """One station: a field that keeps focus for the scanner, the last result, the last scans."""

    def get(self, request: HttpRequest, station: str) -> HttpResponse:
        stage = _station(station)
        scans = recent_scans(station=stage)
        shown = None
        scan_id = request.GET.get("scan", "")
        if scan_id.isdigit():
            shown = next((s for s in scans if s.pk == int(scan_id)), None)
            if shown is None:
                shown = (
                    StationScan.objects.select_related("order__owner")
                    .filter(pk=int(scan_id), station=stage.key)
                    .first()
                )
        return render(
            request,
            "ops/scan_station.html",
            {
                "station": stage,
                "stations": STATIONS,
                "scans": [scan_json(scan) for scan in scans],
                "shown": scan_json(shown) if shown else None,
            },
        )

    def post(self, request: HttpRequest, station: str) -> HttpResponse:
        stage = _station(station)
        form = ScanForm(request.POST)
        code = form.cleaned_data["code"] if form.is_valid() else ""
        scan = scan_at_station(station=stage, code=code, actor=request.user)
        url = reverse("ops:scan-station", args=[stage.key])
        return HttpResponseRedirect(f"{url}?scan={scan.pk}")


class ScanJsonView(OperatorRequiredMixin, View):
    """The station page's script posts each code here (CSRF token in the header)."""

    def post(self, request: HttpRequest, station: str) -> JsonResponse:
        stage = _station(station)
        form = ScanForm(request.POST)
        code = form.cleaned_data["code"] if form.is_valid() else ""
        scan = scan_at_station(station=stage, code=code, actor=request.user)
        return JsonResponse(scan_json(scan))


class BoardView(OperatorRequiredMixin, View):
    """The production board; `?fragment=1` gives just its columns (the live refresh)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        board = production_board(request.GET)
        context = {
            "board": board,
            "query": board.filters.query(),
            "open_states": " ".join(OPEN_STATES),  # the orders on the board, for its script
        }
        template = "ops/board_columns.html" if request.GET.get("fragment") else "ops/board.html"
        response = render(request, template, context)
        response.content = board.with_csrf_token(response.content, get_token(request))
        return response


class BoardMoveView(OperatorRequiredMixin, View):
    """Move a card: a plain form (the "Move to…" select) that redirects back to the board, or the
    board's script (drag and drop, the same select) asking for JSON."""

    def post(self, request: HttpRequest) -> HttpResponse:
        wants_json = "application/json" in request.headers.get("Accept", "")
        form = BoardMoveForm(request.POST)
        if not form.is_valid():
            message = "Choose an order and a stage to move it to."
            if wants_json:
                return JsonResponse({"ok": False, "message": message}, status=400)
            messages.error(request, message)
            return HttpResponseRedirect(reverse("ops:board"))
        filters = BoardFilters.from_query(_query(form.cleaned_data["filters"]))
        back = reverse("ops:board") + (f"?{filters.query()}" if filters.query() else "")
        order = (
            ProductionOrder.objects.select_related("owner", "garment")
            .filter(pk=form.cleaned_data["order"])
            .first()
        )
        if order is None:
            if wants_json:
                return JsonResponse({"ok": False, "message": "No such order."}, status=404)
            raise Http404("No such order")
        stage = STAGES_BY_KEY[form.cleaned_data["stage"]]
        result = move_to_stage(order=order, stage=stage, actor=request.user)
        if wants_json:
            return JsonResponse(
                {
                    "ok": result.ok,
                    "outcome": result.outcome,
                    "message": result.message,
                    "reference": order.reference,
                    "stage": stage.key,
                }
            )
        report = messages.success if result.ok else messages.error
        report(request, f"{order.reference}: {result.message}")
        return HttpResponseRedirect(back)


def _query(text: str) -> QueryDict:
    return QueryDict(text)
