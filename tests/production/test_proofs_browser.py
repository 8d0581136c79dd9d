"""Artwork proofs in real browsers: the operator sends, the customer answers, both pages follow
live."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import browser_type_launch_args  # noqa: F401
from tests.factories import png_bytes
from tests.realtime_support import prepare_database, run_json, server_env, serving

pytestmark = pytest.mark.browser

SEED_SUBMITTED = """
import django, json
django.setup()
from django.contrib.auth import get_user_model
from production.lifecycle import OrderState
from tests.factories import GarmentFactory, make_order
customer = get_user_model().objects.get(email="live-customer@example.com")
order = make_order(owner=customer, garment=GarmentFactory(name="Proof Tee"),
                   state=OrderState.SUBMITTED)
print(json.dumps({"order_id": str(order.pk)}))
"""


@pytest.fixture
def proof_server(tmp_path):
    """daphne (HTTP + sockets) with its own SQLite file and media directory, and a paid order."""
    env = server_env(
        f"sqlite:///{tmp_path / 'browser.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media")
    )
    seed = prepare_database(env, static=True)
    seed |= run_json(env, SEED_SUBMITTED)
    with serving(env) as server:
        yield server, seed


def send_proof(ops, revision: int, notes: str) -> None:
    ops.set_input_files(
        "#proof-file",
        {"name": f"mockup-{revision}.png", "mimeType": "image/png", "buffer": png_bytes()},
    )
    ops.fill("#proof-notes", notes)
    ops.get_by_role("button", name=f"Send proof {revision}").click()
    expect(ops.locator(".messages")).to_contain_text(f"proof {revision} sent to the customer")
    ops.evaluate("window.__sameDocument = true")  # the operator's own post reloaded the page


def test_a_proof_round_trip_updates_both_pages_live(page, browser, proof_server):
    server, seed = proof_server
    order_id = seed["order_id"]
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["customer_session"], "url": server.url}]
    )
    page.goto(f"{server.url}/orders/{order_id}/")
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator("#proof-section")).to_be_hidden()
    page.evaluate("window.__sameDocument = true")  # a reload would drop this marker

    operator = browser.new_context()
    operator.add_cookies(
        [{"name": "sessionid", "value": seed["operator_session"], "url": server.url}]
    )
    ops = operator.new_page()
    ops.goto(f"{server.url}/ops/orders/{order_id}/")

    # The operator sends proof 1: the customer's open page shows it.
    send_proof(ops, 1, "Chest, 25 cm wide")
    waiting = page.locator("#proof-waiting")
    expect(waiting).to_be_visible()
    expect(waiting.locator('[data-proof="revision"]')).to_have_text("1")
    expect(waiting.locator('[data-proof="notes"]')).to_have_text("Chest, 25 cm wide")
    expect(waiting.locator('img[data-proof="image"]')).to_have_attribute(
        "src", f"/orders/{order_id}/proofs/1/file"
    )
    # Loaded (CSP allows it, the view serves it to the owner): the 40 px mockup.
    expect(waiting.locator('img[data-proof="image"]')).to_have_js_property("naturalWidth", 40)
    expect(page.locator("#timeline li").first).to_contain_text("Proof 1 sent for your approval")

    # The customer asks for a change: the operator's page shows it.
    page.fill("#proof-comment", "Move the logo 2 cm up")
    page.get_by_role("button", name="Request changes").click()
    expect(waiting).to_be_hidden()
    expect(page.locator("#proof-history li")).to_contain_text(["Changes requested"])
    expect(page.locator("#timeline li").first).to_contain_text(
        "Changes requested to proof 1: Move the logo 2 cm up"
    )
    # The page says what happens now, and the confirmation fades beside the live badge.
    expect(page.locator("#order-stage")).to_have_text(
        "Changes requested — the shop is preparing a new proof"
    )
    expect(page.locator("#action-notice")).to_contain_text("your changes to proof 1 were sent")
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator("#action-notice")).to_be_hidden(timeout=10_000)
    expect(ops.locator('#proof-revisions tr[data-revision="1"]')).to_contain_text(
        "Move the logo 2 cm up"
    )
    assert ops.evaluate("window.__sameDocument") is True

    # Revision 2, then the customer approves it: approved on both pages, neither reloaded.
    send_proof(ops, 2, "Logo moved up")
    expect(waiting.locator('[data-proof="revision"]')).to_have_text("2")
    expect(waiting.locator('[data-proof="notes"]')).to_have_text("Logo moved up")
    # Approving cannot be undone: a dialog shows the proof again and asks first.
    page.get_by_role("button", name="Approve for print…").click()
    dialog = page.locator("#proof-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Approve for print?")
    expect(dialog.locator('img[data-proof="confirm-image"]')).to_have_attribute(
        "src", f"/orders/{order_id}/proofs/2/file"
    )
    dialog.get_by_role("button", name="Not yet").click()
    expect(dialog).to_be_hidden()
    expect(waiting).to_be_visible()  # nothing was sent
    page.get_by_role("button", name="Approve for print…").click()
    dialog.get_by_role("button", name="Yes, approve for print").click()
    expect(page.locator("#order-stage")).to_have_text("Artwork approved — waiting to be printed")
    expect(waiting).to_be_hidden()
    expect(page.locator("#timeline li").first).to_contain_text("Proof 2 approved")
    expect(page.locator("#action-notice")).to_contain_text("proof 2 approved")
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(ops.locator("#order-state")).to_have_text("Approved")
    expect(ops.locator('#proof-revisions tr[data-revision="2"]')).to_contain_text("Approved")
    assert page.evaluate("window.__sameDocument") is True
    assert ops.evaluate("window.__sameDocument") is True

    # The image is served to the customer, as an image.
    response = page.request.get(f"{server.url}/orders/{order_id}/proofs/2/file")
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    operator.close()
