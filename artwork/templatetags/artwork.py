"""`{% artwork_report order %}`: the artwork check of an order (its verdict, each design's checks
and mockups, and what can be done: acknowledge, replace, or, for operators, accept a fail), for
the customer's order page and the ops order page. One line in each page's template."""

from __future__ import annotations

from django import template
from django.urls import reverse

from artwork.mockups import order_colors
from artwork.models import Gate, PreflightReport, Verdict, gate_of, order_gate
from production.lifecycle import OrderState
from production.models import ProductionOrder

register = template.Library()

VERDICT_WORDS = {
    "unchecked": "Not checked yet",
    Verdict.PENDING: "Checking your design…",
    Verdict.PASS: "Ready to print",
    Verdict.WARNING: "Prints, with warnings",
    Verdict.FAIL: "Will not print well",
}


def report_context(order: ProductionOrder, *, ops: bool = False) -> dict:
    reports = list(
        PreflightReport.objects.filter(order_id=order.pk)
        .select_related("design__placement", "overridden_by")
        .order_by("design__placement__position", "design_id")
    )
    gate = gate_of(reports)
    verdict = gate.verdict
    draft = order.status == OrderState.DRAFT
    colors = order_colors(order)
    designs = []
    for report in reports:
        code = report.design.placement.code
        designs.append(
            {
                "report": report,
                "placement": report.design.placement,
                "mockups": [
                    {
                        "color": color,
                        "url": reverse("artwork:mockup", args=[order.pk, code, color.pk]),
                    }
                    for color in colors
                ]
                if report.verdict != Verdict.PENDING
                else [],
                "highlight_url": reverse("artwork:highlight", args=[order.pk, code])
                if report.highlight
                else "",
                "new_design_url": reverse("artwork:new-design", args=[order.pk, code]),
                "override_url": reverse("artwork:override", args=[order.pk, code]),
            }
        )
    return {
        "order": order,
        "ops": ops,
        "draft": draft,
        "verdict": verdict,
        "verdict_words": VERDICT_WORDS.get(verdict, verdict),
        "acknowledged": gate.acknowledged,
        "refusal": gate.refusal if draft else None,
        "held": draft and gate.refusal is not None and verdict == Verdict.PENDING,
        "pay_waits": payment_wait_words(gate) if draft and not ops else "",
        "designs": designs,
        "fragment_url": reverse("artwork:report", args=[order.pk]),
    }


def payment_wait_words(gate: Gate) -> str:
    """What the order page's payment line says while the artwork check stops the payment ("":
    it does not, and "Continue to payment" is offered)."""
    if gate.refusal is None:
        return ""
    if gate.verdict == Verdict.PENDING:
        return "Checking your artwork… payment opens here as soon as the check is done."
    return "Payment waits for the artwork check below."


@register.simple_tag
def artwork_payment_wait(order: ProductionOrder) -> str:
    """`{% artwork_payment_wait order as pay_waits %}`: the payment line's words for a draft."""
    if order.status != OrderState.DRAFT:
        return ""
    return payment_wait_words(order_gate(order))


@register.inclusion_tag("artwork/_preflight_report.html", takes_context=True)
def artwork_report(context: template.Context, order: ProductionOrder, ops: bool = False) -> dict:
    return {**report_context(order, ops=ops), "csrf_token": context.get("csrf_token")}
