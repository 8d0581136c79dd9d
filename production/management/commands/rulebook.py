"""`manage.py rulebook`: docs/rulebook.md, generated from the rulebook (production/lifecycle.py).

Prints it; `--write` writes docs/rulebook.md; `--check` fails when the committed file differs from
what the code says (the test suite asks the same). Every sentence a refusal can say is found by
asking the rulebook about every place an order can be, so the page cannot disagree with the code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from production import lifecycle as rules
from production.lifecycle import (
    CUSTOMER_WORDS,
    FINAL_STATES,
    LEAD_DAYS,
    OPERATOR_NEXT,
    OPERATOR_WORDS,
    PRODUCTION_STEPS,
    RULES,
    STATUS_MAP,
    STEP_LABELS,
    STEP_MESSAGES,
    STEP_WORDS,
    Actor,
    Move,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
)

SAMPLE_REFERENCE = "ORD-000123"
SAMPLE_TOLD_AT = (2025, 3, 4, 15, 30)  # when a customer was told their order waits for pickup


def rulebook_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "rulebook.md"


class Command(BaseCommand):
    help = "Print docs/rulebook.md as production/lifecycle.py has it (--write it, --check it)."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--write", action="store_true", help="Write docs/rulebook.md.")
        group.add_argument(
            "--check", action="store_true", help="Fail if docs/rulebook.md is out of date."
        )

    def handle(self, *args: object, write: bool, check: bool, **options: object) -> None:
        text = render_rulebook()
        path = rulebook_path()
        if write:
            path.write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {path}")
        elif check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise CommandError(
                    f"{path} is out of date: run `python manage.py rulebook --write`."
                )
            self.stdout.write(f"{path} is up to date.")
        else:
            self.stdout.write(text, ending="")


# --- the page ------------------------------------------------------------------------------------


def render_rulebook() -> str:
    """docs/rulebook.md, as Markdown."""
    parts = [
        "# The rulebook",
        "<!-- Generated from production/lifecycle.py by `python manage.py rulebook --write`. "
        "Change the code, then run it again; a test fails while this file is out of date. -->",
        "Every order goes through the states below. This page says which moves there are, who "
        "may make each one, what must hold first, and the words people read when a move is "
        "refused: the same words on the API, the ops pages, the bulk menu, the board, the scan "
        "stations and the admin. Support staff working in the admin count as operators.",
        _states(),
        _moves(),
        _who_may(),
        _steps(),
        _other_rules(),
        _lead_times(),
        _customer_words(),
    ]
    return "\n\n".join(parts) + "\n"


def _states() -> str:
    rows = [
        (
            state.label,
            str(STATUS_MAP.get(state, "stays where it was")),
            CUSTOMER_WORDS.get(state)
            or " / ".join(CUSTOMER_WORDS[step] for step in PRODUCTION_STEPS) + ", by step",
            "yes: it cannot change any more" if state in FINAL_STATES else "",
        )
        for state in OrderState
    ]
    return "## States\n\n" + _table(
        ("State", "Production status on entering it", "The customer reads", "Final"), rows
    )


def _moves() -> str:
    rows = []
    for state in OrderState:
        for move in RULES[state]:
            rows.append(
                (
                    state.label,
                    move.to.label,
                    move.label,
                    _who(move.actors),
                    _condition(move, state),
                    move.message,
                    _notes(move, state),
                )
            )
    intro = (
        "## Moves\n\nEvery change of state an order can make. Nothing leaves a final state. "
        "A move that waits on a condition is refused, with the words given, until it holds."
    )
    header = ("From", "To", "Button", "Who may", "What must hold first", "Timeline", "Notes")
    return intro + "\n\n" + _table(header, rows)


def _who_may() -> str:
    """For each state, every target and actor: allowed, or the refusal's words."""
    sections = [
        "## Who may move an order, state by state\n\n"
        "For an order with nothing in the way (standard priority, no proof waiting, nothing "
        "shipped; in production, at Ready) and no note given. ✓: allowed."
    ]
    for state in OrderState:
        if state in FINAL_STATES:
            continue
        facts = _plain(state)
        rows = [
            (
                target.label,
                *(rules.move_refusal(facts, target, actor=actor) or "✓" for actor in Actor),
            )
            for target in OrderState
            if target != state
        ]
        header = ("Move to", *(actor.label for actor in Actor))
        sections.append(f"### From {state.label.lower()}\n\n" + _table(header, rows))
    final = " or ".join(state.label.lower() for state in OrderState if state in FINAL_STATES)
    sections.append(
        f"From {final}, every move is refused: "
        + _quote(
            rules.move_refusal(
                _plain(OrderState.FULFILLED), OrderState.CANCELED, actor=Actor.OPERATOR
            )
        )
    )
    return "\n\n".join(sections)


def _steps() -> str:
    steps = " → ".join(str(step) for step in PRODUCTION_STEPS)
    rows = [
        (str(before), str(after), STEP_LABELS[after])
        for before, after in pairwise(PRODUCTION_STEPS)
    ]
    refusals = _distinct(
        rules.step_refusal(facts, step, actor=actor)
        for facts in _positions()
        for step in ProductionStatus
        for actor in Actor
    )
    return (
        "## Production steps\n\n"
        f"Starting production puts the order at {PRODUCTION_STEPS[0]}. From there an operator "
        f"moves it on one step at a time, never back: {steps}. Fulfilling waits for "
        f"{PRODUCTION_STEPS[-1]}.\n\n"
        + _table(("From", "To", "Button"), rows)
        + "\n\n"
        + _doc(rules.step_refusal)
        + "\n\nRefused with:\n\n"
        + _bullets(refusals)
    )


def _other_rules() -> str:
    told_at = timezone.make_aware(datetime(*SAMPLE_TOLD_AT))
    positions = _positions()
    sections: list[tuple[str, Callable[..., object], list[str]]] = [
        (
            "Recording a shipment or a pickup",
            rules.ship_refusal,
            _distinct(rules.ship_refusal(f, actor=a) for f in positions for a in Actor),
        ),
        (
            "Handing a parcel to a carrier",
            rules.parcel_refusal,
            _distinct(
                rules.parcel_refusal(f, actor=a, delivery=d, has_address=h)
                for f in positions
                for a in Actor
                for d in rules.Delivery
                for h in (False, True)
            ),
        ),
        (
            "Recording that the customer collected the order",
            rules.pickup_refusal,
            _distinct(
                rules.pickup_refusal(f, actor=a, delivery=d)
                for f in positions
                for a in Actor
                for d in rules.Delivery
            ),
        ),
        (
            "Telling the customer their order waits for pickup",
            rules.pickup_notice_refusal,
            _distinct(
                rules.pickup_notice_refusal(f, actor=a, told_at=t, delivery=d)
                for f in positions
                for a in Actor
                for t in (None, told_at)
                for d in rules.Delivery
            ),
        ),
        (
            "Correcting a shipment's tracking",
            rules.correction_refusal,
            _distinct(rules.correction_refusal(f, actor=a) for f in positions for a in Actor),
        ),
        (
            "Sending an artwork proof",
            rules.proof_refusal,
            _distinct(rules.proof_refusal(f, actor=a) for f in positions for a in Actor),
        ),
        (
            "Recording the customer's answer to a proof",
            rules.proof_answer_refusal,
            _distinct(
                rules.proof_answer_refusal(by_phone=phone, operator=operator, owner=owner)
                for phone in (False, True)
                for operator in (False, True)
                for owner in (False, True)
            ),
        ),
        (
            "Changing the priority",
            rules.priority_refusal,
            _distinct(rules.priority_refusal(f) for f in positions),
        ),
        (
            "Paying",
            rules.payment_refusal,
            _distinct(rules.payment_refusal(f, reference=SAMPLE_REFERENCE) for f in positions),
        ),
    ]
    parts = ["## Other rules"]
    for title, rule, refusals in sections:
        parts.append(f"### {title}\n\n{_doc(rule)}\n\nRefused with:\n\n{_bullets(refusals)}")
    in_production = rules.change_sequence(_plain(OrderState.IN_PRODUCTION))
    otherwise = rules.change_sequence(_plain(OrderState.APPROVED))
    parts.append(
        "### Several changes in one request\n\n"
        + _doc(rules.change_sequence)
        + "\n\n"
        + _table(
            ("The order is", "Applied in this order"),
            [
                (OrderState.IN_PRODUCTION.label.lower(), _sequence(in_production)),
                ("in any other state", _sequence(otherwise)),
            ],
        )
    )
    return "\n\n".join(parts)


def _lead_times() -> str:
    rows = [(priority.label, str(LEAD_DAYS[priority])) for priority in Priority]
    return (
        "## Promised dates\n\nThe promised ready-to-ship date counts calendar days from payment. "
        "A held order shows no countdown until the hold is released.\n\n"
        + _table(("Priority", "Days from payment"), rows)
    )


def _customer_words() -> str:
    rows = [(str(key), words) for key, words in CUSTOMER_WORDS.items()]
    steps = [(key, words) for key, words in STEP_WORDS.items()]
    messages = [(str(step), words) for step, words in STEP_MESSAGES.items()]
    return (
        "## What the customer reads\n\nThe status line, the estimate, the hold notice and the "
        "canceled banner on the customer's order page and in My orders ({days}, {date}, "
        "{shipped}, {total} and {refund} are filled in). The live page's script shows the same "
        "words from each frame.\n\n"
        + _table(("Key", "Words"), rows)
        + "\n\nThe progress bar's steps (`_done` once passed, `_pickup` for an order collected "
        "at the shop):\n\n"
        + _table(("Step", "Words"), steps)
        + "\n\nThe timeline's line for each production step:\n\n"
        + _table(("Step reached", "Words"), messages)
        + "\n\n## What the operators read\n\nOne status per order on the ops list and the ops "
        "order page's summary, with the next step the shop owes it ({revision}, {shipped} and "
        "{total} are filled in; a held order's next step is to release the hold).\n\n"
        + _table(
            ("Key", "Status", "Next step"),
            [(str(key), words, OPERATOR_NEXT[key]) for key, words in OPERATOR_WORDS.items()],
        )
    )


# --- helpers -------------------------------------------------------------------------------------


def _plain(state: OrderState) -> OrderFacts:
    """An order in `state` with nothing in the way: standard priority, no proof waiting, nothing
    shipped; in production, at Ready."""
    step = ProductionStatus.READY if state == OrderState.IN_PRODUCTION else STATUS_MAP.get(state)
    return OrderFacts(state, step or ProductionStatus.QUEUED, Priority.STANDARD)


def _positions() -> list[OrderFacts]:
    """Every kind of place an order can be: each state and step, on hold or not, with or without
    a proof waiting (submitted) and items shipped (in production, at Ready)."""
    found = []
    for state in OrderState:
        if state == OrderState.IN_PRODUCTION:
            steps = PRODUCTION_STEPS
        else:
            steps = (STATUS_MAP.get(state, ProductionStatus.PRINTING),)
        for step in steps:
            for priority in (Priority.STANDARD, Priority.HOLD):
                found.append(OrderFacts(state, step, priority))
                if state == OrderState.SUBMITTED:
                    found.append(OrderFacts(state, step, priority, proof_waiting=1))
                if step == ProductionStatus.READY and state == OrderState.IN_PRODUCTION:
                    found.append(OrderFacts(state, step, priority, shipped_quantity=2))
    return found


def _who(actors: Iterable[Actor]) -> str:
    return ", ".join(actor.label for actor in Actor if actor in actors)


def _condition(move: Move, state: OrderState) -> str:
    if move.guard is None:
        return ""
    refusals = _distinct(move.guard(f) for f in _positions() if f.status == state)
    words = "; ".join(_quote(r) for r in refusals)
    return f"{_doc(move.guard)} Otherwise: {words}"


def _notes(move: Move, state: OrderState) -> str:
    notes = []
    if move.final:
        notes.append("Cannot be undone: asked to confirm.")
    if move.needs_reason is not None:
        needed = [f for f in _positions() if f.status == state and move.needs_reason(f)]
        if needed:
            notes.append(f"A reason is required {_doc(move.needs_reason).lower()}")
    return " ".join(notes)


def _sequence(fields: tuple[str, ...]) -> str:
    names = {"priority": "priority", "status": "state", "production_status": "production step"}
    return ", then ".join(names[field] for field in fields)


def _doc(function: Callable[..., object]) -> str:
    return " ".join((inspect.getdoc(function) or "").split())


def _distinct(refusals: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(r for r in refusals if r))


def _quote(text: str | None) -> str:
    return f"“{text}”"


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {_quote(line)}" for line in lines)


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    def row(cells: Iterable[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    lines = [row(header), "|" + "|".join(" --- " for _ in header) + "|"]
    lines.extend(row(cells) for cells in rows)
    return "\n".join(lines)
