"""In a real browser: scan stations moved by a keyboard-wedge scanner, and the production board
following them live; cards dragged (and refused) or moved with the keyboard; phone and tablet."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import asgi_server, browser_type_launch_args  # noqa: F401

pytestmark = pytest.mark.browser


def operator_page(page, server, seed):
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["operator_session"], "url": server.url}]
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def card_in(board, stage: str, reference: str):
    return board.locator(
        f'.board-column[data-stage="{stage}"] .board-card[data-reference="{reference}"]'
    )


def test_three_stations_in_order_move_the_card_on_a_live_board(
    page,
    asgi_server,  # noqa: F811
):
    server, seed = asgi_server
    errors = operator_page(page, server, seed)
    ref = seed["reference"]
    board = page.context.new_page()
    board.on("pageerror", lambda error: errors.append(str(error)))
    board.goto(f"{server.url}/ops/board/")
    expect(board.locator("#live-status")).to_have_text("Live")
    expect(card_in(board, "queued", ref)).to_be_visible()
    board.evaluate("window.__sameDocument = true")  # a reload would drop this marker

    station = page
    field = station.locator("#scan-code")
    result = station.locator("#scan-result")
    for key, label in (("printing", "Printing"), ("finishing", "Finishing"), ("ready", "Ready")):
        station.goto(f"{server.url}/ops/scan/{key}/")
        expect(field).to_be_focused()
        # As a USB scanner does: it types into whatever has the focus, then Enter.
        station.keyboard.type(ref.lower())
        station.keyboard.press("Enter")
        expect(result).to_have_class("scan-result ok moved flash")
        expect(result.locator('[data-field="headline"]')).to_have_text(ref)
        expect(result.locator('[data-field="message"]')).to_have_text(f"Moved to {label}")
        expect(result.locator('[data-field="customer"]')).to_have_text("live-customer@example.com")
        expect(field).to_be_focused()
        expect(field).to_have_value("")
        expect(card_in(board, key, ref)).to_be_visible()  # the board followed, no reload
        expect(board.locator(f'[data-count="{key}"]')).to_have_text("1")

    # A second scan of the same ticket: harmless, said so; then a code that is no order.
    station.keyboard.type(ref)
    station.keyboard.press("Enter")
    expect(result).to_have_class("scan-result ok already flash")
    expect(result.locator('[data-field="message"]')).to_have_text("Already at Ready")
    station.keyboard.type("ORD-999999")
    station.keyboard.press("Enter")
    expect(result).to_have_class("scan-result refused unknown flash")
    expect(result.locator('[data-field="message"]')).to_have_text(
        "No order ORD-999999: check the reference on the ticket."
    )
    log = station.locator("#scan-log li")
    expect(log).to_have_count(3)
    expect(log.first).to_contain_text("ORD-999999")
    # Clicking elsewhere on the page gives the scanner its field back.
    station.locator("h1").click()
    expect(field).to_be_focused()
    station.reload()  # the last scans are kept
    expect(station.locator("#scan-log li")).to_have_count(3)
    assert board.evaluate("window.__sameDocument") is True
    assert errors == []


def test_a_refused_drag_snaps_back_with_the_reason(
    page,
    asgi_server,  # noqa: F811
):
    server, seed = asgi_server
    errors = operator_page(page, server, seed)
    ref = seed["reference"]
    page.goto(f"{server.url}/ops/board/")
    card = card_in(page, "queued", ref)
    expect(card).to_be_visible()
    # Picked up by its text (its centre may be the "Move to" menu, which a mouse does not drag).
    card.locator(".card-customer").drag_to(page.locator('.board-column[data-stage="finishing"]'))
    expect(card_in(page, "queued", ref)).to_be_visible()  # back where it was
    expect(card_in(page, "finishing", ref)).to_have_count(0)
    reason = card_in(page, "queued", ref).locator(".card-refusal")
    expect(reason).to_have_text("Start production first: the order is Approved.")

    # An allowed drag moves it, and the board (refetched) keeps it there.
    card_in(page, "queued", ref).locator(".card-customer").drag_to(
        page.locator('.board-column[data-stage="printing"]')
    )
    expect(card_in(page, "printing", ref)).to_be_visible()
    expect(page.locator('[data-count="printing"]')).to_have_text("1")
    expect(page.locator('[data-count="queued"]')).to_have_text("0")
    expect(page.locator("#board-announce")).to_have_text(f"{ref} moved to Printing.")  # confirmed
    assert errors == []


def test_the_keyboard_moves_a_card_too(
    page,
    asgi_server,  # noqa: F811
):
    server, seed = asgi_server
    errors = operator_page(page, server, seed)
    ref = seed["reference"]
    page.goto(f"{server.url}/ops/board/")
    menu = card_in(page, "queued", ref).locator(".card-menu summary")
    menu.focus()
    page.keyboard.press("Enter")  # opens the card's "Move to…" menu
    card_in(page, "queued", ref).get_by_role("button", name="Ready", exact=True).focus()
    page.keyboard.press("Enter")
    expect(card_in(page, "queued", ref).locator(".card-refusal")).to_have_text(
        "Start production first: the order is Approved."
    )
    menu = card_in(page, "queued", ref).locator(".card-menu summary")
    menu.focus()
    page.keyboard.press("Enter")
    card_in(page, "queued", ref).get_by_role("button", name="Printing", exact=True).focus()
    page.keyboard.press("Enter")
    expect(card_in(page, "printing", ref)).to_be_visible()
    # Said to everyone (a polite live region), and the focus stays with the moved card.
    expect(page.locator("#board-announce")).to_have_text(f"{ref} moved to Printing.")
    expect(card_in(page, "printing", ref).locator(".card-menu summary")).to_be_focused()
    assert errors == []


@pytest.mark.parametrize(("width", "height"), [(390, 844), (820, 1180)], ids=["phone", "tablet"])
def test_phone_and_tablet_widths_are_usable(
    page,
    asgi_server,  # noqa: F811
    width,
    height,
):
    server, seed = asgi_server
    errors = operator_page(page, server, seed)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server.url}/ops/scan/printing/")
    field = page.locator("#scan-code")
    expect(field).to_be_focused()
    # 16 px or more: iOS does not zoom the page when the field takes focus.
    assert page.evaluate("parseFloat(getComputedStyle(document.activeElement).fontSize)") >= 16
    box = field.bounding_box()
    assert box["height"] >= 44 and box["width"] >= width * 0.5
    button = page.get_by_role("button", name="Move to Printing").bounding_box()
    assert button["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(f"{server.url}/ops/board/")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    card = card_in(page, "queued", seed["reference"])
    expect(card).to_be_visible()
    assert card.bounding_box()["width"] >= 200  # a column is readable, the board scrolls sideways
    card.locator(".card-menu summary").click()
    menu = card.get_by_role("button", name="Printing", exact=True)
    assert menu.bounding_box()["height"] >= 36
    assert (
        page.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)", menu.element_handle())
        >= 16
    )
    assert errors == []
