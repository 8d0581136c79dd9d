import base64
import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from production.lifecycle import EventSource, OrderState, Priority
from production.services.orders import update_order
from production.services.proofs import decide_proof
from tests.factories import GarmentFactory, UserFactory, make_order
from tests.ops.conftest import created_on, references

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(garment, operator):
    """A small shop: one order in each interesting situation."""
    hoodie = GarmentFactory(name="Heavyweight Hoodie")
    ada = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    bob = UserFactory(email="bob@builders.example", first_name="Bob", last_name="Stone")
    orders = {
        "draft": make_order(owner=ada, garment=garment),
        "rush_submitted": make_order(
            owner=bob, garment=hoodie, priority=Priority.RUSH, state=OrderState.SUBMITTED
        ),
        "held_approved": make_order(
            owner=ada, garment=garment, priority=Priority.HOLD, state=OrderState.APPROVED
        ),
        "rush_printing": make_order(
            owner=ada,
            garment=hoodie,
            priority=Priority.RUSH,
            state=OrderState.IN_PRODUCTION,
            operator=operator,
        ),
        "fulfilled": make_order(owner=bob, garment=garment, state=OrderState.FULFILLED),
    }
    for days_ago, order in zip((50, 40, 30, 20, 10), orders.values(), strict=True):
        created_on(order, dt.date.today() - dt.timedelta(days=days_ago))
    return {name: order.__class__.objects.get(pk=order.pk) for name, order in orders.items()}


def refs(shop, *names):
    return [shop[name].reference for name in names]


def test_rows_show_every_column_newest_first(ops_client, shop):
    response = ops_client.get("/ops/orders")
    assert references(response) == refs(
        shop, "fulfilled", "rush_printing", "held_approved", "rush_submitted", "draft"
    )
    html = response.content.decode()
    for header in ("Reference", "Customer", "Garment", "Qty", "Status", "Due in"):
        assert f"<th>{header}</th>" in html or f'<th class="num">{header}</th>' in html
    assert "<th>Order state</th>" not in html  # one status, as an operator says it
    row = next(
        r for r in response.context["rows"] if r.reference == shop["rush_printing"].reference
    )
    assert (row.customer_name, row.email, row.garment) == (
        "Ada Lovelace",
        "ada@example.com",
        "Heavyweight Hoodie",
    )
    assert (row.quantity, row.status_label, row.production_status, row.priority) == (
        5,
        "Printing",
        "Printing",
        "rush",
    )
    assert row.eta == "3 d"
    assert '<span data-count="matching">5</span> matching' in html


def test_rush_rows_stand_out_and_held_rows_look_paused(ops_client, shop):
    html = ops_client.get("/ops/orders").content.decode()
    assert f'data-order-id="{shop["rush_submitted"].id}" class="rush"' in html
    assert f'data-order-id="{shop["held_approved"].id}" class="held"' in html
    assert '<span class="badge hold">On hold</span>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=submitted", ["rush_submitted"]),
        ("status=submitted&status=draft", ["rush_submitted", "draft"]),
        ("productionStatus=Queued", ["held_approved", "rush_submitted"]),
        ("productionStatus=Printing", ["rush_printing"]),
        ("priority=rush", ["rush_printing", "rush_submitted"]),
        ("priority=hold", ["held_approved"]),
        ("priority=rush&status=in_production", ["rush_printing"]),
        ("priority=rush&productionStatus=Queued", ["rush_submitted"]),
        ("priority=standard&status=fulfilled", ["fulfilled"]),
        ("status=canceled", []),
    ],
)
def test_each_filter_and_combination(ops_client, shop, query, expected):
    assert references(ops_client.get(f"/ops/orders?{query}")) == refs(shop, *expected)


def test_created_date_range_includes_both_whole_days(ops_client, shop):
    today = dt.date.today()
    frm, to = today - dt.timedelta(days=40), today - dt.timedelta(days=20)
    response = ops_client.get(f"/ops/orders?createdFrom={frm}&createdTo={to}")
    assert references(response) == refs(shop, "rush_printing", "held_approved", "rush_submitted")
    response = ops_client.get(f"/ops/orders?createdFrom={frm}&createdTo={to}&priority=rush")
    assert references(response) == refs(shop, "rush_printing", "rush_submitted")


def test_an_invalid_filter_value_is_reported_and_ignored(ops_client, shop):
    response = ops_client.get("/ops/orders?createdFrom=yesterday&priority=rush")
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
    assert references(response) == refs(shop, "rush_printing", "rush_submitted")


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ada@example.com", ["rush_printing", "held_approved", "draft"]),
        ("ADA@", ["rush_printing", "held_approved", "draft"]),
        ("bob", ["fulfilled", "rush_submitted"]),
        ("Lovelace", ["rush_printing", "held_approved", "draft"]),
        ("ada love", ["rush_printing", "held_approved", "draft"]),
        ("hoodie", ["rush_printing", "rush_submitted"]),
        ("hoodie ada", ["rush_printing"]),
        ("nobody", []),
    ],
)
def test_search_by_customer_and_garment(ops_client, shop, search, expected):
    response = ops_client.get("/ops/orders", {"q": search})
    assert references(response) == refs(shop, *expected)


def test_search_by_reference_or_its_prefix(ops_client, shop):
    order = shop["held_approved"]
    number = int(order.reference.removeprefix("ORD-"))
    assert references(ops_client.get("/ops/orders", {"q": order.reference})) == [order.reference]
    assert references(ops_client.get("/ops/orders", {"q": order.reference.lower()})) == [
        order.reference
    ]
    assert references(ops_client.get("/ops/orders", {"q": str(number)})) == [order.reference]
    prefix = order.reference[:-1]  # e.g. ORD-00001 (sequences do not restart per test)
    expected = sorted(o.reference for o in shop.values() if o.reference.startswith(prefix))
    assert sorted(references(ops_client.get("/ops/orders", {"q": prefix}))) == expected
    assert order.reference in expected


def test_search_by_a_reference_without_its_zero_padding(ops_client, shop):
    order = shop["held_approved"]
    number = int(order.reference.removeprefix("ORD-"))
    for typed in (f"ORD-{number}", f"ord-{number:04d}", f"{number:06d}", str(number)):
        found = references(ops_client.get("/ops/orders", {"q": typed}))
        assert order.reference in found, typed
        digits = typed.upper().removeprefix("ORD-")
        assert all(ref == order.reference or ref.startswith(f"ORD-{digits}") for ref in found)


def test_search_combines_with_filters(ops_client, shop):
    response = ops_client.get("/ops/orders", {"q": "ada", "priority": "rush"})
    assert references(response) == refs(shop, "rush_printing")


def test_sort_by_priority_eta_and_oldest(ops_client, shop):
    by_priority = references(ops_client.get("/ops/orders?sort=priority"))
    assert by_priority == refs(
        shop, "rush_printing", "rush_submitted", "fulfilled", "draft", "held_approved"
    )
    oldest = references(ops_client.get("/ops/orders?sort=created"))
    assert oldest == refs(
        shop, "draft", "rush_submitted", "held_approved", "rush_printing", "fulfilled"
    )
    # Soonest due first (rush is due in 3 days, standard in 7); drafts have no date yet, and
    # finished orders come last.
    by_eta = references(ops_client.get("/ops/orders?sort=eta"))
    assert by_eta == refs(
        shop, "rush_submitted", "rush_printing", "held_approved", "draft", "fulfilled"
    )


def test_state_tabs_count_within_the_other_filters(ops_client, shop):
    response = ops_client.get("/ops/orders?priority=rush&status=submitted")
    tabs = {tab["label"]: (tab["count"], tab["active"]) for tab in response.context["tabs"]}
    assert tabs == {
        "All": ("2", False),
        "Draft": ("0", False),
        "Submitted": ("1", True),
        "Approved": ("0", False),
        "In production": ("1", False),
        "Fulfilled": ("0", False),
        "Canceled": ("0", False),
    }
    submitted_tab = response.context["tabs"][2]
    assert submitted_tab["url"] == "/ops/orders?priority=rush&status=submitted"


def test_counts_stop_at_the_cap(ops_client, shop, garment, settings):
    settings.OPS_COUNT_CAP = 2
    make_order(garment=garment)
    make_order(garment=garment)
    response = ops_client.get("/ops/orders")
    tabs = {tab["label"]: tab["count"] for tab in response.context["tabs"]}
    assert (tabs["All"], tabs["Draft"], tabs["Submitted"]) == ("2+", "2+", "1")
    html = response.content.decode()
    assert '<span data-count="matching">2+</span> matching' in html
    assert "Page 1<" in html  # no "of N": the total is not known
    assert references(ops_client.get("/ops/orders?status=submitted")) == refs(
        shop, "rush_submitted"
    )


def test_filters_live_in_the_url_and_survive_paging(ops_client, garment):
    for _ in range(25):
        make_order(garment=garment, priority=Priority.RUSH)
    first = ops_client.get("/ops/orders?priority=rush&q=ORD")
    assert len(first.context["rows"]) == 20
    next_url = first.context["links"]["next"]
    assert next_url.startswith("/ops/orders?priority=rush&q=ORD&after=")
    second = ops_client.get(next_url)
    assert len(second.context["rows"]) == 5
    assert second.context["page"].number == 2
    assert second.context["links"]["next"] is None
    assert "Page 2 of 2" in second.content.decode()


def test_keyset_pages_walk_forward_back_and_to_the_end(ops_client, garment):
    orders = [make_order(garment=garment) for _ in range(45)]
    newest_first = [o.reference for o in reversed(orders)]
    seen = []
    response = ops_client.get("/ops/orders")
    while True:
        seen.extend(references(response))
        if not response.context["links"]["next"]:
            break
        response = ops_client.get(response.context["links"]["next"])
    assert seen == newest_first
    assert response.context["page"].number == 3

    back = ops_client.get(response.context["links"]["previous"])
    assert references(back) == newest_first[20:40]
    assert back.context["page"].number == 2
    back = ops_client.get(back.context["links"]["previous"])
    assert references(back) == newest_first[:20]
    assert back.context["links"]["previous"] is None

    last = ops_client.get("/ops/orders?last=1")
    assert references(last) == newest_first[40:]
    assert last.context["page"].number == 3


def test_pages_in_other_sorts_do_not_repeat_or_skip(ops_client, garment):
    for i in range(30):
        make_order(
            garment=garment, priority=[Priority.RUSH, Priority.STANDARD, Priority.HOLD][i % 3]
        )
    for sort in ("priority", "eta", "created"):
        everything = references(ops_client.get(f"/ops/orders?sort={sort}&q=ORD"))
        response = ops_client.get(f"/ops/orders?sort={sort}")
        seen = references(response)
        seen += references(ops_client.get(response.context["links"]["next"]))
        assert len(seen) == len(set(seen)) == 30
        assert seen[:20] == everything[:20]


def test_a_broken_or_foreign_cursor_shows_the_first_page(ops_client, shop):
    first = references(ops_client.get("/ops/orders"))
    assert references(ops_client.get("/ops/orders?after=not-a-cursor&page=7")) == first
    cursor = ops_client.get("/ops/orders?sort=priority").context["page"].last_cursor
    assert references(ops_client.get(f"/ops/orders?after={cursor}")) == first


def crafted(payload) -> str:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


UUID_HEX = "0" * 32
NEW_YEAR = "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        (
            "priority",
            crafted({"s": "priority", "v": [2**70, "2026-01-01T00:00:00+00:00", UUID_HEX]}),
        ),
        (
            "priority",
            crafted({"s": "priority", "v": [2**40, "2026-01-01T00:00:00+00:00", UUID_HEX]}),
        ),
        ("-created", crafted({"s": "-created", "v": ["0001-01-01T00:00:00+01:00", UUID_HEX]})),
        ("-created", crafted({"s": "-created", "v": ["9999-12-31T23:59:59-01:00", UUID_HEX]})),
        ("eta", crafted({"s": "eta", "v": [[], NEW_YEAR, UUID_HEX]})),
        ("-created", crafted({"s": "-created", "v": [None, None]})),
        ("-created", crafted('{"s": "-created", "v": ' + "[" * 50000)),
        ("-created", crafted([1, 2])),
        ("-created", crafted("\u0000")),
        ("-created", "A" * 100000),
        ("-created", "%00%ff"),
    ],
)
def test_a_crafted_cursor_shows_the_first_page(ops_client, shop, sort, cursor):
    first = references(ops_client.get(f"/ops/orders?sort={sort}"))
    for param in ("after", "before"):
        response = ops_client.get(f"/ops/orders?sort={sort}&{param}={cursor}&page=" + "9" * 5000)
        assert response.status_code == 200
        assert references(response) == first


def test_an_empty_list_says_so(ops_client):
    response = ops_client.get("/ops/orders?status=canceled")
    assert "No orders match these filters." in response.content.decode()


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/ops/orders").status_code == 200
    return len(queries)


def test_the_list_runs_as_many_queries_for_500_orders_as_for_5(ops_client, garment, operator):
    owners = [UserFactory() for _ in range(5)]
    for i in range(5):
        make_order(owner=owners[i], garment=garment, state=OrderState.SUBMITTED)
    ops_client.get("/ops/scan/")  # the operator's access, cached from their first page
    few = _page_queries(ops_client)
    garments = [GarmentFactory() for _ in range(5)]
    for i in range(495):
        order = make_order(
            owner=owners[i % 5],
            garment=garments[i % 5],
            priority=Priority.RUSH,
            state=OrderState.SUBMITTED,
            operator=operator,
        )
        if i % 7 == 0:
            update_order(
                order=order, actor=operator, source=EventSource.OPERATOR, priority=Priority.HOLD
            )
    ops_client.get("/ops/scan/")  # again: the test cache keeps only so many entries
    many = _page_queries(ops_client)
    assert many == few


def test_the_proofs_changes_are_read_by_the_pages_own_query(ops_client, garment, operator):
    """Whether a submitted order waits for a proof the customer asked to change is a subquery
    of the page's query: a page of submitted orders runs no more queries than one without."""
    owner = UserFactory()
    make_order(owner=owner, garment=garment, state=OrderState.SUBMITTED, operator=operator)
    for _ in range(3):
        make_order(owner=owner, garment=garment, state=OrderState.APPROVED, operator=operator)
    ops_client.get("/ops/orders")  # the operator's access, cached from their first page
    with_submitted = _page_queries(ops_client)
    with CaptureQueriesContext(connection) as queries:
        assert ops_client.get("/ops/orders?status=approved").status_code == 200
    assert len(queries) == with_submitted
    assert not any(
        q["sql"].lstrip().startswith('SELECT "production_artworkproof"')
        for q in queries.captured_queries
    )


def test_awaiting_customer_filter_lists_orders_with_a_proof_waiting(
    ops_client, operator, garment, operator_api
):
    from tests.factories import make_proof

    waiting = make_order(garment=garment, state=OrderState.SUBMITTED)
    make_proof(waiting, operator=operator)
    answered = make_order(garment=garment, state=OrderState.SUBMITTED)
    make_proof(answered, operator=operator)
    decide_proof(
        order=answered.pk,
        revision=1,
        decision="approve",
        comment="",
        actor=answered.owner,
        source=EventSource.CUSTOMER,
    )
    plain = make_order(garment=garment, state=OrderState.SUBMITTED)

    page = ops_client.get("/ops/orders", {"proofWaiting": "true"})
    assert references(page) == [waiting.reference]
    assert 'value="true" selected' in page.content.decode()
    assert set(references(ops_client.get("/ops/orders", {"proofWaiting": "false"}))) == {
        answered.reference,
        plain.reference,
    }
    listed = operator_api.get("/api/production", {"proofWaiting": "true"}).json()["orders"]
    assert [order["reference"] for order in listed] == [waiting.reference]


def test_the_counts_endpoint_gives_what_the_page_would_show_now(ops_client, shop, operator):
    query = {"q": "ada", "status": "approved"}
    counts = ops_client.get("/ops/orders/counts", query).json()
    page = ops_client.get("/ops/orders", query).context
    assert counts == {
        "tabs": {tab["value"]: tab["count"] for tab in page["tabs"]},
        "matching": page["total_label"],
    }
    assert counts["matching"] == "1" and counts["tabs"][""] == "3"
    # The held order is released and started: it leaves the Approved tab for In production.
    update_order(
        order=shop["held_approved"],
        actor=operator,
        source=EventSource.OPERATOR,
        priority=Priority.STANDARD,
        status=OrderState.IN_PRODUCTION,
    )
    after = ops_client.get("/ops/orders/counts", query).json()
    assert after["matching"] == "0"
    assert after["tabs"]["approved"] == "0" and after["tabs"]["in_production"] == "2"


def test_the_counts_are_for_operators_only(customer_client, client):
    assert customer_client.get("/ops/orders/counts").status_code == 403
    assert client.get("/ops/orders/counts").status_code == 302


def test_a_narrow_filter_is_counted_in_one_pass_and_a_broad_one_per_state(
    ops_client, garment, operator, settings
):
    """A search matching few orders counts them by state in one statement; one matching more
    than (states × (cap + 1)) counts each state up to the cap. The tabs read the same."""
    settings.OPS_COUNT_CAP = 1
    ada = UserFactory(first_name="Ada", last_name="Quillfeather")
    for _ in range(2):
        make_order(owner=ada, garment=garment)
    make_order(owner=ada, garment=garment, state=OrderState.SUBMITTED, operator=operator)
    ops_client.get("/ops/scan/")  # the operator's access, cached

    def tabs_and_counts_sql(url: str) -> tuple[dict, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            response = ops_client.get(url)
        tabs = {tab["label"]: tab["count"] for tab in response.context["tabs"]}
        sql = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
        return tabs, sql

    tabs, sql = tabs_and_counts_sql("/ops/orders?q=Quillfeather")
    assert (tabs["All"], tabs["Draft"], tabs["Submitted"], tabs["Approved"]) == (
        "1+",
        "1+",
        "1",
        "0",
    )
    assert len(sql) == 1 and "GROUP BY" in sql[0]

    for _ in range(10):  # 13 orders: more than 6 states × (cap + 1)
        make_order(owner=ada, garment=garment)
    ops_client.get("/ops/scan/")
    tabs, sql = tabs_and_counts_sql("/ops/orders?q=Quillfeather")
    assert (tabs["All"], tabs["Draft"], tabs["Submitted"]) == ("1+", "1+", "1")
    assert len(sql) == 2 and "GROUP BY" not in sql[1]
    assert tabs_and_counts_sql("/ops/orders")[1][0].count("LIMIT 2") == 6  # no filter: per state


def test_unfiltered_counts_are_shared_until_an_order_changes(ops_client, garment, operator):
    """The first page and every state tab share one count of the whole list, kept until an
    order changes through the services: the next read after a change counts it."""
    owner = UserFactory()
    make_order(owner=owner, garment=garment, state=OrderState.SUBMITTED, operator=operator)
    ops_client.get("/ops/scan/")  # the operator's access, cached

    def counts(url: str) -> tuple[dict, int]:
        with CaptureQueriesContext(connection) as queries:
            response = ops_client.get(url)
        tabs = {tab["label"]: tab["count"] for tab in response.context["tabs"]}
        return tabs, sum("COUNT(" in q["sql"].upper() for q in queries.captured_queries)

    first, counted = counts("/ops/orders")
    assert counted == 1
    assert counts("/ops/orders") == (first, 0)
    tabs, counted = counts("/ops/orders?status=approved")
    assert (tabs["Submitted"], tabs["Approved"], counted) == ("1", "0", 0)
    order = make_order(owner=owner, garment=garment, state=OrderState.APPROVED, operator=operator)
    tabs, counted = counts("/ops/orders?status=approved")
    assert (tabs["Submitted"], tabs["Approved"], counted) == ("1", "1", 1)
    update_order(
        order=order, actor=operator, source=EventSource.OPERATOR, status=OrderState.IN_PRODUCTION
    )
    tabs, counted = counts("/ops/orders")
    assert (tabs["Approved"], tabs["In production"], counted) == ("0", "1", 1)
