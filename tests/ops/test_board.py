"""The production board (/ops/board/): a column per floor stage, cards by due date, rush, late and
held orders marked, filters, moves through the services, and a fixed number of queries however
many orders there are."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from production.lifecycle import EventSource, OrderState, Priority, ProductionStatus
from production.models import ProductionOrder
from production.services.orders import transition_order, update_order
from tests.factories import GarmentFactory, make_order, make_proof, operator_user, set_technique

pytestmark = pytest.mark.django_db


def column(response, stage: str):
    return next(c for c in response.context["board"].columns if c.stage.key == stage)


def refs(response, stage: str, *, held: bool = False) -> list[str]:
    col = column(response, stage)
    return [card.reference for card in (col.held_cards if held else col.cards)]


def due_in(order: ProductionOrder, days: int) -> ProductionOrder:
    """Set the promised date `days` from today (test data: the services derive it from payment)."""
    ProductionOrder.objects.filter(pk=order.pk).update(
        due_date=timezone.localdate() + dt.timedelta(days=days)
    )
    order.refresh_from_db()
    return order


def hold(order: ProductionOrder) -> ProductionOrder:
    return update_order(
        order=order, actor=None, source=EventSource.OPERATOR, priority=Priority.HOLD
    )


def card_html(page: str, reference: str) -> str:
    match = re.search(
        rf'<li class="board-card[^"]*"[^>]*data-reference="{reference}">.*?</li>', page, re.S
    )
    assert match, reference
    return match.group(0)


def test_each_open_order_is_in_its_stages_column(ops_client, garment):
    orders = {
        "draft": make_order(garment=garment),
        "submitted": make_order(garment=garment, state=OrderState.SUBMITTED),
        "proof": make_order(garment=garment, state=OrderState.SUBMITTED),
        "approved": make_order(garment=garment, state=OrderState.APPROVED),
        "printing": make_order(garment=garment, state=OrderState.IN_PRODUCTION),
        "finishing": make_order(
            garment=garment, state=OrderState.IN_PRODUCTION, step=ProductionStatus.FINISHING
        ),
        "ready": make_order(
            garment=garment, state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY
        ),
        "fulfilled": make_order(garment=garment, state=OrderState.FULFILLED),
        "canceled": make_order(garment=garment, state=OrderState.CANCELED),
    }
    make_proof(orders["proof"])
    due_in(orders["proof"], 5)
    due_in(orders["submitted"], 6)
    response = ops_client.get("/ops/board/")
    ref = {name: order.reference for name, order in orders.items()}
    assert refs(response, "spec-review") == [ref["proof"], ref["submitted"]]
    assert refs(response, "queued") == [ref["approved"]]
    assert refs(response, "printing") == [ref["printing"]]
    assert refs(response, "finishing") == [ref["finishing"]]
    assert refs(response, "ready") == [ref["ready"]]
    page = response.content.decode()
    for gone in ("draft", "fulfilled", "canceled"):
        assert ref[gone] not in page  # unpaid or done: not floor work
    assert '<span class="badge proof">Awaiting proof</span>' in card_html(page, ref["proof"])
    assert "Awaiting proof" not in card_html(page, ref["submitted"])
    headings = re.findall(r'<h2 id="col-[a-z-]+">([A-Za-z ]+) <span class="count"', page)
    assert headings == ["Spec Review", "Queued", "Printing", "Finishing", "Ready"]


def test_cards_show_the_order_by_due_date_with_rush_and_late_marked(ops_client, garment):
    later = due_in(make_order(garment=garment, state=OrderState.APPROVED), 4)
    late = due_in(make_order(garment=garment, state=OrderState.APPROVED), -2)
    rush = due_in(make_order(garment=garment, state=OrderState.APPROVED, priority=Priority.RUSH), 1)
    set_technique(rush, "screen")
    set_technique(rush, "embroidery", sizes=["L"])
    response = ops_client.get("/ops/board/")
    assert refs(response, "queued") == [late.reference, rush.reference, later.reference]
    page = response.content.decode()

    rush_card = card_html(page, rush.reference)
    assert 'class="board-card rush"' in rush_card
    assert '<span class="badge rush">Rush</span>' in rush_card
    assert "Late" not in rush_card
    assert "Classic Tee · 5 pcs · Screen · Embr." in rush_card
    assert rush.owner.email in rush_card
    due = rush.due_date
    assert f'<time datetime="{due.isoformat()}">{due:%b} {due.day}</time>' in rush_card

    late_card = card_html(page, late.reference)
    assert 'class="board-card late"' in late_card
    assert '<span class="badge late">Late</span>' in late_card
    assert "DTG" in late_card
    assert "badge" not in card_html(page, later.reference)


def test_held_orders_are_set_apart_and_counted(ops_client, garment):
    queued = make_order(garment=garment, state=OrderState.APPROVED)
    held = hold(make_order(garment=garment, state=OrderState.APPROVED))
    printing_held = hold(make_order(garment=garment, state=OrderState.IN_PRODUCTION))
    response = ops_client.get("/ops/board/")
    assert refs(response, "queued") == [queued.reference]
    assert refs(response, "queued", held=True) == [held.reference]
    assert refs(response, "printing") == []
    assert refs(response, "printing", held=True) == [printing_held.reference]
    queued_column = column(response, "queued")
    assert (queued_column.total, queued_column.held_total) == (2, 1)
    page = response.content.decode()
    assert (
        '<h2 id="col-queued">Queued <span class="count" data-count="queued">2</span> '
        '<span class="held-count">· 1 on hold</span></h2>'
    ) in page
    assert '<h3 class="held-heading">On hold</h3>' in page
    assert 'class="board-card held"' in card_html(page, held.reference)
    assert '<span class="badge hold">On hold</span>' in card_html(page, held.reference)


def test_columns_show_their_most_urgent_cards_and_count_all(ops_client, garment, settings):
    settings.OPS_BOARD_COLUMN_LIMIT = 2
    orders = [
        due_in(make_order(garment=garment, state=OrderState.APPROVED), days) for days in (3, 1, 2)
    ]
    response = ops_client.get("/ops/board/")
    assert refs(response, "queued") == [orders[1].reference, orders[2].reference]
    page = response.content.decode()
    assert 'data-count="queued">3<' in page
    assert '+ 1 more · <a href="/ops/orders?status=approved">all in the list</a>' in page


def test_filters_by_technique_and_garment(ops_client, garment):
    hoodie = GarmentFactory(name="Hoodie")
    screen_tee = make_order(garment=garment, state=OrderState.APPROVED)
    set_technique(screen_tee, "screen", sizes=["M"])
    dtg_tee = make_order(garment=garment, state=OrderState.APPROVED)
    screen_hoodie = make_order(garment=hoodie, state=OrderState.IN_PRODUCTION)
    set_technique(screen_hoodie, "screen")

    response = ops_client.get("/ops/board/?technique=screen")
    assert refs(response, "queued") == [screen_tee.reference]
    assert refs(response, "printing") == [screen_hoodie.reference]
    assert column(response, "queued").total == 1
    response = ops_client.get(f"/ops/board/?garment={hoodie.pk}")
    assert (refs(response, "queued"), refs(response, "printing")) == (
        [],
        [screen_hoodie.reference],
    )
    response = ops_client.get(f"/ops/board/?technique=dtg&garment={garment.pk}")
    assert refs(response, "queued") == [screen_tee.reference, dtg_tee.reference]
    page = response.content.decode()
    assert '<option value="dtg" selected>' in page
    assert f'<option value="{garment.pk}" selected>Classic Tee</option>' in page
    # The move forms and the live refresh keep the filters (a station's bookmarked screen).
    assert f'name="filters" value="technique=dtg&amp;garment={garment.pk}"' in page
    assert f'data-fragment-url="/ops/board/?technique=dtg&amp;garment={garment.pk}' in page

    response = ops_client.get("/ops/board/?technique=laser&garment=x")
    assert refs(response, "queued") == [screen_tee.reference, dtg_tee.reference]
    assert "Unknown technique “laser”: showing every technique." in response.content.decode()


def test_the_board_runs_the_same_queries_for_many_orders(ops_client, garment):
    def board_queries() -> int:
        ops_client.get("/ops/board/")  # the session and permissions, as on every page
        with CaptureQueriesContext(connection) as queries:
            response = ops_client.get("/ops/board/?technique=dtg")
        assert response.status_code == 200
        last_queries[:] = queries.captured_queries
        return len(queries)

    last_queries: list[dict] = []

    def add(n: int) -> None:
        for state in [OrderState.SUBMITTED, OrderState.APPROVED, OrderState.IN_PRODUCTION][:n]:
            make_order(garment=garment, state=state)
        make_order(garment=GarmentFactory(), state=OrderState.APPROVED)

    add(1)
    few = board_queries()
    add(3)
    add(3)
    hold(make_order(garment=garment, state=OrderState.APPROVED))
    assert board_queries() == few
    # counts, cards, garments, the colours and placements of the cards shown and which of them
    # wait for a new proof (the operator and their access are cached): line items are read once,
    # for the cards shown only
    assert few == 6
    assert sum("production_lineitem" in q["sql"] for q in last_queries) == 1


def test_other_screens_get_the_first_screens_read_until_an_order_changes(
    ops_client, operator, garment
):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    ops_client.get("/ops/scan/")  # the session, as on every page
    with CaptureQueriesContext(connection) as first:
        ops_client.get("/ops/board/")
    with CaptureQueriesContext(connection) as again:
        response = ops_client.get("/ops/board/")
    assert refs(response, "queued") == [order.reference]
    # None: the user and their access are cached, the board is the shared copy.
    assert (len(first), len(again)) == (6, 0)
    assert not any("production_productionorder" in q["sql"] for q in again.captured_queries)

    # A change through the services, from any surface, is on the very next read of every screen.
    transition_order(
        order=order.pk, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
    )
    response = ops_client.get("/ops/board/?fragment=1")
    assert refs(response, "queued") == []
    assert refs(response, "printing") == [order.reference]
    assert column(response, "printing").total == 1


def test_a_shared_board_still_gives_each_operator_their_own_csrf_token(operator, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    other = operator_user(email="second-operator@example.com")
    pages = {}
    for user in (operator, other):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        page = client.get("/ops/board/").content.decode()
        pages[user.pk] = (client, page)
    tokens = {
        pk: set(
            re.findall(
                r'name="csrfmiddlewaretoken" value="([^"]+)"', card_html(page, order.reference)
            )
        )
        for pk, (_, page) in pages.items()
    }
    assert all(len(found) == 1 for found in tokens.values())
    client, page = pages[other.pk]
    (token,) = tokens[other.pk]
    response = client.post(
        "/ops/board/move",
        {"order": order.pk, "stage": "printing", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderState.IN_PRODUCTION


def test_the_fragment_is_just_the_columns(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    fragment = ops_client.get("/ops/board/?fragment=1").content.decode()
    assert fragment.startswith('<div class="board-columns"')
    assert order.reference in fragment
    assert "<html" not in fragment


def move(client: Client, order: ProductionOrder, stage: str, **extra) -> dict:
    response = client.post(
        "/ops/board/move",
        {"order": order.pk, "stage": stage, **extra},
        headers={"Accept": "application/json"},
    )
    return response.json()


def test_moving_a_card_asks_the_services(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    events = order.events.count()
    assert move(ops_client, order, "printing") == {
        "ok": True,
        "outcome": "moved",
        "message": "Moved to Printing",
        "reference": order.reference,
        "stage": "printing",
    }
    order.refresh_from_db()
    assert (order.status, order.production_status) == ("in_production", "Printing")
    assert order.events.count() == events + 1

    refused = move(ops_client, order, "ready")
    assert refused["ok"] is False
    assert refused["message"] == "Finish printing first: the order is at Printing."
    back = move(ops_client, order, "queued")
    assert back["message"] == "The order is In production: it cannot go back to Approved."
    order.refresh_from_db()
    assert order.production_status == "Printing"
    assert order.events.count() == events + 1


def test_spec_review_to_queued_approves_the_artwork_unless_a_proof_waits(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.SUBMITTED)
    waiting = make_order(garment=garment, state=OrderState.SUBMITTED)
    make_proof(waiting)
    assert move(ops_client, order, "queued")["outcome"] == "moved"
    order.refresh_from_db()
    assert order.status == OrderState.APPROVED
    assert move(ops_client, waiting, "queued")["message"] == (
        "The customer has not answered proof 1 yet."
    )
    held = hold(make_order(garment=garment, state=OrderState.APPROVED))
    assert move(ops_client, held, "printing")["message"] == (
        "Release the hold first: the order is on hold."
    )


def test_without_javascript_the_move_menu_redirects_back_with_the_outcome(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    response = ops_client.post(
        "/ops/board/move",
        {"order": order.pk, "stage": "finishing", "filters": "technique=dtg&evil=1"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/ops/board/?technique=dtg"
    page = ops_client.get(response["Location"]).content.decode()
    assert f"{order.reference}: Start production first: the order is Approved." in page
    response = ops_client.post("/ops/board/move", {"order": order.pk, "stage": "printing"})
    page = ops_client.get(response["Location"]).content.decode()
    assert f"{order.reference}: Moved to Printing" in page
    bad = ops_client.post("/ops/board/move", {"order": order.pk, "stage": "shipped"})
    assert bad.status_code == 302
    assert "Choose an order and a stage" in ops_client.get(bad["Location"]).content.decode()


def test_the_board_is_for_operators_and_moves_need_the_csrf_token(
    operator, customer_client, customer, garment
):
    order = make_order(owner=customer, garment=garment, state=OrderState.APPROVED)
    for client, expected in ((customer_client, 403), (Client(), 302)):
        assert client.get("/ops/board/").status_code == expected
        assert client.get("/ops/board/?fragment=1").status_code == expected
        response = client.post("/ops/board/move", {"order": order.pk, "stage": "printing"})
        assert response.status_code == expected
    assert Client().get("/ops/board/")["Location"] == "/accounts/login/?next=/ops/board/"

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/ops/board/move", {"order": order.pk, "stage": "printing"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderState.APPROVED
    page = client.get("/ops/board/").content.decode()
    assert page.count("csrfmiddlewaretoken") == page.count('method="post"')
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = client.post(
        "/ops/board/move",
        {"order": order.pk, "stage": "printing"},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert response.json()["outcome"] == "moved"


def test_each_column_shows_its_first_cards_and_counts_all_with_the_filters(
    ops_client, garment, settings
):
    settings.OPS_BOARD_COLUMN_LIMIT = 2
    hoodie = GarmentFactory(name="Hoodie")
    queued = [due_in(make_order(garment=garment, state=OrderState.APPROVED), d) for d in (3, 1, 2)]
    held = [due_in(hold(make_order(garment=garment, state=OrderState.APPROVED)), d) for d in (5, 4)]
    held.append(hold(make_order(garment=garment, state=OrderState.APPROVED)))
    ProductionOrder.objects.filter(pk=held[2].pk).update(due_date=None)  # no due date: last
    embroidered = due_in(make_order(garment=hoodie, state=OrderState.APPROVED), 9)
    set_technique(embroidered, "embroidery", sizes=["L"])
    set_technique(queued[2], "embroidery")

    response = ops_client.get("/ops/board/")
    col = column(response, "queued")
    assert refs(response, "queued") == [queued[1].reference, queued[2].reference]
    assert refs(response, "queued", held=True) == [held[1].reference, held[0].reference]
    assert (col.total, col.held_total, col.hidden) == (7, 3, 3)

    response = ops_client.get("/ops/board/?technique=embroidery")
    col = column(response, "queued")
    assert refs(response, "queued") == [queued[2].reference, embroidered.reference]
    assert (col.total, col.held_total, refs(response, "queued", held=True)) == (2, 0, [])
    page = response.content.decode()
    assert "Hoodie · 5 pcs · DTG · Embr." in card_html(page, embroidered.reference)
    assert "Classic Tee · 5 pcs · Embr." in card_html(page, queued[2].reference)

    response = ops_client.get(f"/ops/board/?technique=dtg&garment={garment.pk}")
    col = column(response, "queued")
    assert refs(response, "queued") == [queued[1].reference, queued[0].reference]
    assert (col.total, col.held_total) == (5, 3)
    assert refs(response, "queued", held=True) == [held[1].reference, held[0].reference]
