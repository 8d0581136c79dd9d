"""Carriers, their tracking-number formats and tracking pages.

A number is checked against the formats its carrier publishes (the shapes printed under the
barcode of its labels), after removing the spaces and dashes people type or labels print. Check
digits are not verified: they differ per service, and a real label refused at the packing table
costs more than the rare typo that passes the format (docs/decisions/0012). "Other" carriers (a
courier, a freight forwarder) take what a tracking number is made of: letters and digits, with
spaces, '-', '.' or '/' between them, on one line (no markup, no line breaks); the operator may
give the tracking page themselves (http or https only), or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.db import models

from production.exceptions import OrderError

MAX_TRACKING_LENGTH = 100

# An "other" carrier's number: ASCII letters and digits, single separators between them.
_OTHER_NUMBER = re.compile(r"[A-Za-z0-9]+(?:[ ./-][A-Za-z0-9]+)*")


class Carrier(models.TextChoices):
    UPS = "ups", "UPS"
    USPS = "usps", "USPS"
    FEDEX = "fedex", "FedEx"
    DHL = "dhl", "DHL"
    OTHER = "other", "Other carrier"


CARRIERS: list[str] = Carrier.values

# S10 (UPU) international item: two service letters, 8 digits and a check digit, the country.
_S10 = r"[A-Z]{2}\d{9}[A-Z]{2}"

# Each carrier's accepted shapes (after normalising: upper case, no spaces or dashes), and what a
# refusal tells the operator to look for.
FORMATS: dict[str, tuple[tuple[re.Pattern[str], ...], str]] = {
    Carrier.UPS: (
        (re.compile(r"1Z[0-9A-Z]{16}"),),
        "a UPS number is 1Z followed by 16 letters or digits (18 characters)",
    ),
    Carrier.USPS: (
        (
            re.compile(r"\d{20,22}"),  # Intelligent Mail package barcode (IMpb)
            # The same number as scanned from the label, after its 420 + ZIP (or ZIP+4) prefix.
            re.compile(r"420(?:\d{5}|\d{9})(\d{20,22})"),
            re.compile(r"[A-Z]{2}\d{9}US"),  # international (S10), e.g. EA123456785US
        ),
        "a USPS number is 20 to 22 digits, or 13 characters like EA123456785US",
    ),
    Carrier.FEDEX: (
        (re.compile(r"\d{12}|\d{15}|\d{20}|\d{22}"),),
        "a FedEx number is 12, 15, 20 or 22 digits",
    ),
    Carrier.DHL: (
        (
            re.compile(r"\d{10}"),  # DHL Express waybill
            re.compile(r"J{1,2}D\d{18}"),  # DHL Parcel / eCommerce Europe
            re.compile(r"GM\d{16,18}"),  # DHL eCommerce (Global Mail)
            re.compile(_S10),  # DHL eCommerce handed to a postal service
        ),
        "a DHL number is 10 digits (Express), JD or JJD and 18 digits, GM and 16 to 18 digits, "
        "or 13 characters like LX123456785DE",
    ),
}

# Each carrier's public tracking page for one number.
TRACKING_PAGES: dict[str, str] = {
    Carrier.UPS: "https://www.ups.com/track?tracknum={number}",
    Carrier.USPS: "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    Carrier.FEDEX: "https://www.fedex.com/fedextrack/?trknbr={number}",
    Carrier.DHL: "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}&submit=1",
}


@dataclass(frozen=True)
class Tracking:
    """A checked carrier, tracking number and tracking page ("" when there is none)."""

    carrier: Carrier
    number: str
    url: str


def check_tracking(*, carrier: str, number: str, url: str = "") -> Tracking:
    """The tracking as it will be stored, or OrderError naming the field and what is expected.

    `url` is only for "other" carriers (known carriers' pages are built from the number)."""
    if carrier not in CARRIERS:
        raise OrderError(
            f"Choose a carrier: {', '.join(c.label for c in Carrier)}.", field="carrier"
        )
    carrier = Carrier(carrier)
    raw = (number or "").strip()
    if not raw:
        raise OrderError("Enter the tracking number.", field="trackingNumber")
    if len(raw) > MAX_TRACKING_LENGTH:
        raise OrderError(
            f"A tracking number has at most {MAX_TRACKING_LENGTH} characters.",
            field="trackingNumber",
        )
    if carrier == Carrier.OTHER:
        if not _OTHER_NUMBER.fullmatch(raw):
            raise OrderError(
                "A tracking number is letters and digits, with single spaces, '-', '.' or '/' "
                "between them.",
                field="trackingNumber",
            )
        return Tracking(carrier, raw, _operator_url(url))
    if (url or "").strip():
        raise OrderError(
            f"{carrier.label}'s tracking page is built from the number: leave the link empty.",
            field="trackingUrl",
        )
    normalized = re.sub(r"[\s\-]", "", raw).upper()
    patterns, expected = FORMATS[carrier]
    for pattern in patterns:
        if match := pattern.fullmatch(normalized):
            # A scanned USPS label carries the ZIP routing prefix: the number is what follows.
            normalized = match.group(1) if match.groups() else normalized
            url = TRACKING_PAGES[carrier].format(number=quote(normalized, safe=""))
            return Tracking(carrier, normalized, url)
    raise OrderError(
        f"{raw!r} is not a {carrier.label} tracking number: {expected}.", field="trackingNumber"
    )


def _operator_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2048:
        raise OrderError(
            "The tracking link must be a web address starting with https:// or http://.",
            field="trackingUrl",
        )
    return url
