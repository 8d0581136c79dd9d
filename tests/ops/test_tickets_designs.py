"""The design thumbnail on a job ticket: shown when it can be fetched safely, a placeholder
otherwise, and never a request into the shop's own network."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from urllib.parse import urlsplit

import pytest
import urllib3
from django.urls import reverse
from PIL import Image, ImageFile
from pypdf import PdfReader

from artwork import fetch as design_fetch
from ops.design_images import design_thumbnail
from production.lifecycle import OrderState
from production.models import ProductionOrder
from tests.factories import make_order, png_bytes
from tests.ops.ticket_support import page_texts

PRIVATE = "Not fetched: the design URL points inside a private network or at this server."


@pytest.fixture(autouse=True)
def _not_our_site(settings):
    # The site's own names are read from its static files; these tests are about other hosts.
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    settings.SITE_URL = "https://shop.example.com"
    settings.TICKET_DESIGN_TIMEOUT = 0.5
    settings.TICKET_DESIGN_MAX_BYTES = 200_000


@pytest.fixture
def no_connections(monkeypatch, settings) -> list[object]:
    """Any attempt to open a connection fails the test (and is recorded); only the cache's own
    Redis (when the suite runs with REDIS_URL) may still be reached."""
    attempts: list[object] = []
    redis = urlsplit(settings.REDIS_URL) if getattr(settings, "REDIS_URL", "") else None
    cache_server = (redis.hostname, redis.port or 6379) if redis else None
    connect = socket.socket.connect

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"a connection was attempted: {args}")

    def refuse_but_the_cache(sock, address):
        if cache_server is not None and tuple(address[:2]) == cache_server:
            return connect(sock, address)
        return refuse(address)

    monkeypatch.setattr(socket.socket, "connect", refuse_but_the_cache)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", refuse)
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/design.png",
        "http://127.1/design.png",
        "http://2130706433/design.png",  # 127.0.0.1 as one decimal number
        "http://0x7f000001/design.png",
        "http://017700000001/design.png",  # octal
        "http://10.1.2.3/design.png",
        "http://172.16.0.9/design.png",
        "http://192.168.1.20:8080/design.png",
        "http://100.64.0.1/design.png",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://0.0.0.0/design.png",
        "http://224.0.0.1/design.png",
        "http://[::1]/design.png",
        "http://[::]/design.png",
        "http://[fe80::1]/design.png",
        "http://[fd00::5]/design.png",
        "http://[::ffff:127.0.0.1]/design.png",  # IPv4-mapped IPv6
        "http://[::ffff:a9fe:a9fe]/design.png",  # 169.254.169.254, mapped
        "http://[2002:7f00:1::]/design.png",  # 6to4 around 127.0.0.1
        "http://[64:ff9b::a00:1]/design.png",  # NAT64 around 10.0.0.1
        "https://10.0.0.1/design.png",
    ],
)
def test_a_design_inside_a_private_network_is_never_fetched(url, no_connections):
    thumbnail = design_thumbnail(url)

    assert thumbnail.image is None
    assert thumbnail.reason == PRIVATE
    assert no_connections == []


@pytest.mark.parametrize(
    "addresses", [["10.0.0.7"], ["93.184.215.14", "127.0.0.1"], ["2001:db8::1"]]
)
def test_a_host_name_resolving_to_a_private_address_is_never_fetched(
    addresses, monkeypatch, no_connections
):
    monkeypatch.setattr(design_fetch, "resolve", lambda host, port: addresses)

    thumbnail = design_thumbnail("https://designs.attacker.example/x.png")

    assert (thumbnail.image, thumbnail.reason) == (None, PRIVATE)
    assert no_connections == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "Only http and https design URLs are fetched."),
        ("ftp://example.com/design.png", "Only http and https design URLs are fetched."),
        ("gopher://example.com/", "Only http and https design URLs are fetched."),
        (
            "http://user:pw@example.com/d.png",
            "Design URLs with a user name or password are not fetched.",
        ),
        ("http://example.com:99999/d.png", "The design URL is not valid."),
    ],
)
def test_other_schemes_and_odd_urls_are_refused(url, reason, no_connections):
    assert design_thumbnail(url).reason == reason
    assert no_connections == []


def test_the_connection_goes_to_the_vetted_address_so_dns_cannot_switch_it(monkeypatch):
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])  # a rebinding resolver
    resolved: list[str] = []

    def resolve(host, port):
        resolved.append(host)
        return next(answers)

    opened = []

    class Answer:
        status = 404
        headers: dict = {}

        def release_conn(self):
            pass

        def close(self):
            pass

    def open_connection(target, *, timeout):
        opened.append(target)
        return Answer()

    monkeypatch.setattr(design_fetch, "resolve", resolve)
    monkeypatch.setattr(design_fetch, "open_connection", open_connection)

    design_thumbnail("https://cdn.example.net:8443/art/d.png?v=2")

    assert resolved == ["cdn.example.net"]  # resolved once, by us
    [target] = opened
    assert target.address == "93.184.215.14"
    assert target.host_header == "cdn.example.net:8443"
    assert target.host == "cdn.example.net"  # the TLS name and certificate check
    assert target.path == "/art/d.png?v=2"


def test_a_ticket_for_a_private_design_shows_the_placeholder(settings, no_connections, operator):
    from django.test import Client

    order = make_order(state=OrderState.SUBMITTED)
    ProductionOrder.objects.filter(pk=order.pk).update(design_url="http://169.254.169.254/x")
    client = Client()
    client.force_login(operator)

    response = client.post(reverse("ops:order-ticket", args=[order.pk]))

    text = page_texts(response.content)[0]
    assert "No design preview" in text
    assert "private network" in text
    assert no_connections == []


# --- a local design server, reached through the seam that vets addresses ---------------------


class DesignServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[int, dict[str, str], bytes, float]]
    requests: list[str]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        status, headers, body, delay = self.server.routes.get(self.path, (404, {}, b"not found", 0))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if delay:
            for byte in body:  # a server that trickles its answer
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(delay)
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def design_server(monkeypatch) -> Iterator[DesignServer]:
    server = DesignServer(("127.0.0.1", 0), Handler)
    server.routes, server.requests = {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The seam: "designs.test" resolves to this server, and its loopback address counts as public
    # in this test only. Every other private address is still refused.
    real, real_resolve = design_fetch.is_public_address, design_fetch.resolve
    monkeypatch.setattr(
        design_fetch,
        "resolve",
        lambda host, port: ["127.0.0.1"] if host == "designs.test" else real_resolve(host, port),
    )
    monkeypatch.setattr(
        design_fetch,
        "is_public_address",
        lambda address: str(address) == "127.0.0.1" or real(address),
    )
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url(server: DesignServer, path: str) -> str:
    return f"http://designs.test:{server.server_address[1]}{path}"


def test_a_public_png_design_becomes_a_small_jpeg_thumbnail(monkeypatch):
    with design_server(monkeypatch) as server:
        server.routes["/d.png"] = (200, {"Content-Type": "image/png"}, png_bytes((900, 600)), 0)
        thumbnail = design_thumbnail(url(server, "/d.png"))

    assert thumbnail.reason == ""
    image = Image.open(BytesIO(thumbnail.image))
    assert image.format == "JPEG"
    assert image.size == (480, 320)


def test_a_design_is_fetched_once_for_a_batch_of_tickets(monkeypatch, settings, operator):
    from ops import tickets
    from ops.selectors import ticket_orders

    with design_server(monkeypatch) as server:
        server.routes["/d.png"] = (200, {}, png_bytes((300, 300)), 0)
        orders = [make_order() for _ in range(3)]
        ProductionOrder.objects.update(design_url=url(server, "/d.png"))
        pdf = tickets.render_tickets(
            ticket_orders([o.pk for o in orders]), base_url="https://shop.example.com"
        )

    assert server.requests == ["/d.png"]
    assert all("No design preview" not in text for text in page_texts(pdf))
    pages = PdfReader(BytesIO(pdf)).pages
    assert [len(page.images) for page in pages] == [1, 1, 1]  # the design, on every ticket


def test_an_oversized_design_is_not_read_to_the_end(monkeypatch):
    big = png_bytes((10, 10)) + b"\0" * 300_000
    with design_server(monkeypatch) as server:
        server.routes["/declared.png"] = (200, {"Content-Length": str(len(big))}, big, 0)
        server.routes["/chunked.png"] = (200, {}, big, 0)  # no length given: stopped while reading
        declared = design_thumbnail(url(server, "/declared.png"))
        undeclared = design_thumbnail(url(server, "/chunked.png"))

    assert declared.reason == "The design is larger than 195 kB."
    assert undeclared.reason == "The design is larger than 195 kB."


def test_a_slow_design_gives_up_at_the_deadline(monkeypatch):
    with design_server(monkeypatch) as server:
        server.routes["/slow.png"] = (200, {}, png_bytes((20, 20)), 0.05)  # ~5 s in all
        started = time.monotonic()
        thumbnail = design_thumbnail(url(server, "/slow.png"))
        took = time.monotonic() - started

    assert thumbnail.image is None
    assert thumbnail.reason == "The design took longer than 0.5 s to download."
    assert took < 2  # the whole fetch, not each read, is bounded


def test_redirects_are_followed_a_couple_of_times_each_hop_vetted(monkeypatch):
    with design_server(monkeypatch) as server:
        server.routes["/a"] = (302, {"Location": "/b"}, b"", 0)
        server.routes["/b"] = (301, {"Location": url(server, "/d.png")}, b"", 0)
        server.routes["/d.png"] = (200, {}, png_bytes((30, 30)), 0)
        server.routes["/loop"] = (302, {"Location": "/loop"}, b"", 0)
        server.routes["/inside"] = (302, {"Location": "http://10.0.0.1/x.png"}, b"", 0)
        followed = design_thumbnail(url(server, "/a"))
        looping = design_thumbnail(url(server, "/loop"))
        inside = design_thumbnail(url(server, "/inside"))
        hops = list(server.requests)

    assert followed.image is not None
    assert looping.reason == "The design URL redirects more than 2 times."
    assert inside.reason == PRIVATE
    assert hops.count("/loop") == 3 and hops.count("/inside") == 1


def test_svg_is_drawn_and_non_images_get_a_placeholder(monkeypatch):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
    with design_server(monkeypatch) as server:
        server.routes["/d.svg"] = (200, {"Content-Type": "image/svg+xml"}, svg, 0)
        server.routes["/page"] = (200, {"Content-Type": "text/html"}, b"<html>hi</html>", 0)
        server.routes["/gone"] = (404, {}, b"", 0)
        vector = design_thumbnail(url(server, "/d.svg"))
        page = design_thumbnail(url(server, "/page"))
        gone = design_thumbnail(url(server, "/gone"))

    assert vector.image is not None  # drawn safely: tests/ops/test_svg_designs.py
    assert page.reason == "The design is not an image the tickets can show."
    assert gone.reason == "The design URL answered HTTP 404."


@pytest.mark.parametrize("side", [7_100, 12_000])  # over our limit; over Pillow's own too
def test_a_decompression_bomb_is_refused_before_it_is_decoded(side, monkeypatch, settings):
    settings.TICKET_DESIGN_MAX_PIXELS = 40_000_000
    out = BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG")  # a tiny file of 50 or 144 Mpx
    assert len(out.getvalue()) < 200_000
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda *a: decoded.append(a))
    with design_server(monkeypatch) as server:
        server.routes["/bomb.png"] = (200, {}, out.getvalue(), 0)
        thumbnail = design_thumbnail(url(server, "/bomb.png"))

    assert thumbnail.reason == "The design is too large an image (more than 40 megapixels)."
    assert decoded == []


def test_designs_on_this_site_are_read_from_its_static_files(settings, no_connections):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.SITE_URL = "http://127.0.0.1:8000"

    demo = design_thumbnail("http://127.0.0.1:8000/static/demo/design-1.svg")
    favicon = design_thumbnail("/static/favicon.svg")
    traversal = design_thumbnail("http://localhost/static/../config/settings.py")
    elsewhere = design_thumbnail("http://127.0.0.1:8000/admin/")

    assert demo.image is not None  # read from disk, then drawn
    assert favicon.image is not None
    assert traversal.image is None
    assert elsewhere.reason == "The design URL points at this site but not at one of its files."
    assert no_connections == []


def test_a_raster_design_on_this_site_is_drawn_from_disk(settings, tmp_path, no_connections):
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "d.png").write_bytes(png_bytes((64, 64)))
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, tmp_path]

    thumbnail = design_thumbnail("https://shop.example.com/static/art/d.png")

    assert thumbnail.image is not None
    assert no_connections == []
