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
SVG is never drawn (a vector file can pull in other URLs and scripts): the ticket shows a
placeholder saying so.

Designs on this site itself (the demo's `/static/demo/design-*.svg`, any URL on SITE_URL's or an
ALLOWED_HOSTS name, or a relative URL) are read from the static files on disk, never over the
network: only public static files can be read that way.

Results, images and refusals alike, are cached briefly (THUMBNAIL_CACHE_SECONDS), so a batch of
tickets for one design fetches it once.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
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
    key = "ticket-design:v1:" + hashlib.sha256(url.encode()).hexdigest()
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
        raise Refused("SVG design: vector files are not drawn on tickets (open the design URL).")
    limit = settings.TICKET_DESIGN_MAX_PIXELS
    too_large = f"The design is too large an image (more than {limit / 1e6:g} megapixels)."
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check (at Image.MAX_IMAGE_PIXELS) warns before ours runs: an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(BytesIO(data), formats=sorted(ALLOWED_FORMATS))
        with probe:
            width, height = probe.size
            if width * height > limit:
                raise Refused(too_large)
            probe.verify()
        with Image.open(BytesIO(data), formats=sorted(ALLOWED_FORMATS)) as image:
            image.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # JPEG: decode scaled down
            image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            # A JPEG: the PDF embeds it as it is (a PNG would be decoded and deflated again for
            # every ticket), and it is a fraction of the size. Transparency lands on white paper.
            rgba = image.convert("RGBA")
            paper = Image.new("RGB", rgba.size, "white")
            paper.paste(rgba, mask=rgba.getchannel("A"))
            out = BytesIO()
            paper.save(out, format="JPEG", quality=85)
            return out.getvalue()
    except Refused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise Refused(too_large) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise Refused("The design is not an image the tickets can show.") from error
