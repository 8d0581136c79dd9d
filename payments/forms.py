"""The customer order form: parses and validates input; the order itself is made by the services.

The size fields are the chosen garment's only (a tee has no "One Size", a tote no XS), and of
those only the sizes the chosen colour has in stock are offered (the services refuse the others
anyway). Without JavaScript the page is rendered for one garment and colour; `sizes_for` says
which garment, so a garment switched on that page asks for its own sizes again instead of
dropping what was typed. With JavaScript (static/js/order-form.js) the colours, sizes and
placement fields are swapped in place and `sizes_for` follows. Each placement other than the
front gets an optional design URL field (`design_<code>`), priced per item when filled.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.db.models import QuerySet

from production import addresses
from production.addresses import ShippingAddressData, clean_address
from production.exceptions import InvalidAddress, InvalidOrder
from production.lifecycle import LEAD_DAYS, Delivery, Priority
from production.models import Garment, GarmentColor, Placement, PlacementCode
from production.pricing import (
    RUSH_SURCHARGE_PERCENT,
    Quote,
    SizeQuantity,
    format_money,
    quote_order,
)
from production.services.catalogue import PlacementDesign, resolve_order, with_catalogue

MAX_QUANTITY = 10000  # per size, as the API allows

# What the services call a field (InvalidOrder details) -> the form field that shows the error.
SERVICE_FIELDS = {
    "garmentId": "garment",
    "designUrl": "design_url",
    "notes": "notes",
    "sizes": "sizes_for",
    "designs": None,  # the form checks each design URL itself: rarely reached
    "delivery": "delivery",
    "shipping": None,
}

# The address's API field (production.addresses) -> the order form's field.
ADDRESS_FIELDS = {
    "name": "ship_name",
    "address1": "ship_address1",
    "address2": "ship_address2",
    "city": "ship_city",
    "stateCode": "ship_state",
    "zip": "ship_zip",
    "countryCode": "ship_country",
    "phone": "ship_phone",
}
SERVICE_FIELDS.update({f"shipping.{api}": field for api, field in ADDRESS_FIELDS.items()})


def delivery_choices() -> list[tuple[str, str]]:
    """Shipping; pickup only where the shop has a PICKUP_ADDRESS."""
    choices = [(Delivery.SHIPPING.value, "Shipping")]
    if settings.PICKUP_ADDRESS:
        choices.append((Delivery.PICKUP.value, f"Pickup at the shop ({settings.PICKUP_ADDRESS})"))
    return choices


def country_choices() -> list[tuple[str, str]]:
    """The countries shipped to, named from the CLDR (`production.addresses.country_choices`)."""
    return [("", "Choose a country"), *addresses.country_choices()]


def active_garments() -> QuerySet[Garment]:
    """The garments on offer, with their colours, variants and placements (three queries more)."""
    return with_catalogue(Garment.objects.filter(is_active=True).order_by("name"))


def size_field_name(size: str) -> str:
    return "qty_" + re.sub(r"[^a-z0-9]+", "_", size.lower()).strip("_")


def design_field_name(code: str) -> str:
    return "design_" + code


def inches(value: Decimal) -> str:
    """12.00 -> "12", 3.50 -> "3.5"."""
    return f"{value.normalize():f}"


def placement_label(placement: Placement, currency: str) -> str:
    """ "Back — 12 × 16 in, +4.00 USD per item" """
    area = f"{inches(placement.width_in)} × {inches(placement.height_in)} in"
    price = format_money(placement.unit_amount, currency)
    return f"{placement.name} — {area}, " + (
        f"+{price} per item" if placement.unit_amount else "included"
    )


def extra_placements(garment: Garment) -> list[Placement]:
    return [p for p in garment.placements.all() if p.code != PlacementCode.FRONT]


def default_color(garment: Garment) -> GarmentColor | None:
    colors = list(garment.colors.all())
    return next((c for c in colors if c.is_default), colors[0] if colors else None)


def in_stock_sizes(garment: Garment, color: GarmentColor | None) -> list[str]:
    """The garment's sizes this colour has in stock, in the garment's order (no colour: all)."""
    if color is None:
        return list(garment.sizes)
    stocked = {v.size for v in color.variants.all() if v.in_stock}
    return [size for size in garment.sizes if size in stocked]


def garment_choices(garments: QuerySet[Garment]) -> dict[str, dict[str, Any]]:
    """Each garment's colours (with the sizes each has in stock and their prices), sizes and
    placements, for the page's script (json_script): switching the garment or the colour swaps
    the fields without a reload."""
    data: dict[str, dict[str, Any]] = {}
    for garment in garments:
        colors = []
        for color in garment.colors.all():
            variants = {v.size: v for v in color.variants.all() if v.in_stock}
            colors.append(
                {
                    "name": color.name,
                    "hex": color.hex,
                    "default": color.is_default,
                    "sizes": [
                        {
                            "size": size,
                            "unitPrice": format_money(
                                garment.base_price + variants[size].upcharge, garment.currency
                            ),
                        }
                        for size in garment.sizes
                        if size in variants
                    ],
                }
            )
        data[garment.shopify_gid] = {
            "name": garment.name,
            "sizes": [
                {
                    "size": size,
                    "field": size_field_name(size),
                    "unitPrice": format_money(garment.unit_price(size), garment.currency),
                }
                for size in garment.sizes
            ],
            "colors": colors,
            "placements": [
                {
                    "code": p.code,
                    "field": design_field_name(p.code),
                    "label": placement_label(p, garment.currency),
                }
                for p in extra_placements(garment)
            ],
        }
    return data


class HttpUrlField(forms.URLField):
    # One validator, not URLField's own plus a second one: a bad link gets one error, not two.
    default_validators = [URLValidator(schemes=["http", "https"])]


class GarmentChoiceField(forms.ModelChoiceField):
    # The garments the form has read (QuoteForm sets them): the one posted is taken from them, its
    # catalogue with it, rather than read again (four queries).
    read: list[Garment] = []

    def to_python(self, value: Any) -> Garment | None:
        found = next((g for g in self.read if g.shopify_gid == value), None)
        return found if found is not None else super().to_python(value)

    def label_from_instance(self, garment: Garment) -> str:
        extras = ", ".join(
            f"{size} +{format_money(amount, garment.currency)}"
            for size, amount in garment.size_upcharges.items()
            if amount
        )
        label = f"{garment.name} — {format_money(garment.base_price, garment.currency)} each"
        label += f" · sizes {' '.join(garment.sizes)}"
        return f"{label} ({extras})" if extras else label


class QuoteForm(forms.Form):
    """What prices an order: garment, sizes and priority. Serves the live price (a GET with these
    fields as the query) and is the first half of the order form, so the price shown before
    checkout is computed by the same `quote_order` that prices the order."""

    garment = GarmentChoiceField(
        queryset=Garment.objects.none(),
        to_field_name="shopify_gid",
        empty_label=None,
        widget=forms.RadioSelect,
    )
    priority = forms.ChoiceField(
        choices=[
            (
                Priority.STANDARD,
                f"Standard — ready {LEAD_DAYS[Priority.STANDARD]} days after payment",
            ),
            (
                Priority.RUSH,
                f"Rush — ready {LEAD_DAYS[Priority.RUSH]} days after payment, "
                f"+{RUSH_SURCHARGE_PERCENT}%",
            ),
        ],
        initial=Priority.STANDARD,
        widget=forms.RadioSelect,
    )
    # The garment whose size fields the page showed (see the module docstring).
    sizes_for = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)

    # The colour's name; its choices are the chosen garment's colours (validated by the services,
    # whose words then show next to this field).
    color = forms.CharField(required=False, max_length=50, widget=forms.RadioSelect)

    # Shipping or pickup; with the country, it prices the shipping line. Optional for the live
    # price (not chosen yet: no shipping line); the order form requires it.
    delivery = forms.ChoiceField(required=False, widget=forms.RadioSelect)
    ship_country = forms.ChoiceField(label="Country", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delivery"].choices = delivery_choices()
        self.fields["ship_country"].choices = country_choices()
        self.garments = active_garments()
        self.fields["garment"].queryset = self.garments
        self.chosen = self._chosen_garment()
        colors = list(self.chosen.colors.all()) if self.chosen else []
        self.fields["color"].widget.choices = [(c.name, c.name) for c in colors]
        self.chosen_color = self._chosen_color(colors)
        self.offered_sizes = in_stock_sizes(self.chosen, self.chosen_color) if self.chosen else []
        # A field for every size of the garment, so a quantity typed before the colour changed
        # (without JavaScript) is still read, and refused with the services' words.
        self.size_fields: list[tuple[str, str]] = []
        for size in self.chosen.sizes if self.chosen else []:
            name = size_field_name(size)
            self.fields[name] = forms.IntegerField(
                label=size,
                min_value=0,
                max_value=MAX_QUANTITY,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                error_messages={"max_value": f"Size {size}: at most {MAX_QUANTITY:,} per size."},
            )
            self.size_fields.append((size, name))
        self.placement_fields: list[tuple[Placement, str]] = []
        for placement in extra_placements(self.chosen) if self.chosen else []:
            name = design_field_name(placement.code)
            self.fields[name] = HttpUrlField(
                label=placement_label(placement, self.chosen.currency),
                max_length=2048,
                assume_scheme="https",
                required=False,
                help_text=f"Optional: the design printed on the {placement.name.lower()}.",
            )
            self.placement_fields.append((placement, name))
        if not self.is_bound and self.chosen:
            self.initial["garment"] = self.chosen.shopify_gid
            self.initial["sizes_for"] = self.chosen.shopify_gid
            if self.chosen_color is not None:
                self.initial["color"] = self.chosen_color.name

    def _chosen_garment(self) -> Garment | None:
        """The garment whose sizes the page shows: the posted one, else the preselected one
        (?garment=<gid>), else the first on offer."""
        wanted = self.data.get("garment") if self.is_bound else self.initial.get("garment")
        garments = list(self.garments)
        self.fields["garment"].read = garments
        chosen = next((g for g in garments if g.shopify_gid == wanted), None)
        if chosen is None and not self.is_bound:
            chosen = garments[0] if garments else None
        return chosen

    def _chosen_color(self, colors: list[GarmentColor]) -> GarmentColor | None:
        """The colour whose sizes the page offers: the posted (or ?color=) one, else the
        garment's default."""
        source = self.data if self.is_bound else self.initial
        wanted = str(source.get("color") or "").strip().lower()
        chosen = next((c for c in colors if c.name.lower() == wanted), None)
        if chosen is None:
            chosen = next((c for c in colors if c.is_default), colors[0] if colors else None)
        return chosen

    def color_options(self) -> list[dict[str, Any]]:
        """The chosen garment's colours as the swatches show them."""
        chosen = self.chosen_color.pk if self.chosen_color else None
        return [
            {"id": f"id_color_{i}", "name": c.name, "hex": c.hex, "checked": c.pk == chosen}
            for i, c in enumerate(self.chosen.colors.all() if self.chosen else [])
        ]

    def size_inputs(self) -> list[forms.BoundField]:
        """The sizes offered in the chosen colour, and any other size a quantity was typed for
        (so the customer sees the refusal and can clear it)."""
        return [
            self[name]
            for size, name in self.size_fields
            if size in self.offered_sizes or str(self.data.get(name, "") or "0").strip() != "0"
        ]

    def placement_inputs(self) -> list[forms.BoundField]:
        return [self[name] for _, name in self.placement_fields]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        garment = data.get("garment")
        if garment is None or any(name in self.errors for _, name in self.size_fields):
            return data
        if data.get("sizes_for") and data["sizes_for"] != garment.shopify_gid:
            # The garment changed on a page without JavaScript: the quantities typed were for
            # another garment's sizes, so ask again rather than guess.
            self.add_error(
                "sizes_for",
                f"{garment.name} comes in {', '.join(garment.sizes)}: "
                "enter your quantities for these sizes.",
            )
        elif not any(data.get(name) for _, name in self.size_fields) and not any(
            name in self.errors for _, name in self.size_fields
        ):  # a quantity refused (above the limit, say) says so itself
            self.add_error("sizes_for", "Enter a quantity for at least one size.")
        return data

    def color_name(self) -> str | None:
        """The colour as posted (the services check it), or None: the default colour."""
        return (self.cleaned_data.get("color") or "").strip() or None

    def sizes(self) -> list[SizeQuantity]:
        color = self.color_name()
        return [
            SizeQuantity(size, self.cleaned_data[name], color=color)
            for size, name in self.size_fields
            if self.cleaned_data.get(name)
        ]

    def designs(self) -> list[PlacementDesign]:
        return [
            PlacementDesign(placement.code, self.cleaned_data[name])
            for placement, name in self.placement_fields
            if self.cleaned_data.get(name)
        ]

    def quote(self) -> Quote | None:
        """The price of what was entered so far, or None while garment, colour, sizes or
        priority are missing or refused (the refusal is added to the form). Priced as the order
        is: each line's variant of the chosen colour (the services' own `resolve_order`), and
        each placement whose design URL field is filled. Call after `is_valid()`."""
        priced = (
            "garment",
            "priority",
            "sizes_for",
            "color",
            *(name for _, name in self.size_fields),
        )
        if any(name in self.errors for name in priced) or not self.sizes():
            return None
        garment = self.cleaned_data["garment"]
        try:
            resolved = resolve_order(garment, self.sizes(), "", ())
        except InvalidOrder as exc:
            self.add_service_errors(exc.details)
            return None
        return quote_order(
            garment=garment,
            sizes=self.sizes(),
            priority=self.cleaned_data["priority"],
            variants=resolved.variants,
            delivery=self.delivery_choice() or Delivery.UNKNOWN,
            country_code=self.cleaned_data.get("ship_country") or "",
            extra_placements=[
                placement
                for placement, name in self.placement_fields
                if str(self.data.get(name, "")).strip()
            ],
        )

    def delivery_choice(self) -> str | None:
        """The delivery chosen (shipping or pickup), or None: not chosen."""
        return self.cleaned_data.get("delivery") or None

    def add_service_errors(self, details: dict[str, list[str]]) -> None:
        """The services' refusals, next to the field they are about (a colour the garment does
        not offer: the colour; the rest of `sizes`: the sizes)."""
        for field, messages in details.items():
            for message in dict.fromkeys(messages):  # one line per size: say it once
                target = SERVICE_FIELDS.get(field)
                if field == "sizes" and message.startswith("Colour "):
                    target = "color"
                if target is not None and target not in self.fields:
                    target = None
                self.add_error(target, message)


class OrderForm(QuoteForm):
    design_url = HttpUrlField(
        label="Design URL",
        max_length=2048,
        assume_scheme="https",
        help_text="A link to your print-ready artwork (PNG or SVG).",
    )
    notes = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Required here (an order from the form always says how it reaches the customer), Shipping
    # preselected; pickup is offered only where the shop has a PICKUP_ADDRESS.
    delivery = forms.ChoiceField(
        widget=forms.RadioSelect,
        initial=Delivery.SHIPPING,
        error_messages={"required": "Choose shipping or pickup."},
    )
    # Makes a double-submitted form (or a retry after a payment-provider error) one order.
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # The ship-to address, for shipping: checked per country by `clean_address`, whose words show
    # next to each field. The maximum lengths are the stored ones.
    ship_name = forms.CharField(label="Full name", required=False, max_length=200)
    ship_address1 = forms.CharField(label="Address line 1", required=False, max_length=200)
    ship_address2 = forms.CharField(
        label="Address line 2 (optional)", required=False, max_length=200
    )
    ship_city = forms.CharField(label="City", required=False, max_length=100)
    ship_state = forms.CharField(label="State, province or region", required=False, max_length=50)
    ship_zip = forms.CharField(label="Postal code", required=False, max_length=20)
    ship_phone = forms.CharField(label="Phone (optional)", required=False, max_length=40)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.address: ShippingAddressData | None = None
        if self.delivery_choice() == Delivery.SHIPPING and not any(
            name in self.errors for name in ADDRESS_FIELDS.values()
        ):
            try:
                self.address = clean_address(
                    {api: data.get(field) or "" for api, field in ADDRESS_FIELDS.items()}
                )
            except InvalidAddress as exc:
                self.add_service_errors(exc.details)
        return data

    def address_fields(self) -> list[forms.BoundField]:
        return [self[field] for field in ADDRESS_FIELDS.values() if field != "ship_country"]

    def idempotency_key(self) -> str:
        """Same form, same content: same draft. Changed content after an error: a new draft."""
        content = json.dumps(
            [
                self.cleaned_data["garment"].shopify_gid,
                self.cleaned_data["design_url"],
                [(s.size, s.quantity, s.color) for s in self.sizes()],
                [(d.placement, d.url) for d in self.designs()],
                self.cleaned_data["priority"],
                self.cleaned_data["notes"],
                self.delivery_choice(),
                self.address.as_api() if self.address else None,
            ]
        )
        digest = hashlib.sha256(content.encode()).hexdigest()[:16]
        return f"order-form-{self.cleaned_data['form_token']}-{digest}"


class CheckoutAddressForm(forms.Form):
    """The shipping address the checkout simulator asks for when its session collects one
    (`shipping_address_collection`), with Stripe Checkout's fields and, like Stripe's page, only
    its own light checks (the countries allowed, the lines it requires): the webhook checks the
    address per country and flags one that fails, as it would for Stripe's."""

    name = forms.CharField(label="Full name", max_length=200)
    line1 = forms.CharField(label="Address line 1", max_length=200)
    line2 = forms.CharField(label="Address line 2 (optional)", required=False, max_length=200)
    city = forms.CharField(label="City", required=False, max_length=100)
    state = forms.CharField(label="State, province or region", required=False, max_length=50)
    postal_code = forms.CharField(label="Postal code", required=False, max_length=20)
    country = forms.ChoiceField(label="Country")

    def __init__(self, *args: Any, allowed_countries: list[str], **kwargs: Any) -> None:
        super().__init__(*args, prefix="shipping", **kwargs)
        self.fields["country"].choices = [("", "Choose a country")] + [
            (code, addresses.country_name(code)) for code in allowed_countries
        ]

    def shipping_details(self) -> dict[str, Any]:
        """The address as Stripe puts it in the session's `shipping_details`."""
        data = self.cleaned_data
        return {
            "address": {
                "city": data["city"] or None,
                "country": data["country"],
                "line1": data["line1"],
                "line2": data["line2"] or None,
                "postal_code": data["postal_code"] or None,
                "state": data["state"] or None,
            },
            "name": data["name"],
        }
