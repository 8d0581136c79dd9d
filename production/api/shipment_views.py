"""The API's shipments endpoint: operators (and their scripts) record a parcel sent."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from production.accounts.access import IsOperator
from production.api.proof_views import ERRORS, order_for_request
from production.api.serializers import OrderEnvelope, ShipmentInput
from production.lifecycle import EventSource
from production.selectors import get_order_json
from production.services.shipping import ShipLine, record_shipment


class ShipmentCreateView(APIView):
    permission_classes = [IsAuthenticated, IsOperator]

    @extend_schema(
        operation_id="recordShipment",
        request=ShipmentInput,
        responses={201: OrderEnvelope, **ERRORS},
    )
    def post(self, request: Request, order_id: str) -> Response:
        """Operators: record a shipment of an order at production status Ready.

        `items` lists line items and quantities (omitted: everything not shipped yet). Shipping
        more than remains of a line is refused and nothing is recorded. The shipment that leaves
        nothing to ship moves the order to `fulfilled`. The customer is e-mailed the tracking
        link; the order's `shipments` and `shippedQuantity` show it."""
        order = order_for_request(request, order_id)
        data = ShipmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        items = fields.get("items")
        record_shipment(
            order=order.pk,
            carrier=fields["carrier"],
            tracking_number=fields["trackingNumber"],
            tracking_url=fields["trackingUrl"],
            items=None
            if items is None
            else [ShipLine(line["lineItemId"], line["quantity"]) for line in items],
            shipped_on=fields.get("shippedOn"),
            actor=request.user,
            source=EventSource.OPERATOR,
        )
        return Response(
            {"order": get_order_json(order_id=order.pk)}, status=status.HTTP_201_CREATED
        )
