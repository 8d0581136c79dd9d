"""Artwork proofs: an operator sends one, the customer (or an operator for them) decides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from production import notifications
from production.exceptions import (
    IllegalTransition,
    OrderError,
    ProofConflict,
)
from production.lifecycle import (
    Actor,
    EventSource,
    OrderFacts,
    OrderState,
    actor_of,
    proof_answer_refusal,
    proof_refusal,
)
from production.models import (
    ArtworkProof,
    FulfillmentEvent,
    ProductionOrder,
)
from production.services.changes import (
    Change,
    change_state,
    clean_note,
    lock_order,
    save_changes,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.files.uploadedfile import UploadedFile

    User = AbstractBaseUser


# --- artwork proofs ------------------------------------------------------------------------------


class ProofDecision:
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    CHOICES = (APPROVE, REQUEST_CHANGES)


def send_proof(
    *, order: ProductionOrder | UUID, file: UploadedFile | None, notes: str, actor: User | None
) -> ArtworkProof:
    """An operator sends the next revision of the artwork proof for the customer's approval.

    The file is checked and re-encoded (`production.proof_files`) and stored before the
    transaction (a storage backend may be a network away); a revision still waiting is superseded
    by this one. One event ("Proof N sent for your approval") and one e-mail to the customer.
    """
    from production import (
        proof_files as proofs,  # Pillow and the storage only where proofs are handled
    )

    order_id = order.pk if isinstance(order, ProductionOrder) else order
    notes = clean_note(notes)
    facts_now = ProductionOrder.objects.only(
        "status", "production_status", "priority", "waiting_proof_revision", "shipped_quantity"
    ).get(pk=order_id)
    _refuse_proof(facts_now)  # before the file work; checked again under the lock
    checked = proofs.check_proof_file(file)
    stored_name = default_storage.save(
        f"proofs/{order_id}/{uuid4().hex}.{checked.extension}", checked.content
    )
    try:
        with transaction.atomic(durable=True):
            locked = lock_order(order_id)
            _refuse_proof(locked)
            superseded = locked.waiting_proof_revision
            if superseded is not None:
                ArtworkProof.objects.filter(order=locked, revision=superseded).update(
                    state=ArtworkProof.State.SUPERSEDED
                )
            last = locked.proofs.order_by("-revision").values_list("revision", flat=True).first()
            proof = ArtworkProof.objects.create(
                order=locked,
                revision=(last or 0) + 1,
                file=stored_name,
                kind=checked.kind,
                content_type=checked.content_type,
                size=checked.content.size,
                notes=notes,
                sent_by=actor,
            )
            locked.waiting_proof_revision = proof.revision
            change = Change(
                kind=FulfillmentEvent.Kind.PROOF,
                field="proof",
                before=superseded and str(superseded),
                after=str(proof.revision),
                status=locked.production_status,
                message=f"Proof {proof.revision} sent for your approval",
                metadata={"revision": proof.revision, "proof": ArtworkProof.State.WAITING},
            )
            save_changes(locked, [change], actor=actor, source=EventSource.OPERATOR)
            notifications.proof_sent(order=locked, proof=proof)  # with the change, once
    except BaseException:
        default_storage.delete(stored_name)  # nothing refers to it
        raise
    return proof


def _refuse_proof(order: ProductionOrder) -> None:
    refused = proof_refusal(OrderFacts.of(order), actor=Actor.OPERATOR)
    if refused:
        raise IllegalTransition(f"{order.reference}: {refused}", field="proof")


def decide_proof(
    *,
    order: ProductionOrder | UUID,
    revision: int,
    decision: str,
    comment: str = "",
    actor: User | None,
    source: EventSource = EventSource.CUSTOMER,
    via: str = ArtworkProof.Via.CUSTOMER,
) -> ArtworkProof:
    """The customer's answer to proof `revision`: approve it (the order moves to approved) or
    request changes with a comment (the order stays submitted; the operator sends a new revision).

    `source` is who recorded it: the customer on the site, or an operator (`via` phone) taking
    the customer's answer by phone; the rulebook checks it as the customer's decision. A revision
    that is not the one waiting (superseded, already answered, unknown) raises ProofConflict:
    of two answers sent at once, the row lock lets the first win and the second gets that.
    """
    if decision not in ProofDecision.CHOICES:
        raise OrderError("Decide with approve or request_changes.", field="decision")
    comment = clean_note(comment)
    if decision == ProofDecision.REQUEST_CHANGES and not comment:
        raise OrderError("Say what should change: a comment is needed.", field="comment")
    via = ArtworkProof.Via(via)
    refused = proof_answer_refusal(
        by_phone=via == ArtworkProof.Via.PHONE,
        operator=actor_of(source) == Actor.OPERATOR,
        owner=source == EventSource.CUSTOMER,
    )
    if refused:
        raise OrderError(refused, field="via")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        if locked.waiting_proof_revision != revision:
            waiting = locked.waiting_proof_revision
            raise ProofConflict(
                f"Proof {revision} is not waiting for an answer"
                + (f": proof {waiting} is." if waiting else ".")
                + " Reload the order to see its latest proof.",
                field="revision",
            )
        proof = locked.proofs.get(revision=revision)
        proof.decided_by = actor
        proof.decided_at = timezone.now()
        proof.decided_via = via
        proof.comment = comment
        extra = {"revision": revision, "via": str(via), "decision": decision}
        if decision == ProofDecision.APPROVE:
            change = change_state(
                locked,
                OrderState.APPROVED,
                source=source,
                actor=actor,
                decider=Actor.CUSTOMER,
                proof=proof,
            )
        else:
            proof.state = ArtworkProof.State.CHANGES_REQUESTED
            proof.save(
                update_fields=["state", "decided_by", "decided_at", "decided_via", "comment"]
            )
            locked.waiting_proof_revision = None
            change = Change(
                kind=FulfillmentEvent.Kind.PROOF,
                field="proof",
                before=str(revision),
                after=None,
                status=locked.production_status,
                message=f"Changes requested to proof {revision}: {comment}",
            )
        if comment and decision == ProofDecision.APPROVE:
            change.message = f"{change.message}: {comment}"
        if via == ArtworkProof.Via.PHONE:
            change.message = f"{change.message} (by phone)"
        change.metadata = {**(change.metadata or {}), **extra, "proof": proof.state}
        save_changes(locked, [change], actor=actor, source=source)
    return proof


def answer_proof(
    *,
    order: ProductionOrder | UUID,
    revision: int,
    answer: Mapping[str, str],
    actor: User | None,
    via: str,
) -> ArtworkProof:
    """`decide_proof` for an answer as a surface receives it (`decision`, `comment`; a missing
    one is empty): the customer's own on the site (`via` customer), or the customer's answer
    given by phone and recorded by an operator (`via` phone, the operator as its source)."""
    return decide_proof(
        order=order,
        revision=revision,
        decision=answer.get("decision", ""),
        comment=answer.get("comment", ""),
        actor=actor,
        source=EventSource.OPERATOR if via == ArtworkProof.Via.PHONE else EventSource.CUSTOMER,
        via=via,
    )
