"""Artwork proofs on the ops order page: send a proof, record a decision given by phone."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View

from ops.views.orders import OperatorRequiredMixin
from production.exceptions import OrderError
from production.models import ArtworkProof, ProductionOrder
from production.plumbing.request_limits import body_limit
from production.proof_files import proof_upload_limit
from production.services.proofs import ProofDecision, answer_proof, send_proof


@body_limit(proof_upload_limit)  # a longer body is a 413 page, never read
class ProofSendView(OperatorRequiredMixin, View):
    """Upload the next revision of the proof (file + notes)."""

    def post(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        back = reverse("ops:order-detail", args=[order_id])
        order = ProductionOrder.objects.only("id", "reference").filter(pk=order_id).first()
        if order is None:
            raise Http404("No such order")
        try:
            proof = send_proof(
                order=order.pk,
                file=request.FILES.get("file"),
                notes=request.POST.get("notes", ""),
                actor=request.user,
            )
        except OrderError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"{order.reference}: proof {proof.revision} sent to the customer."
            )
        return HttpResponseRedirect(back)


class ProofPhoneDecisionView(OperatorRequiredMixin, View):
    """Record the customer's answer to the waiting proof, given by phone."""

    def post(self, request: HttpRequest, order_id: UUID, revision: int) -> HttpResponse:
        back = reverse("ops:order-detail", args=[order_id])
        order = ProductionOrder.objects.only("id", "reference").filter(pk=order_id).first()
        if order is None:
            raise Http404("No such order")
        decision = request.POST.get("decision", "")
        try:
            answer_proof(
                order=order.pk,
                revision=revision,
                answer=request.POST,
                actor=request.user,
                via=ArtworkProof.Via.PHONE,
            )
        except OrderError as error:
            messages.error(request, error.message)
        else:
            what = "approved" if decision == ProofDecision.APPROVE else "changes requested"
            messages.success(
                request, f"{order.reference}: proof {revision} {what} (by phone, recorded)."
            )
        return HttpResponseRedirect(back)
