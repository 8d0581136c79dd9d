"""Operators read the next step first (issue 26): a customer's change request is a banner with
their comment at the top of the ops order page, offering the next proof before "Approve
artwork"; such orders carry a badge on the list and the board; the page opens with a summary
and keeps internal identifiers in a details section; the list says one status as an operator
would, and an unpaid draft shows no rush stripe or due time."""

import re
from html import unescape

import pytest

from production.lifecycle import OrderState, Priority
from production.services.proofs import decide_proof
from tests.factories import make_order, make_proof

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(customer, garment):
    """A paid order whose customer asked for changes to proof 1."""
    order = make_order(owner=customer, garment=garment, state=OrderState.SUBMITTED)
    make_proof(order)
    decide_proof(
        order=order,
        revision=1,
        decision="request_changes",
        comment="Make the logo twice as big",
        actor=customer,
    )
    return order


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_a_change_request_is_a_banner_with_the_comment_and_the_next_proof_first(ops_client, asked):
    html = ops_client.get(f"/ops/orders/{asked.pk}/").content.decode()

    banner = html[html.index('id="change-request"') : html.index('<dl class="summary"')]
    assert "The customer asked for changes to proof 1" in banner
    assert "Make the logo twice as big" in banner
    assert 'href="#proof-send" id="change-request-send">Send proof 2</a>' in banner
    # The banner and the proof form come before the buttons, the design and the money.
    assert html.index('id="change-request"') < html.index('id="proof-send"')
    assert html.index('id="proof-send"') < html.index("Approve artwork")
    assert html.index("Approve artwork") < html.index('id="refunds"')
    approve = re.search(r"<button[^>]*>Approve artwork</button>", html).group(0)
    assert 'class="secondary"' in approve  # no longer the main button
    assert "Send proof 2 with the customer's changes." in text(html)  # the next step


def test_the_page_opens_with_a_summary_and_hides_internal_ids_in_details(ops_client, customer):
    order = make_order(owner=customer, state=OrderState.APPROVED)
    order.stripe_checkout_session_id = "cs_test_abc123"
    order.save(update_fields=["stripe_checkout_session_id"])

    html = ops_client.get(f"/ops/orders/{order.pk}/").content.decode()

    summary = text(html[html.index('<dl class="summary"') : html.index("</dl>")])
    assert "Status Approved — to print" in summary
    assert "Next step Start production." in summary
    assert customer.email in summary
    assert "Due " in summary
    details = html[html.index('id="ops-details"') :]
    assert "cs_test_abc123" in details and order.garment.shopify_gid in details
    assert html.count("cs_test_abc123") == 1 and html.count(order.garment.shopify_gid) == 1


def test_the_list_and_the_board_mark_orders_waiting_for_a_new_proof(ops_client, asked):
    listed = ops_client.get("/ops/orders").content.decode()
    row = listed[listed.index(f'data-order-id="{asked.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Changes requested — send a new proof" in row
    assert '<span class="badge changes">Changes requested</span>' in row

    board = ops_client.get("/ops/board/").content.decode()
    card = board[board.index(f'data-reference="{asked.reference}"') :]
    card = card[: card.index("</li>")]
    assert '<span class="badge changes">Changes requested</span>' in card
    assert "<select" not in card  # a menu of the other stages instead
    assert 'name="stage" value="printing"' in card


def test_the_list_says_one_status_and_an_unpaid_draft_has_no_rush_or_due(ops_client, garment):
    draft = make_order(garment=garment, priority=Priority.RUSH)
    shipped = make_order(garment=garment, state=OrderState.FULFILLED)

    html = ops_client.get("/ops/orders").content.decode()

    draft_row = html[html.index(f'data-order-id="{draft.pk}"') :]
    draft_row = draft_row[: draft_row.index("</tr>")]
    assert 'class="draft"' in draft_row and 'class="rush"' not in draft_row
    assert "Unpaid draft" in draft_row and "badge rush" not in draft_row
    assert ">—</td>" in draft_row  # no due time before payment
    shipped_row = html[html.index(f'data-order-id="{shipped.pk}"') :]
    assert "Shipped" in shipped_row[: shipped_row.index("</tr>")]
    assert "Fulfilled / Ready" not in html


def test_the_cancel_confirmation_says_the_customer_reads_the_reason(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.IN_PRODUCTION)

    html = ops_client.post(
        f"/ops/orders/{order.pk}/actions", {"action": "status", "value": "canceled"}
    ).content.decode()

    assert re.search(
        r'id="confirm-note-help">The customer reads this word for word[^<]*on their order page\.',
        html,
    )
    assert re.search(r'<button type="submit" class="danger" id="confirm-yes">', html)
