"""Job tickets on the dashboard: print one order's ticket, print the list's selection or filter,
follow a large batch and download it. Thin views over `ops.tickets`."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from ops.forms import TicketPrintForm
from ops.models import TicketBatch
from ops.selectors import list_url, matching_up_to
from ops.tickets import (
    PrintedTickets,
    TicketsRefused,
    expire_batch,
    is_stale,
    print_tickets,
)
from ops.views.orders import OperatorRequiredMixin, back_to_list
from payments.services import site_base_url
from production.models import ProductionOrder


def _answer(request: HttpRequest, printed: PrintedTickets) -> HttpResponse:
    """The PDF itself, or the queued batch's status page."""
    if printed.batch is not None:
        messages.info(
            request,
            f"Job tickets for {printed.count:,} orders are being built; "
            "this page shows their progress.",
        )
        return HttpResponseRedirect(reverse("ops:ticket-batch", args=[printed.batch.pk]))
    response = HttpResponse(printed.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{printed.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


class OrderTicketView(OperatorRequiredMixin, View):
    """The order page's "Print job ticket": its PDF, as a download. A POST, since printing is
    recorded on the order."""

    def post(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        if not ProductionOrder.objects.filter(pk=order_id).exists():
            raise Http404("No such order")
        try:
            printed = print_tickets(
                order_ids=[order_id], actor=request.user, base_url=site_base_url(request)
            )
        except TicketsRefused as refusal:
            messages.error(request, str(refusal))
            return HttpResponseRedirect(reverse("ops:order-detail", args=[order_id]))
        return _answer(request, printed)


class TicketPrintView(OperatorRequiredMixin, View):
    """The list's "Print job tickets": the selected orders, or every order the filters match, up
    to TICKET_BATCH_LIMIT (more: refused, naming the limit, nothing printed)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TicketPrintForm(request.POST)
        if not form.is_valid():
            return back_to_list(request, form, "Choose what to print.")
        data = form.cleaned_data
        filters = data["filter_query"]
        try:
            if data["scope"] == "selected":
                ids = data["ids"]
            else:
                limit = settings.TICKET_BATCH_LIMIT
                matching, count = matching_up_to(filters, limit)
                if count > limit:
                    raise TicketsRefused(
                        f"More than {limit:,} orders match: job tickets are printed at most "
                        f"{limit:,} at a time (TICKET_BATCH_LIMIT). Narrow the filter first; "
                        "nothing was printed."
                    )
                ids = list(matching.values_list("pk", flat=True)[: limit + 1])
            printed = print_tickets(
                order_ids=ids, actor=request.user, base_url=site_base_url(request)
            )
        except TicketsRefused as refusal:
            messages.error(request, str(refusal))
            return HttpResponseRedirect(list_url(filters))
        return _answer(request, printed)


class TicketBatchView(OperatorRequiredMixin, View):
    """A batch's progress: a page that follows it (static/js/ticket_batch.js polls this view's
    JSON, `?format=json`), and the download link once it is ready."""

    def get(self, request: HttpRequest, batch_id: UUID) -> HttpResponse:
        batch = TicketBatch.objects.filter(pk=batch_id).first()
        if batch is None:
            raise Http404("No such batch")
        if is_stale(batch):
            expire_batch(batch)
        download = (
            reverse("ops:ticket-batch-download", args=[batch.pk])
            if batch.state == TicketBatch.State.READY
            else ""
        )
        if request.GET.get("format") == "json":
            return JsonResponse(
                {
                    "state": batch.state,
                    "stateLabel": batch.get_state_display(),
                    "done": batch.done,
                    "total": batch.total,
                    "percent": batch.percent,
                    "finished": batch.finished,
                    "downloadUrl": download,
                    "error": batch.error,
                }
            )
        return render(
            request,
            "ops/ticket_batch.html",
            {
                "batch": batch,
                "download_url": download,
                "keep_hours": settings.TICKET_BATCH_KEEP_HOURS,
            },
        )


class TicketBatchDownloadView(OperatorRequiredMixin, View):
    """The batch's PDF, to operators only (never served from MEDIA_URL)."""

    def get(self, request: HttpRequest, batch_id: UUID) -> FileResponse:
        batch = TicketBatch.objects.filter(pk=batch_id, state=TicketBatch.State.READY).first()
        if batch is None or not batch.file:
            raise Http404("No such ticket file")
        if is_stale(batch):
            expire_batch(batch)
            raise Http404("This ticket file has expired")
        try:
            handle = batch.file.open("rb")
        except FileNotFoundError:
            raise Http404("The ticket file is missing") from None
        stamp = batch.created_at.strftime("%Y%m%d-%H%M")
        response = FileResponse(
            handle,
            content_type="application/pdf",
            as_attachment=True,
            filename=f"job-tickets-{batch.total}-orders-{stamp}.pdf",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
