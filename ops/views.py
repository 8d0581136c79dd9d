"""The ops dashboard: thin views over the ops selectors, the shared FilterSet and the services."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import UserPassesTestMixin
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from ops import exports
from ops.forms import BULK_CHOICES, BulkUpdateForm, OrderActionForm, filter_params
from ops.paging import paginate
from ops.selectors import export_queryset, get_ops_order, order_list_queryset, status_counts
from ops.services import BULK_FIELDS, BulkResult, bulk_update_orders
from production import services
from production.access import is_operator
from production.exceptions import OrderError
from production.filters import OrderFilter, order_by_sort
from production.lifecycle import (
    RULES,
    STEP_LABELS,
    Actor,
    EventSource,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    eta_days,
    move_to,
    next_step,
    proof_refusal,
)
from production.models import ProductionOrder
from production.proofs import proof_history
from production.sorting import SORTS

PAGE_SIZE = 20
MAX_LISTED_FAILURES = 50


class OperatorRequiredMixin(UserPassesTestMixin):
    """The spec's requireOperatorAccess: anonymous users log in, other users get a 403 page."""

    def test_func(self) -> bool:
        return is_operator(self.request.user)


def list_url(filters: QueryDict, **extra: str) -> str:
    query = filters.copy()
    for name, value in extra.items():
        query[name] = value
    encoded = query.urlencode()
    return reverse("ops:order-list") + (f"?{encoded}" if encoded else "")


def bulk_limit() -> int:
    return settings.OPS_BULK_LIMIT


def count_cap() -> int:
    return settings.OPS_COUNT_CAP


def matching_orders(
    filters: QueryDict, *, queryset: QuerySet[ProductionOrder] | None = None
) -> QuerySet[ProductionOrder]:
    """Every order the list's filters match, unordered (for counting and "all matching")."""
    unsorted = filters.copy()
    unsorted.pop("sort", None)
    if queryset is None:
        queryset = ProductionOrder.objects.all()
    return OrderFilter(unsorted, queryset=queryset).qs


class OrderListView(OperatorRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        filters = filter_params(request.GET)
        filterset = OrderFilter(filters)
        filterset.is_valid()  # invalid values are ignored by the filters and shown on the form
        sort_key = filterset.sort_key
        selected = filterset.form.cleaned_data.get("status") or []

        # Everything but the state filter, built once (a search looks its customers up once):
        # the tab counts come from it (each tab says what clicking it would show), the rows from
        # it narrowed to the selected states, and the total is the sum of their counts.
        other_filters = filters.copy()
        other_filters.pop("status", None)
        matching = matching_orders(other_filters, queryset=order_list_queryset())
        counts = status_counts(matching, cap=count_cap())
        orders = matching.filter(status__in=selected) if selected else matching
        orders = order_by_sort(orders, sort_key)
        total = counts.total(selected)
        page = paginate(orders, sort_key=sort_key, params=request.GET, size=PAGE_SIZE, total=total)

        tabs = [
            {
                "label": "All",
                "value": "",
                "count": counts.label_total(),
                "url": list_url(other_filters),
                "active": not selected,
            }
        ]
        for state in OrderState:
            only = other_filters.copy()
            only.setlist("status", [state.value])
            tabs.append(
                {
                    "label": state.label,
                    "value": state.value,
                    "count": counts.label(state.value),
                    "url": list_url(only),
                    "active": selected == [state.value],
                }
            )
        links = {
            "first": list_url(filters) if page.has_previous else None,
            "previous": list_url(filters, before=page.first_cursor, page=str(page.number - 1))
            if page.has_previous and page.first_cursor
            else None,
            "next": list_url(filters, after=page.last_cursor, page=str(page.number + 1))
            if page.has_next
            else None,
            "last": list_url(filters, last="1") if page.has_next else None,
        }
        return render(
            request,
            "ops/order_list.html",
            {
                "filterset": filterset,
                "filters": filters,
                "query": filters.urlencode(),
                "page": page,
                "orders": page.rows,
                "rows": list_rows(page.rows),
                "total": total,
                "total_label": f"{total:,}" if total is not None else f"{count_cap():,}+",
                "can_apply_to_all": total is not None and 0 < total <= bulk_limit(),
                "selected_states": selected,
                "tabs": tabs,
                "links": links,
                "export_url": reverse("ops:order-export")
                + (f"?{filters.urlencode()}" if filters else ""),
                "sorts": [(key, sort.label) for key, sort in SORTS.items()],
                "sort_key": sort_key,
                "bulk_choices": BULK_CHOICES,
                "bulk_limit": bulk_limit(),
                "states": OrderState.choices,
                "production_statuses": ProductionStatus.choices,
                "priorities": Priority.choices,
                "labels": {
                    "status": dict(OrderState.choices),
                    "priority": {str(label): str(label) for label in Priority.labels},
                },
            },
        )


@dataclass(frozen=True)
class Row:
    """One list row, formatted once in Python: the template engine is the slow part of a page."""

    id: str
    reference: str
    url: str
    customer_name: str
    email: str
    garment: str
    quantity: int
    status: str
    status_label: str
    production_status: str
    priority: str
    created_iso: str
    created: str
    eta: str


def list_rows(orders: list[ProductionOrder]) -> list[Row]:
    detail = reverse("ops:order-detail", args=[_PLACEHOLDER]).replace(str(_PLACEHOLDER), "{}")
    today = timezone.localdate()
    rows = []
    for order in orders:
        created = timezone.localtime(order.created_at)
        eta = eta_days(
            status=order.status, priority=order.priority, due_date=order.due_date, today=today
        )
        rows.append(
            Row(
                id=str(order.id),
                reference=order.reference,
                url=detail.format(order.id),
                customer_name=f"{order.owner.first_name} {order.owner.last_name}".strip(),
                email=order.owner.email,
                garment=order.garment.name,
                quantity=order.total_quantity,
                status=order.status,
                status_label=order.get_status_display(),
                production_status=order.production_status,
                priority=order.priority,
                created_iso=created.isoformat(),
                created=created.strftime("%Y-%m-%d %H:%M"),
                eta="—" if order.is_final else f"{eta} d",
            )
        )
    return rows


_PLACEHOLDER = UUID(int=0)


class BulkUpdateView(OperatorRequiredMixin, View):
    """Apply one change to the selected orders, or to every order the filter matches."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BulkUpdateForm(request.POST)
        if not form.is_valid():
            for error in form.errors.get("__all__", []) or ["Choose a change to apply."]:
                messages.error(request, error)
            return redirect(list_url(filter_params(QueryDict(request.POST.get("filters", "")))))
        data = form.cleaned_data
        filters = data["filter_query"]
        if data["scope"] == "selected":
            ids = data["ids"]
        else:
            matching = matching_orders(filters)
            # Counting stops just past the limit: an over-broad filter is refused cheaply.
            count = matching.order_by()[: bulk_limit() + 1].count()
            if count > bulk_limit():
                messages.error(
                    request,
                    f"More than {bulk_limit():,} orders match: bulk changes are limited to "
                    f"{bulk_limit():,} at a time. Narrow the filter first.",
                )
                return redirect(list_url(filters))
            if not data.get("confirmed") or data.get("expected") != count:
                return render(
                    request,
                    "ops/bulk_confirm.html",
                    {
                        "count": count,
                        "changed_count": data.get("confirmed") and data.get("expected") != count,
                        "expected": data.get("expected"),
                        "change": data["change"],
                        "change_label": _change_label(data["change"]),
                        "filters": filters.urlencode(),
                        "filter_summary": _filter_summary(filters),
                        "back": list_url(filters),
                    },
                )
            ids = list(matching.values_list("pk", flat=True))
        result = bulk_update_orders(
            order_ids=ids, actor=request.user, field_name=data["field_name"], value=data["value"]
        )
        _report(request, result, _change_label(data["change"]))
        return redirect(list_url(filters))


def _change_label(change: str) -> str:
    for group, options in BULK_CHOICES:
        for value, label in options:
            if value == change:
                return f"{group.lower()} → {label}"
    return change


def _filter_summary(filters: QueryDict) -> str:
    parts = [f"{name} = {', '.join(filters.getlist(name))}" for name in filters if name != "sort"]
    return "; ".join(parts) or "no filter (every order)"


def _report(request: HttpRequest, result: BulkResult, change: str) -> None:
    """The outcome, shown once on the page the redirect lands on."""
    if result.changed:
        n = len(result.changed)
        messages.success(request, f"Updated {n} order{'s' if n != 1 else ''}: {change}.")
    if result.unchanged:
        n = len(result.unchanged)
        messages.info(
            request,
            f"{n} order{'s' if n != 1 else ''} already had that value: "
            + ", ".join(result.unchanged[:MAX_LISTED_FAILURES])
            + (" …" if n > MAX_LISTED_FAILURES else ""),
        )
    if result.skipped:
        n = len(result.skipped)
        messages.error(request, f"Skipped {n} order{'s' if n != 1 else ''}:")
        for reason in result.skipped[:MAX_LISTED_FAILURES]:
            messages.error(request, reason)
        if n > MAX_LISTED_FAILURES:
            messages.error(request, f"… and {n - MAX_LISTED_FAILURES} more.")
    if not (result.changed or result.unchanged or result.skipped):
        messages.info(request, "No orders were changed.")


class OrderDetailView(OperatorRequiredMixin, View):
    def get(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        order = get_ops_order(order_id=order_id)
        if order is None:
            raise Http404("No such order")
        facts = OrderFacts.of(order)
        moves = [
            {
                "value": move.to.value,
                "label": move.label,
                "refusal": move.guard(facts) if move.guard else None,
                "final": move.final,
            }
            for move in RULES[facts.status]
            if Actor.OPERATOR in move.actors
        ]
        # The way forward is the prominent button; canceling stays secondary.
        forward = next((m for m in moves if m["value"] != OrderState.CANCELED), None)
        step = next_step(facts)
        proofs = list(proof_history(order_id=order.pk))
        return render(
            request,
            "ops/order_detail.html",
            {
                "order": order,
                "transitions": moves,
                "forward": forward,
                "next_step": step,
                "next_step_label": STEP_LABELS.get(step, ""),
                "priorities": Priority.choices,
                "held": order.priority == Priority.HOLD,
                "proofs": proofs,
                "proof_refusal": proof_refusal(facts, actor=Actor.OPERATOR),
                "waiting_proof": next(
                    (p for p in proofs if p.revision == facts.proof_waiting), None
                ),
                "proof_max_bytes": settings.PROOF_MAX_BYTES,
            },
        )


class OrderActionView(OperatorRequiredMixin, View):
    def post(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        order = (
            ProductionOrder.objects.filter(pk=order_id)
            .only(
                "id",
                "reference",
                "status",
                "production_status",
                "priority",
                "waiting_proof_revision",
            )
            .first()
        )
        if order is None:
            raise Http404("No such order")
        back = reverse("ops:order-detail", args=[order.pk])
        form = OrderActionForm(request.POST)
        if not form.is_valid():
            for error in form.errors.get("__all__", []) or ["That action is not available."]:
                messages.error(request, error)
            return HttpResponseRedirect(back)
        action, value, body = (form.cleaned_data[k] for k in ("action", "value", "body"))
        try:
            if action == "note":
                services.add_order_note(order=order.pk, author=request.user, body=body)
                messages.success(request, "Internal note added.")
            elif action == "message":
                services.add_customer_message(
                    order=order.pk, author=request.user, body=body, source=EventSource.OPERATOR
                )
                messages.success(request, "Message posted to the customer's timeline.")
            else:
                attribute, choices = BULK_FIELDS[action]
                move = move_to(order.status, value) if action == "status" else None
                if move is not None and move.final and not form.cleaned_data["confirmed"]:
                    # Cannot be undone: ask first (a page, so it works without JavaScript).
                    context = {
                        "order": order,
                        "move": move,
                        "needs_reason": bool(
                            move.needs_reason and move.needs_reason(OrderFacts.of(order))
                        ),
                    }
                    return render(request, "ops/confirm_action.html", context)
                services.update_order(
                    order=order.pk,
                    actor=request.user,
                    source=EventSource.OPERATOR,
                    note=body if action == "status" else "",
                    **{attribute: choices(value)},
                )
                messages.success(request, f"{order.reference}: {choices(value).label}.")
        except OrderError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(back)


class OrderExportView(OperatorRequiredMixin, View):
    """The filtered list as CSV, streamed so a shop's whole history never sits in memory."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        filters = filter_params(request.GET)
        filterset = OrderFilter(filters, queryset=export_queryset())
        filterset.is_valid()
        orders = order_by_sort(filterset.qs, filterset.sort_key)
        response = StreamingHttpResponse(
            exports.csv_lines(orders), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="orders.csv"'
        return response
