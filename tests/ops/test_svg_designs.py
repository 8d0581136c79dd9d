"""SVG designs (every demo design is one) drawn on job tickets and the ops design view: drawn at
thumbnail size, never reaching out to another server or this server's disk, and an XML bomb or
an oversized drawing refused or scaled before it costs anything."""

from __future__ import annotations

import base64
import time
from io import BytesIO

import pytest
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from artwork import svg as design_svg
from ops.design_images import design_thumbnail
from production.lifecycle import OrderState
from production.models import ProductionOrder
from tests.factories import make_order, png_bytes
from tests.ops.test_tickets_designs import design_server, no_connections, url  # noqa: F401
from tests.ops.ticket_support import page_texts

SVG = "http://www.w3.org/2000/svg"
BLUE, RED = (0, 0, 255), (255, 0, 0)


@pytest.fixture(autouse=True)
def _not_our_site(settings):
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    settings.SITE_URL = "https://shop.example.com"
    settings.TICKET_DESIGN_TIMEOUT = 0.5
    settings.TICKET_DESIGN_MAX_BYTES = 200_000


def blue_square_over(image_href: str) -> bytes:
    """A blue square with a red picture drawn over its middle, if the picture can be loaded."""
    return (
        f'<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="200">'
        '<rect width="200" height="200" fill="#0000ff"/>'
        f'<image href="{image_href}" x="50" y="50" width="100" height="100"/>'
        f'<image xlink:href="{image_href}" x="50" y="50" width="100" height="100"/>'
        "</svg>"
    ).encode()


def colour_at(jpeg: bytes, xy: tuple[int, int]) -> tuple[int, int, int]:
    return Image.open(BytesIO(jpeg)).convert("RGB").getpixel(xy)


def near(colour: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(colour, expected, strict=True))  # JPEG's loss


def serve_svg(monkeypatch, body: bytes, extra: dict[str, bytes] | None = None):
    """The thumbnail of `body` served as /d.svg, and every path the server was asked for."""
    with design_server(monkeypatch) as server:
        server.routes["/d.svg"] = (200, {"Content-Type": "image/svg+xml"}, body, 0)
        for path, content in (extra or {}).items():
            server.routes[path] = (200, {"Content-Type": "image/png"}, content, 0)
        thumbnail = design_thumbnail(url(server, "/d.svg"))
        return thumbnail, list(server.requests), server


def test_a_plain_svg_design_is_drawn_at_thumbnail_size(monkeypatch):
    svg = (
        f'<svg xmlns="{SVG}" viewBox="0 0 300 150" width="300" height="150">'
        '<rect width="300" height="150" fill="#0000ff"/>'
        '<circle cx="150" cy="75" r="40" fill="red"/>'
        "</svg>"
    ).encode()

    thumbnail, _, _ = serve_svg(monkeypatch, svg)

    assert thumbnail.reason == ""
    assert Image.open(BytesIO(thumbnail.image)).size == (480, 240)
    assert near(colour_at(thumbnail.image, (20, 20)), BLUE)
    assert near(colour_at(thumbnail.image, (240, 120)), RED)


def test_an_http_reference_inside_an_svg_is_never_requested(monkeypatch):
    with design_server(monkeypatch) as server:
        picture = f"http://127.0.0.1:{server.server_address[1]}/red.png"
        server.routes["/d.svg"] = (200, {}, blue_square_over(picture), 0)
        server.routes["/red.png"] = (200, {}, png_bytes((100, 100), "red"), 0)
        thumbnail = design_thumbnail(url(server, "/d.svg"))
        requested = list(server.requests)

    assert requested == ["/d.svg"]  # the design itself, and nothing it names
    assert near(colour_at(thumbnail.image, (240, 240)), BLUE)


def test_a_file_on_this_server_named_inside_an_svg_is_not_read(monkeypatch, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes((100, 100), "red"))

    for href in (secret.as_uri(), str(secret), "secret.png"):
        monkeypatch.chdir(tmp_path)  # a relative path would be read from the working directory
        thumbnail, _, _ = serve_svg(monkeypatch, blue_square_over(href))

        assert thumbnail.image is not None, href
        assert near(colour_at(thumbnail.image, (240, 240)), BLUE), href


def test_a_picture_embedded_in_the_svg_is_drawn(monkeypatch):
    embedded = "data:image/png;base64," + base64.b64encode(png_bytes((10, 10), "red")).decode()

    thumbnail, _, _ = serve_svg(monkeypatch, blue_square_over(embedded))

    assert near(colour_at(thumbnail.image, (240, 240)), RED)
    assert near(colour_at(thumbnail.image, (20, 20)), BLUE)


def test_an_xml_entity_bomb_is_refused_at_once(monkeypatch):
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE svg [{"".join(levels)}]>'
        f'<svg xmlns="{SVG}" width="10" height="10"><text>&lol9;</text></svg>'
    ).encode()

    started = time.monotonic()
    thumbnail, _, _ = serve_svg(monkeypatch, bomb)

    assert time.monotonic() - started < 2
    assert thumbnail.image is None
    assert thumbnail.reason == (
        "SVG design refused: it declares a DTD or XML entities, which are never expanded."
    )


def test_nested_uses_that_multiply_into_millions_of_shapes_are_refused(monkeypatch):
    uses = {n: "".join(f'<use href="#g{n - 1}" x="{i}"/>' for i in range(10)) for n in range(1, 7)}
    groups = "".join(f'<g id="g{n}">{uses[n]}</g>' for n in range(1, 7))
    svg = (
        f'<svg xmlns="{SVG}" width="100" height="100"><defs><rect id="g0" width="1" height="1"/>'
        f'{groups}</defs><use href="#g6"/></svg>'
    ).encode()

    thumbnail, _, _ = serve_svg(monkeypatch, svg)

    assert thumbnail.reason == "SVG design refused: it draws more than 20,000 elements."


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [("100000", "100000", (480, 480)), ("4000", "1000", (480, 120)), ("50in", "25in", (480, 240))],
)
def test_a_huge_svg_is_drawn_straight_at_thumbnail_size(width, height, size, monkeypatch):
    svg = (
        f'<svg xmlns="{SVG}" width="{width}" height="{height}" viewBox="0 0 400 400" '
        'preserveAspectRatio="none"><rect width="400" height="400" fill="#0000ff"/></svg>'
    ).encode()

    started = time.monotonic()
    thumbnail, _, _ = serve_svg(monkeypatch, svg)

    assert time.monotonic() - started < 2
    assert Image.open(BytesIO(thumbnail.image)).size == size
    assert near(colour_at(thumbnail.image, (size[0] // 2, size[1] // 2)), BLUE)


def test_a_non_svg_xml_file_or_broken_svg_gets_a_placeholder(monkeypatch):
    not_svg, _, _ = serve_svg(monkeypatch, b'<?xml version="1.0"?><feed><svg/></feed>')
    broken, _, _ = serve_svg(monkeypatch, f'<svg xmlns="{SVG}"><rect></svg>'.encode())

    assert not_svg.reason == "The design is not an SVG image."
    assert broken.reason == "The SVG design is not valid XML."


def test_a_png_design_is_still_drawn_as_before(monkeypatch):
    with design_server(monkeypatch) as server:
        server.routes["/d.png"] = (200, {}, png_bytes((600, 300), "red"), 0)
        thumbnail = design_thumbnail(url(server, "/d.png"))

    assert Image.open(BytesIO(thumbnail.image)).size == (480, 240)
    assert near(colour_at(thumbnail.image, (240, 120)), RED)


def test_a_ticket_for_a_demo_design_shows_the_design(settings, no_connections, operator):  # noqa: F811
    from django.test import Client

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    settings.SITE_URL = "http://127.0.0.1:8000"
    order = make_order(state=OrderState.SUBMITTED)
    ProductionOrder.objects.filter(pk=order.pk).update(
        design_url="http://127.0.0.1:8000/static/demo/design-1.svg"
    )
    client = Client()
    client.force_login(operator)

    response = client.post(reverse("ops:order-ticket", args=[order.pk]))

    assert "No design preview" not in page_texts(response.content)[0]
    [design] = [
        i for i in PdfReader(BytesIO(response.content)).pages[0].images if i.name.endswith(".jpg")
    ]
    assert design.image.size == (480, 480)
    assert near(design.image.convert("RGB").getpixel((10, 10)), (0x06, 0xD6, 0xA0))  # its green
    assert no_connections == []


def test_the_ops_design_view_shows_a_remote_svg_as_a_jpeg(ops_client, monkeypatch):
    order = make_order(state=OrderState.SUBMITTED)
    with design_server(monkeypatch) as server:
        server.routes["/d.svg"] = (200, {}, blue_square_over("#nothing"), 0)
        ProductionOrder.objects.filter(pk=order.pk).update(design_url=url(server, "/d.svg"))
        image = ops_client.get(reverse("ops:order-design", args=[order.pk]))

    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert near(colour_at(image.content, (240, 240)), BLUE)


def test_an_svg_that_takes_too_long_to_draw_is_stopped(monkeypatch):
    monkeypatch.setattr(design_svg, "SVG_RENDER_SECONDS", 0.5)
    blurred = '<rect width="480" height="480" fill="red" filter="url(#f)"/>' * 200
    svg = (
        f'<svg xmlns="{SVG}" width="480" height="480"><defs>'
        '<filter id="f" x="-1000%" y="-1000%" width="3000%" height="3000%">'
        f'<feGaussianBlur stdDeviation="5000"/></filter></defs>{blurred}</svg>'
    ).encode()  # a blur over 30 times the canvas, 200 times: minutes of drawing

    started = time.monotonic()
    thumbnail, _, _ = serve_svg(monkeypatch, svg)

    assert time.monotonic() - started < 3
    assert thumbnail.reason == "SVG design refused: it takes longer than 0.5 s to draw."
