"""Reading a customer's design from its URL without letting that URL reach into the shop's own
network (server-side request forgery): the one fetch shared by job-ticket thumbnails
(`ops.design_images`), preflight and mockups (`artwork`).

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
- the whole fetch has one deadline (TICKET_DESIGN_TIMEOUT by default, connecting and reading) and
  reading stops past a byte limit (TICKET_DESIGN_MAX_BYTES by default; preflight passes its own).

Designs on this site itself (the demo's `/static/demo/design-*.svg`, any URL on SITE_URL's or an
ALLOWED_HOSTS name, or a relative URL) are read from the static files on disk, never over the
network: only public static files can be read that way.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation

MAX_REDIRECTS = 2
READ_CHUNK = 64 * 1024
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "printshop-artwork/1 (design check)"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The design is not read; the message says why, in words for people."""


@dataclass(frozen=True)
class Limits:
    """How long a fetch may take in all and how many bytes it may read."""

    seconds: float
    max_bytes: int

    @classmethod
    def tickets(cls) -> Limits:
        return cls(settings.TICKET_DESIGN_TIMEOUT, settings.TICKET_DESIGN_MAX_BYTES)


def read_design(url: str, limits: Limits | None = None) -> bytes:
    """The design file's bytes, from this site's static files or a vetted public address."""
    limits = limits or Limits.tickets()
    url = url.strip()
    local = local_static_path(url)
    if local is not None:
        return _read_file(local, limits)
    return fetch(url, limits)


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


def _read_file(path: Path, limits: Limits) -> bytes:
    limit = limits.max_bytes
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


def fetch(url: str, limits: Limits | None = None) -> bytes:
    """GET a design from a vetted public address, within the deadline and the size limit."""
    limits = limits or Limits.tickets()
    deadline = time.monotonic() + limits.seconds
    for _ in range(MAX_REDIRECTS + 1):
        target = _vet(url)
        response = open_connection(target, timeout=_remaining(deadline, limits))
        try:
            if response.status in REDIRECT_CODES:
                location = response.headers.get("Location")
                if not location:
                    raise Refused("The design URL redirects nowhere.")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise Refused(f"The design URL answered HTTP {response.status}.")
            return _read_capped(response, deadline, limits)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise Refused(_network_reason(error, limits)) from error
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
        raise Refused(_network_reason(error, None)) from error


def _remaining(deadline: float, limits: Limits) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Refused(f"The design took longer than {limits.seconds:g} s to download.")
    return left


def _read_capped(response: urllib3.BaseHTTPResponse, deadline: float, limits: Limits) -> bytes:
    limit = limits.max_bytes
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
            sock.settimeout(_remaining(deadline, limits))
        else:
            _remaining(deadline, limits)
        chunk = response.read1(READ_CHUNK)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise Refused(too_big)


def _network_reason(error: BaseException, limits: Limits | None) -> str:
    if isinstance(error, urllib3.exceptions.TimeoutError | TimeoutError | socket.timeout):
        seconds = (limits or Limits.tickets()).seconds
        return f"The design took longer than {seconds:g} s to download."
    if isinstance(error, urllib3.exceptions.SSLError):
        return "The design's host has no valid HTTPS certificate."
    return "The design could not be downloaded."
