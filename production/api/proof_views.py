"""The API's artwork proof endpoints: operators send a proof, the owner answers it."""

from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from production.accounts.access import IsOperator, can_view_order, is_operator
from production.api.serializers import (
    ErrorOutput,
    OrderEnvelope,
    ProofDecisionInput,
    ProofUploadInput,
)
from production.lifecycle import proof_answer_refusal
from production.models import ArtworkProof, ProductionOrder
from production.plumbing.request_limits import body_limit
from production.proof_files import proof_upload_limit
from production.selectors import get_order_json
from production.services.proofs import answer_proof, send_proof

ERRORS = {
    400: OpenApiResponse(ErrorOutput, description="Invalid request"),
    401: OpenApiResponse(ErrorOutput, description="Unauthorized"),
    403: OpenApiResponse(ErrorOutput, description="Forbidden"),
    404: OpenApiResponse(ErrorOutput, description="Order not found"),
}
CONFLICT = OpenApiResponse(
    ErrorOutput, description="Conflict: that revision is not the proof waiting for an answer"
)


def order_for_request(request: Request, order_id: str) -> ProductionOrder:
    try:
        UUID(order_id)
    except ValueError:
        raise exceptions.NotFound() from None
    order = ProductionOrder.objects.only("id", "owner_id").filter(pk=order_id).first()
    if order is None:
        raise exceptions.NotFound()
    if not can_view_order(request.user, order):
        raise exceptions.PermissionDenied("Not your order.")
    return order


# A longer body is refused with 413 before anything reads it (RequestSizeLimitMiddleware).
@body_limit(proof_upload_limit)
class ProofUploadView(APIView):
    permission_classes = [IsAuthenticated, IsOperator]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="sendProof",
        request={"multipart/form-data": ProofUploadInput},
        responses={
            201: OrderEnvelope,
            409: CONFLICT,
            413: OpenApiResponse(ErrorOutput, description="Request body too large"),
            **ERRORS,
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        """Operators: send the next revision of the artwork proof (multipart: `file`, `notes`).

        A PNG, JPEG or WebP image (re-encoded) or a PDF, at most PROOF_MAX_BYTES. A revision
        still waiting is superseded. The customer is e-mailed a link to their order page."""
        order = order_for_request(request, order_id)
        data = ProofUploadInput(data=request.data)
        if not data.is_valid():
            # A missing or empty file is the service's message; other fields are the serializer's.
            errors = {k: v for k, v in data.errors.items() if k != "file"}
            if errors:
                raise exceptions.ValidationError(errors)
        send_proof(
            order=order.pk,
            file=request.FILES.get("file"),
            notes=request.data.get("notes", ""),
            actor=request.user,
        )
        return Response(
            {"order": get_order_json(order_id=order.pk)}, status=status.HTTP_201_CREATED
        )


class ProofDecisionView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="decideProof",
        request=ProofDecisionInput,
        responses={200: OrderEnvelope, 409: CONFLICT, **ERRORS},
    )
    def post(self, request: Request, order_id: str, revision: int) -> Response:
        """The owner approves the waiting proof or requests changes (`comment` required).

        Approval moves the order to `approved`. Operators may record a decision the customer gave
        by phone with `"via": "phone"` (shown as such on the timeline). A revision that is not the
        one waiting answers 409."""
        order = order_for_request(request, order_id)
        data = ProofDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        by_phone = fields["via"] == ArtworkProof.Via.PHONE
        refused = proof_answer_refusal(
            by_phone=by_phone,
            operator=by_phone and is_operator(request.user),  # asked only when it matters
            owner=order.owner_id == request.user.pk,
        )
        if refused:
            raise exceptions.PermissionDenied(refused)
        answer_proof(
            order=order.pk, revision=revision, answer=fields, actor=request.user, via=fields["via"]
        )
        return Response({"order": get_order_json(order_id=order.pk)})
