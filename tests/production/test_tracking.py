"""Tracking numbers as each carrier prints them, and the tracking page built from them."""

import pytest

from production.exceptions import OrderError
from production.tracking import check_tracking


@pytest.mark.parametrize(
    ("carrier", "typed", "stored", "url"),
    [
        # UPS: 1Z, shipper number, service, package number (18 characters).
        ("ups", "1Z999AA10123456784", "1Z999AA10123456784",
         "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        ("ups", "1z 999 aa1 01 2345 6784", "1Z999AA10123456784",
         "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        # USPS: IMpb (22 and 20 digits), international S10, and a scanned label's 420+ZIP prefix.
        ("usps", "9400 1000 0000 0000 0000 00", "9400100000000000000000",
         "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000"),
        ("usps", "70160910000108310009", "70160910000108310009",
         "https://tools.usps.com/go/TrackConfirmAction?tLabels=70160910000108310009"),
        ("usps", "EA123456785US", "EA123456785US",
         "https://tools.usps.com/go/TrackConfirmAction?tLabels=EA123456785US"),
        ("usps", "420221539101026837331000039521", "9101026837331000039521",
         "https://tools.usps.com/go/TrackConfirmAction?tLabels=9101026837331000039521"),
        # FedEx: 12, 15, 20 or 22 digits.
        ("fedex", "1234-5678-9012", "123456789012",
         "https://www.fedex.com/fedextrack/?trknbr=123456789012"),
        ("fedex", "123456789012345", "123456789012345",
         "https://www.fedex.com/fedextrack/?trknbr=123456789012345"),
        ("fedex", "61299998820821171811", "61299998820821171811",
         "https://www.fedex.com/fedextrack/?trknbr=61299998820821171811"),
        # DHL: Express waybill, Parcel (JJD), eCommerce (GM), postal S10.
        ("dhl", "3318810025", "3318810025",
         "https://www.dhl.com/global-en/home/tracking.html?tracking-id=3318810025&submit=1"),
        ("dhl", "JJD000390007827274281", "JJD000390007827274281",
         "https://www.dhl.com/global-en/home/tracking.html?tracking-id=JJD000390007827274281&submit=1"),
        ("dhl", "GM2951173225174494", "GM2951173225174494",
         "https://www.dhl.com/global-en/home/tracking.html?tracking-id=GM2951173225174494&submit=1"),
        ("dhl", "LX123456785DE", "LX123456785DE",
         "https://www.dhl.com/global-en/home/tracking.html?tracking-id=LX123456785DE&submit=1"),
    ],
)  # fmt: skip
def test_known_formats_are_accepted_and_link_to_the_carrier(carrier, typed, stored, url):
    tracking = check_tracking(carrier=carrier, number=typed)
    assert (tracking.carrier, tracking.number, tracking.url) == (carrier, stored, url)


@pytest.mark.parametrize(
    ("carrier", "number", "expected"),
    [
        ("ups", "1Z999AA1012345678", "1Z followed by 16"),  # 17 characters
        ("ups", "999AA10123456784", "1Z followed by 16"),
        ("ups", "1Z999AA1012345678!", "1Z followed by 16"),
        ("usps", "1234567890123456789", "20 to 22 digits"),  # 19
        ("usps", "12345678901234567890123", "20 to 22 digits"),  # 23
        ("usps", "EA123456785DE", "like EA123456785US"),  # S10 of another country
        ("fedex", "12345678901", "12, 15, 20 or 22 digits"),
        ("fedex", "1234567890123", "12, 15, 20 or 22 digits"),
        ("fedex", "1Z999AA10123456784", "12, 15, 20 or 22 digits"),
        ("dhl", "123456789", "10 digits"),
        ("dhl", "JJD00039000782727428", "JD or JJD and 18 digits"),
    ],
)
def test_numbers_that_do_not_fit_the_carrier_are_refused(carrier, number, expected):
    with pytest.raises(OrderError) as refused:
        check_tracking(carrier=carrier, number=number)
    assert refused.value.field == "trackingNumber"
    assert expected in refused.value.message
    assert number in refused.value.message


def test_other_carriers_take_a_numbers_characters_and_an_optional_http_link():
    plain = check_tracking(carrier="other", number="  Courier ref 42/B  ")
    assert (plain.number, plain.url) == ("Courier ref 42/B", "")
    linked = check_tracking(carrier="other", number="42", url="https://courier.example/track?id=42")
    assert linked.url == "https://courier.example/track?id=42"


@pytest.mark.parametrize(
    "number",
    [
        "42\nCall us now",
        "42\r\n43",
        "<img src=x onerror=alert(1)>",
        "<b>42</b>",
        "42 -- 43",
        "Courier ref: 42",
        "42\t43",
        "ÅB-42",
    ],
)
def test_other_carriers_refuse_line_breaks_markup_and_odd_characters(number):
    with pytest.raises(OrderError, match="letters and digits") as refused:
        check_tracking(carrier="other", number=number)
    assert refused.value.field == "trackingNumber"


def test_other_carriers_numbers_are_bounded():
    assert check_tracking(carrier="other", number="A" * 100).number == "A" * 100
    with pytest.raises(OrderError, match="at most 100 characters"):
        check_tracking(carrier="other", number="A" * 101)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://courier.example/42", "courier.example/42", "https://"]
)
def test_other_carriers_links_must_be_web_addresses(url):
    with pytest.raises(OrderError) as refused:
        check_tracking(carrier="other", number="42", url=url)
    assert refused.value.field == "trackingUrl"


def test_known_carriers_take_no_link_of_the_operators():
    with pytest.raises(OrderError, match="built from the number") as refused:
        check_tracking(carrier="ups", number="1Z999AA10123456784", url="https://evil.example/")
    assert refused.value.field == "trackingUrl"


@pytest.mark.parametrize("number", ["", "   "])
def test_a_tracking_number_is_required_for_every_carrier(number):
    for carrier in ("ups", "other"):
        with pytest.raises(OrderError, match="Enter the tracking number"):
            check_tracking(carrier=carrier, number=number)


def test_an_unknown_carrier_is_refused():
    with pytest.raises(OrderError, match="Choose a carrier") as refused:
        check_tracking(carrier="pigeon", number="1")
    assert refused.value.field == "carrier"
