"""The customer order form: parses and validates input; the order itself is made by the services.

The size fields are the chosen garment's only (a tee has no "One Size", a tote no XS). Without
JavaScript the page is rendered for one garment; `sizes_for` says which, so a garment switched on
that page asks for its own sizes again instead of dropping what was typed. With JavaScript
(static/js/order-form.js) the fields are swapped in place and `sizes_for` follows.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.db.models import QuerySet

from production.lifecycle import LEAD_DAYS, Priority
from production.models import Garment
from production.pricing import (
    RUSH_SURCHARGE_PERCENT,
    Quote,
    SizeQuantity,
    format_money,
    quote_order,
)

MAX_QUANTITY = 10000  # per size, as the API allows

# What the services call a field (InvalidOrder details) -> the form field that shows the error.
SERVICE_FIELDS = {
    "garmentId": "garment",
    "designUrl": "design_url",
    "notes": "notes",
    "sizes": "sizes_for",
}


def active_garments() -> QuerySet[Garment]:
    return Garment.objects.filter(is_active=True).order_by("name")


def size_field_name(size: str) -> str:
    return "qty_" + re.sub(r"[^a-z0-9]+", "_", size.lower()).strip("_")


def size_choices(garments: QuerySet[Garment]) -> dict[str, dict[str, Any]]:
    """Each garment's sizes with their field names and prices, for the page's script
    (json_script): switching the garment swaps the size fields without a reload."""
    return {
        garment.shopify_gid: {
            "name": garment.name,
            "sizes": [
                {
                    "size": size,
                    "field": size_field_name(size),
                    "unitPrice": format_money(garment.unit_price(size), garment.currency),
                }
                for size in garment.sizes
            ],
        }
        for garment in garments
    }


class HttpUrlField(forms.URLField):
    # One validator, not URLField's own plus a second one: a bad link gets one error, not two.
    default_validators = [URLValidator(schemes=["http", "https"])]


class GarmentChoiceField(forms.ModelChoiceField):
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.garments = active_garments()
        self.fields["garment"].queryset = self.garments
        self.chosen = self._chosen_garment()
        self.size_fields: list[tuple[str, str]] = []
        for size in self.chosen.sizes if self.chosen else []:
            name = size_field_name(size)
            self.fields[name] = forms.IntegerField(
                label=size,
                min_value=0,
                max_value=MAX_QUANTITY,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            self.size_fields.append((size, name))
        if not self.is_bound and self.chosen:
            self.initial["garment"] = self.chosen.shopify_gid
            self.initial["sizes_for"] = self.chosen.shopify_gid

    def _chosen_garment(self) -> Garment | None:
        """The garment whose sizes the page shows: the posted one, else the preselected one
        (?garment=<gid>), else the first on offer."""
        wanted = self.data.get("garment") if self.is_bound else self.initial.get("garment")
        garments = list(self.garments)
        chosen = next((g for g in garments if g.shopify_gid == wanted), None)
        if chosen is None and not self.is_bound:
            chosen = garments[0] if garments else None
        return chosen

    def size_inputs(self) -> list[forms.BoundField]:
        return [self[name] for _, name in self.size_fields]

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
        elif not any(data.get(name) for _, name in self.size_fields):
            self.add_error("sizes_for", "Enter a quantity for at least one size.")
        return data

    def sizes(self) -> list[SizeQuantity]:
        return [
            SizeQuantity(size, self.cleaned_data[name])
            for size, name in self.size_fields
            if self.cleaned_data.get(name)
        ]

    def quote(self) -> Quote | None:
        """The price of what was entered so far, or None while garment, sizes or priority are
        missing or invalid. Call after `is_valid()`."""
        priced = ("garment", "priority", "sizes_for", *(name for _, name in self.size_fields))
        if any(name in self.errors for name in priced) or not self.sizes():
            return None
        return quote_order(
            garment=self.cleaned_data["garment"],
            sizes=self.sizes(),
            priority=self.cleaned_data["priority"],
        )


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
    # Makes a double-submitted form (or a retry after a payment-provider error) one order.
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def idempotency_key(self) -> str:
        """Same form, same content: same draft. Changed content after an error: a new draft."""
        content = json.dumps(
            [
                self.cleaned_data["garment"].shopify_gid,
                self.cleaned_data["design_url"],
                [(s.size, s.quantity) for s in self.sizes()],
                self.cleaned_data["priority"],
                self.cleaned_data["notes"],
            ]
        )
        digest = hashlib.sha256(content.encode()).hexdigest()[:16]
        return f"order-form-{self.cleaned_data['form_token']}-{digest}"

    def add_service_errors(self, details: dict[str, list[str]]) -> None:
        for field, messages in details.items():
            for message in messages:
                self.add_error(SERVICE_FIELDS.get(field), message)
