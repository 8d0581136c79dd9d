"""The spec's production API: thin views over the selectors and services."""

from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from production import broadcasts
from production.accounts.access import IsOperator, can_view_order
from production.api.serializers import (
    CheckoutOutput,
    CreateOrderInput,
    ErrorOutput,
    OrderEnvelope,
    OrderListOutput,
    UpdateOrderInput,
)
from production.api.throttles import OrderCreateThrottle
from production.filters import OrderFilter
from production.lifecycle import EventSource
from production.models import ProductionOrder
from production.order_json import order_summary_json, preflight_json
from production.order_reads import CachedOrder
from production.plumbing.db_retry import rerun_safe
from production.pricing import SizeQuantity
from production.selectors import (
    existing_order_id,
    get_cached_order,
    get_order_json,
    orders_visible_to,
)
from production.services.catalogue import PlacementDesign
from production.services.orders import place_order, update_order

ERRORS = {
    400: OpenApiResponse(ErrorOutput, description="Invalid request"),
    401: OpenApiResponse(ErrorOutput, description="Unauthorized"),
    403: OpenApiResponse(ErrorOutput, description="Forbidden"),
    404: OpenApiResponse(ErrorOutput, description="Order not found"),
}


class OrderPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "pageSize"
    max_page_size = 100

    def get_paginated_response(self, data: list) -> Response:
        return Response(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "orders": data,
            }
        )


# A creation cut off after its draft was committed runs again: with an Idempotency-Key it finds
# that draft; without one it leaves an unpaid draft, as the client's own retry would.
@rerun_safe
class OrderCollectionView(APIView):
    throttle_classes = [OrderCreateThrottle]

    @extend_schema(
        operation_id="listOrders",
        parameters=[
            OpenApiParameter("status", str, many=True),
            OpenApiParameter("productionStatus", str, many=True),
            OpenApiParameter("priority", str, many=True),
            OpenApiParameter(
                "proofWaiting", bool, description="true: a proof awaits the customer's answer"
            ),
            OpenApiParameter("createdFrom", str, description="YYYY-MM-DD"),
            OpenApiParameter("createdTo", str, description="YYYY-MM-DD, inclusive"),
            OpenApiParameter("page", int),
            OpenApiParameter("pageSize", int),
        ],
        responses={200: OrderListOutput, **{k: ERRORS[k] for k in (400, 401)}},
    )
    def get(self, request: Request) -> Response:
        """The caller's orders, newest first (operators: every order)."""
        filterset = OrderFilter(request.query_params, queryset=orders_visible_to(request.user))
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        paginator = OrderPagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response([order_summary_json(order) for order in page])

    @extend_schema(
        operation_id="createOrder",
        request=CreateOrderInput,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={
            201: CheckoutOutput,
            409: OpenApiResponse(ErrorOutput, description="Idempotency-Key reused"),
            429: OpenApiResponse(ErrorOutput, description="Too many requests"),
            500: OpenApiResponse(ErrorOutput, description="Internal error"),
            **{k: ERRORS[k] for k in (400, 401)},
        },
    )
    def post(self, request: Request) -> Response:
        """Create a draft order and start its checkout; payment submits it."""
        data = CreateOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key is not None and len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        fields = data.validated_data
        placed = place_order(
            owner=request.user,
            garment_gid=fields["garmentId"],
            design_url=fields["designUrl"],
            sizes=[SizeQuantity(s["size"], s["quantity"], s.get("color")) for s in fields["sizes"]],
            priority=fields["priority"],
            notes=fields["notes"],
            prompt=fields["prompt"],
            idempotency_key=key,
            request=request,
            designs=[PlacementDesign(d["placement"], d["url"]) for d in fields["designs"]],
            delivery=fields.get("delivery"),
            shipping=fields.get("shipping"),
        )
        body = {
            "checkoutUrl": placed.checkout_url,
            "orderId": str(placed.order.id),
            "reference": placed.order.reference,
            # The check is queued, never waited for: a running one holds the payment briefly
            # (preflight.refusal, holdUntil), and checkoutUrl is then the order's page.
            "preflight": preflight_json(placed.order),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    def get_permissions(self) -> list:
        if self.request.method == "PATCH":
            return [IsAuthenticated(), IsOperator()]
        return [IsAuthenticated()]

    def get_order(self, order_id: str) -> CachedOrder:
        found = get_cached_order(order_id=order_id, request=self.request)
        if found is None:
            raise exceptions.NotFound()
        if not can_view_order(self.request.user, found):
            raise exceptions.PermissionDenied("Not your order.")
        return found

    @extend_schema(operation_id="getOrder", responses={200: OrderEnvelope, **ERRORS})
    def get(self, request: Request, order_id: str) -> HttpResponse:
        """One order with its garment, line items and fulfillment events (oldest first)."""
        cached = self.get_order(order_id)
        if request.accepted_media_type == JSONRenderer.media_type:
            # Plain JSON (no `indent`, not the browsable API): the body encoded once per version.
            return HttpResponse(cached.body, content_type=JSONRenderer.media_type)
        return Response({"order": cached.payload})

    @extend_schema(
        operation_id="updateOrder",
        request=UpdateOrderInput,
        responses={200: OrderEnvelope, **ERRORS},
    )
    def patch(self, request: Request, order_id: str) -> Response:
        """Operators: change state, production status or priority; `notes` annotates the change."""
        # Operators may see every order (IsOperator): only whether it exists matters here, and
        # the service's locked read tells (no query of its own; a missing order is a 404 before
        # anything the body says).
        try:
            found = UUID(str(order_id))
        except ValueError:
            raise exceptions.NotFound() from None
        data = UpdateOrderInput(data=request.data)
        if not data.is_valid():
            if existing_order_id(order_id=found) is None:
                raise exceptions.NotFound()
            raise exceptions.ValidationError(data.errors)
        fields = data.validated_data
        # The live pages hear of the change once the answer is read: the read stores the order's
        # JSON under its new version, so each process with sockets takes it from the cache
        # instead of reading the order again (`frames.frames_for`).
        with broadcasts.held_until_done():
            try:
                update_order(
                    order=found,
                    actor=request.user,
                    source=EventSource.OPERATOR,
                    status=fields.get("status"),
                    production_status=fields.get("productionStatus"),
                    priority=fields.get("priority"),
                    note=fields.get("notes", ""),
                )
            except ProductionOrder.DoesNotExist:
                raise exceptions.NotFound() from None
            order = get_order_json(order_id=found)
        return Response({"order": order})
