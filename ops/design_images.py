"""Design thumbnails for job tickets, read from the customer's design URL without letting that URL
reach into the shop's own network (server-side request forgery).

A design URL is the customer's text. Before anything is fetched:
- only `http` and `https`, no credentials in the URL;
- the host is resolved once, and every address it resolves to must be a public one: no
  loopback, private, shared (CGNAT), link-local (cloud metadata at 169.254.169.254), reserved,
  multicast or unspecified address, IPv4 or IPv6, including IPv4 written inside IPv6 (mapped,
  6to4, NAT64) and odd spellings of IPv4 (`2130706433`, `0x7f.1`: the resolver reads them);
- the connection goes to the vetted address itself (the URL's host is sent as `Host` and, for
  HTTPS, as the TLS server name, and the certificate is checked against it), so a DNS answer that
  changes between the check and the connection (rebinding) changes nothing;
- redirects are followed by hand, at most MAX_REDIRECTS, each new address vetted the same way;
- the whole fetch has one deadline (TICKET_DESIGN_TIMEOUT, connecting and reading) and reading
  stops past TICKET_DESIGN_MAX_BYTES;
- Pillow reads only PNG, JPEG, GIF and WebP, checks the pixel count from the header before
  decoding (TICKET_DESIGN_MAX_PIXELS: no decompression bombs) and re-encodes a small JPEG.
- SVG is drawn by resvg (Rust, no scripts, no network), never as the customer wrote it: the XML is
  parsed by defusedxml with no DTD allowed (no entities: billion laughs refused at once), the
  document is bounded (SVG_MAX_ELEMENTS elements after `<use>` expansion, SVG_MAX_DEPTH deep),
  every `href` that is not a fragment (`#id`) or a small data: PNG/JPEG/GIF/WebP is removed (resvg
  would read a path from this server's disk; it never fetches http(s)), and the picture is drawn
  straight at thumbnail size (THUMBNAIL_PIXELS on the longer side) from its declared
  width/height/viewBox, so a 100 000 px wide SVG costs what a 480 px one does; resvg runs in a
  child process killed after SVG_RENDER_SECONDS (a filter can still make a small file slow).

Designs on this site itself (the demo's `/static/demo/design-*.svg`, any URL on SITE_URL's or an
ALLOWED_HOSTS name, or a relative URL) are read from the static files on disk, never over the
network: only public static files can be read that way.

Results, images and refusals alike, are cached briefly (THUMBNAIL_CACHE_SECONDS), so a batch of
tickets for one design fetches it once.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import socket
import subprocess
import sys
import time
import warnings
import xml.etree.ElementTree as ET
from base64 import b64decode
from binascii import Error as BinasciiError
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from PIL import Image

MAX_REDIRECTS = 2
THUMBNAIL_PIXELS = 480  # the longer side; ~200 dpi in the ticket's design box
THUMBNAIL_CACHE_SECONDS = 600
REFUSAL_CACHE_SECONDS = 60  # a design that failed is tried again soon, not on every ticket
READ_CHUNK = 64 * 1024
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "printshop-job-tickets/1 (design thumbnail)"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Thumbnail:
    """A design as the ticket draws it: a small JPEG, or None and the reason for the placeholder."""

    image: bytes | None
    reason: str = ""


class Refused(Exception):
    """The design is not shown; the message says why, in an operator's words."""


def design_thumbnail(url: str) -> Thumbnail:
    """The thumbnail of the design at `url` (cached briefly). Never raises for a bad design."""
    key = "ticket-design:v2:" + hashlib.sha256(url.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return Thumbnail(*cached)
    try:
        thumbnail = Thumbnail(make_thumbnail(read_design(url)))
    except Refused as refusal:
        thumbnail = Thumbnail(None, str(refusal))
    timeout = THUMBNAIL_CACHE_SECONDS if thumbnail.image else REFUSAL_CACHE_SECONDS
    cache.set(key, (thumbnail.image, thumbnail.reason), timeout)
    return thumbnail


def read_design(url: str) -> bytes:
    """The design file's bytes, from this site's static files or a vetted public address."""
    url = url.strip()
    local = local_static_path(url)
    if local is not None:
        return _read_file(local)
    return fetch(url)


# --- this site's own designs -----------------------------------------------------------------


def _own_hosts() -> set[str]:
    hosts = {h.lower().strip("[]") for h in settings.ALLOWED_HOSTS if h and h[0] not in "*."}
    if settings.SITE_URL:
        site_host = urlsplit(settings.SITE_URL).hostname
        if site_host:
            hosts.add(site_host.lower())
    return hosts


def local_static_path(url: str) -> Path | None:
    """The static file a design URL on this site names; None for another site's URL.

    A URL on this site that is not one of its static files is refused (never fetched: it would
    be a request to ourselves)."""
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise Refused("The design URL is not valid.") from error
    relative = not parts.scheme and not parts.netloc
    ours = parts.scheme in ("http", "https") and (parts.hostname or "") in _own_hosts()
    if not (relative or ours):
        return None
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    path = unquote(parts.path)
    if not path.startswith(prefix):
        raise Refused("The design URL points at this site but not at one of its files.")
    try:
        found = finders.find(path[len(prefix) :])
    except SuspiciousFileOperation as error:
        raise Refused("The design URL points outside this site's files.") from error
    if not found:
        raise Refused("The design file is missing from this site.")
    return Path(found if isinstance(found, str) else found[0])


def _read_file(path: Path) -> bytes:
    limit = settings.TICKET_DESIGN_MAX_BYTES
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"The design is larger than {limit // 1024:,} kB.")
    return data


# --- vetting addresses -----------------------------------------------------------------------


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `address` is on the public internet (not ours, not anyone's private network)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
        if address.teredo and not all(is_public_address(a) for a in address.teredo):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (the resolver also reads IP literals in any spelling).
    A seam: tests replace it to make a name resolve where they need."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def vetted_address(host: str, port: int) -> str:
    """One public address of `host` to connect to; Refused if any of its addresses is not."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError) as error:
        raise Refused(f"The design's host {host} was not found.") from error
    if not addresses:
        raise Refused(f"The design's host {host} was not found.")
    for address in addresses:
        try:
            parsed = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError as error:
            raise Refused(f"The design's host {host} has an unreadable address.") from error
        if not is_public_address(parsed):
            raise Refused(
                "Not fetched: the design URL points inside a private network or at this server."
            )
    return addresses[0].split("%", 1)[0]


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    address: str
    path: str
    host_header: str


def _vet(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused("The design URL is not valid.") from error
    if parts.scheme not in ("http", "https"):
        raise Refused("Only http and https design URLs are fetched.")
    if parts.username is not None or parts.password is not None:
        raise Refused("Design URLs with a user name or password are not fetched.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("The design URL has no host.")
    default_port = 443 if parts.scheme == "https" else 80
    port = port or default_port
    address = vetted_address(host, port)
    bracketed = f"[{host}]" if ":" in host else host
    return _Target(
        scheme=parts.scheme,
        host=host,
        port=port,
        address=address,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        host_header=bracketed if port == default_port else f"{bracketed}:{port}",
    )


# --- fetching --------------------------------------------------------------------------------


def fetch(url: str) -> bytes:
    """GET a design from a vetted public address, within the deadline and the size limit."""
    deadline = time.monotonic() + settings.TICKET_DESIGN_TIMEOUT
    for _ in range(MAX_REDIRECTS + 1):
        target = _vet(url)
        response = open_connection(target, timeout=_remaining(deadline))
        try:
            if response.status in REDIRECT_CODES:
                location = response.headers.get("Location")
                if not location:
                    raise Refused("The design URL redirects nowhere.")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise Refused(f"The design URL answered HTTP {response.status}.")
            return _read_capped(response, deadline)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise Refused(_network_reason(error)) from error
        finally:
            response.release_conn()
            response.close()
    raise Refused(f"The design URL redirects more than {MAX_REDIRECTS} times.")


def open_connection(target: _Target, *, timeout: float) -> urllib3.BaseHTTPResponse:
    """Connect to the vetted address (never the name again) and send the GET."""
    https = target.scheme == "https"
    pool_class = urllib3.HTTPSConnectionPool if https else urllib3.HTTPConnectionPool
    tls = {"server_hostname": target.host, "assert_hostname": target.host} if https else {}
    pool = pool_class(
        target.address,
        target.port,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=False,
        maxsize=1,
        **tls,
    )
    try:
        return pool.urlopen(
            "GET",
            target.path,
            headers={
                "Host": target.host_header,
                "User-Agent": USER_AGENT,
                "Accept": "image/png,image/jpeg,image/webp,image/gif;q=0.9",
                # Compressed bodies are not unpacked (no zip bombs): an image is compressed
                # already, and a gzipped one simply fails to read as an image.
                "Accept-Encoding": "identity",
            },
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
            assert_same_host=False,
        )
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise Refused(_network_reason(error)) from error


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Refused(
            f"The design took longer than {settings.TICKET_DESIGN_TIMEOUT:g} s to download."
        )
    return left


def _read_capped(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    limit = settings.TICKET_DESIGN_MAX_BYTES
    too_big = f"The design is larger than {limit // 1024:,} kB."
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(too_big)
    data = bytearray()
    while True:
        # Each wait on the socket is bounded by what is left of the deadline, so a server that
        # trickles bytes cannot stretch the fetch.
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(_remaining(deadline))
        else:
            _remaining(deadline)
        chunk = response.read1(READ_CHUNK)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise Refused(too_big)


def _network_reason(error: BaseException) -> str:
    if isinstance(error, urllib3.exceptions.TimeoutError | TimeoutError | socket.timeout):
        return f"The design took longer than {settings.TICKET_DESIGN_TIMEOUT:g} s to download."
    if isinstance(error, urllib3.exceptions.SSLError):
        return "The design's host has no valid HTTPS certificate."
    return "The design could not be downloaded."


# --- images ----------------------------------------------------------------------------------


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def make_thumbnail(data: bytes) -> bytes:
    """A small JPEG of the design, or Refused. The header is checked before anything is decoded."""
    if _looks_like_svg(data):
        return _jpeg_on_white(_open_image(svg_to_png(data)))
    limit = settings.TICKET_DESIGN_MAX_PIXELS
    too_large = f"The design is too large an image (more than {limit / 1e6:g} megapixels)."
    try:
        _check_pixels(data, too_large)
        with Image.open(BytesIO(data), formats=sorted(ALLOWED_FORMATS)) as image:
            image.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # JPEG: decode scaled down
            image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            return _jpeg_on_white(image)
    except Refused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise Refused(too_large) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise Refused("The design is not an image the tickets can show.") from error


def _check_pixels(data: bytes, too_large: str) -> None:
    """Refused past TICKET_DESIGN_MAX_PIXELS, read from the header; the file is verified."""
    with warnings.catch_warnings():
        # Pillow's own bomb check (at Image.MAX_IMAGE_PIXELS) warns before ours runs: an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        probe = Image.open(BytesIO(data), formats=sorted(ALLOWED_FORMATS))
    with probe:
        width, height = probe.size
        if width * height > settings.TICKET_DESIGN_MAX_PIXELS:
            raise Refused(too_large)
        probe.verify()


def _open_image(png: bytes) -> Image.Image:
    image = Image.open(BytesIO(png), formats=["PNG"])
    image.load()
    return image


def _jpeg_on_white(image: Image.Image) -> bytes:
    # A JPEG: the PDF embeds it as it is (a PNG would be decoded and deflated again for every
    # ticket), and it is a fraction of the size. Transparency lands on white paper.
    rgba = image.convert("RGBA")
    paper = Image.new("RGB", rgba.size, "white")
    paper.paste(rgba, mask=rgba.getchannel("A"))
    out = BytesIO()
    paper.save(out, format="JPEG", quality=85)
    return out.getvalue()


# --- SVG -------------------------------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
SVG_MAX_ELEMENTS = 20_000  # after <use> expansion; the demo's designs have about 10
SVG_MAX_DEPTH = 200
# CSS units in px (96 dpi), as resvg reads them; em/ex at resvg's default font size of 16.
_UNITS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54}
_UNITS |= {"in": 96.0, "em": 16.0, "ex": 8.0}
_LENGTH = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-z%]*)\s*$")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|jpg|gif|webp);base64,", re.IGNORECASE)


def svg_to_png(data: bytes) -> bytes:
    """The SVG design drawn as a PNG of at most THUMBNAIL_PIXELS on its longer side, or Refused.

    The document is checked and cleaned before resvg sees it; resvg itself runs no scripts and
    fetches nothing over the network. What bounds the time: the bytes (TICKET_DESIGN_MAX_BYTES),
    the element count after <use> expansion (SVG_MAX_ELEMENTS) and the canvas (480 px)."""
    root = _parse_svg(data)
    _check_complexity(root)
    _strip_external_references(root)
    width, height = svg_size(root)
    scale = THUMBNAIL_PIXELS / max(width, height)
    out_width = max(1, min(THUMBNAIL_PIXELS, round(width * scale)))
    out_height = max(1, min(THUMBNAIL_PIXELS, round(height * scale)))
    return render_svg(ET.tostring(root, encoding="unicode"), out_width, out_height)


# resvg has no timeout and a filter can make one element cost seconds (a blur over a region 30
# times the canvas: 200 of them took 157 s), so it runs in a child process that is killed at
# SVG_RENDER_SECONDS, with its memory capped at SVG_RENDER_MEMORY.
SVG_RENDER_SECONDS = 3.0
SVG_RENDER_MEMORY = 1024 * 1024 * 1024
_RENDER_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[3]), int(sys.argv[3])))
import resvg_py
svg = sys.stdin.buffer.read().decode()
# dpi: CSS inches; resvg_py's default of 0 makes any `in` or `mm` size invalid.
width, height = int(sys.argv[1]), int(sys.argv[2])
png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, dpi=96.0)
sys.stdout.buffer.write(png)
"""


def render_svg(svg: str, width: int, height: int) -> bytes:
    """resvg's PNG of a checked and cleaned SVG, drawn in a child process within the limits."""
    command = [sys.executable, "-I", "-c", _RENDER_SCRIPT, str(width), str(height)]
    command.append(str(SVG_RENDER_MEMORY))
    try:
        done = subprocess.run(  # noqa: S603 (our own interpreter and script; the SVG is stdin)
            command, input=svg.encode(), capture_output=True, timeout=SVG_RENDER_SECONDS
        )
    except subprocess.TimeoutExpired as error:
        raise Refused(
            f"SVG design refused: it takes longer than {SVG_RENDER_SECONDS:g} s to draw."
        ) from error
    except OSError as error:
        raise Refused("The SVG design could not be drawn.") from error
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        raise Refused("The SVG design could not be drawn.")
    return done.stdout


def _parse_svg(data: bytes) -> ET.Element:
    try:
        # No DTD at all: no entity can be declared, so none expands (billion laughs) and none
        # names a file or URL. Comments and processing instructions (xml-stylesheet) are dropped.
        root = parse_xml(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise Refused(
            "SVG design refused: it declares a DTD or XML entities, which are never expanded."
        ) from error
    except (ET.ParseError, ValueError) as error:
        raise Refused("The SVG design is not valid XML.") from error
    if root.tag != f"{{{SVG_NS}}}svg":
        raise Refused("The design is not an SVG image the tickets can show.")
    return root


def _check_complexity(root: ET.Element) -> None:
    """Refused past SVG_MAX_ELEMENTS once every <use> is counted as the copy it draws (a few
    nested <use> can multiply into millions of shapes), or past SVG_MAX_DEPTH levels."""
    too_many = f"SVG design refused: it draws more than {SVG_MAX_ELEMENTS:,} elements."
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    sizes: dict[int, int] = {}
    stack: list[tuple[ET.Element, int, bool]] = [(root, 0, False)]
    visiting: set[int] = set()
    while stack:
        element, depth, done = stack.pop()
        key = id(element)
        if done:
            visiting.discard(key)
            total = 1 + sum(sizes.get(id(child), 0) for child in element)
            target = _use_target(element, by_id)
            if target is not None:
                total += sizes.get(id(target), 0)  # a cycle counts 0: resvg skips it
            if total > SVG_MAX_ELEMENTS:
                raise Refused(too_many)
            sizes[key] = total
            continue
        if key in sizes or key in visiting:
            continue
        if depth > SVG_MAX_DEPTH:
            raise Refused(f"SVG design refused: it nests more than {SVG_MAX_DEPTH} levels deep.")
        visiting.add(key)
        stack.append((element, depth, True))
        target = _use_target(element, by_id)
        if target is not None:
            stack.append((target, depth + 1, False))
        stack.extend((child, depth + 1, False) for child in element)


def _use_target(element: ET.Element, by_id: dict[str | None, ET.Element]) -> ET.Element | None:
    if element.tag != f"{{{SVG_NS}}}use":
        return None
    href = (element.get("href") or element.get(XLINK_HREF) or "").strip()
    return by_id.get(href[1:]) if href.startswith("#") else None


def _strip_external_references(root: ET.Element) -> None:
    """Every href that is not a fragment of this document or a small embedded raster is removed
    (resvg would read `/path` or `path` from this server's disk; it never fetches http(s))."""
    for element in root.iter():
        for name in ("href", XLINK_HREF):
            href = element.get(name)
            if href is None:
                continue
            href = href.strip()
            if href.startswith("#") or _safe_embedded_image(href):
                continue
            del element.attrib[name]


def _safe_embedded_image(href: str) -> bool:
    match = _DATA_IMAGE.match(href)
    if match is None:
        return False
    try:
        _check_pixels(b64decode(href[match.end() :], validate=False), "too large")
    except (Refused, BinasciiError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    except Image.DecompressionBombWarning:  # raised as an error by _check_pixels
        return False
    return True


def svg_size(root: ET.Element) -> tuple[float, float]:
    """The SVG's size in px as resvg reads it: width/height, else the viewBox's, else 100."""
    view_box = _view_box(root.get("viewBox"))
    width = _length(root.get("width"), view_box[0] if view_box else None)
    height = _length(root.get("height"), view_box[1] if view_box else None)
    if width is None and height is not None and view_box:
        width = height * view_box[0] / view_box[1]
    if height is None and width is not None and view_box:
        height = width * view_box[1] / view_box[0]
    width, height = width or 100.0, height or 100.0
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise Refused("The SVG design has no usable width and height.")
    return width, height


def _view_box(value: str | None) -> tuple[float, float] | None:
    try:
        numbers = [float(n) for n in re.split(r"[\s,]+", (value or "").strip()) if n]
    except ValueError:
        return None
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        return None
    if numbers[2] <= 0 or numbers[3] <= 0:
        return None
    return numbers[2], numbers[3]


def _length(value: str | None, fallback: float | None) -> float | None:
    match = _LENGTH.match(value or "")
    if match is None:
        return fallback
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return fallback * number / 100 if fallback else None
    if unit not in _UNITS:
        return fallback
    return number * _UNITS[unit]
