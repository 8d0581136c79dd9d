"""The customer order form: parses and validates input; the order itself is made by the services."""

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
from production.pricing import RUSH_SURCHARGE_PERCENT, SizeQuantity, format_money

MAX_QUANTITY = 10000  # per size, as the API allows

# What the services call a field (InvalidOrder details) -> the form field that shows the error.
SERVICE_FIELDS = {"garmentId": "garment", "designUrl": "design_url", "notes": "notes"}


def offered_sizes(garments: QuerySet[Garment]) -> list[str]:
    """Every size any active garment offers, in the order the catalogue lists them."""
    sizes: list[str] = []
    for garment in garments:
        sizes.extend(size for size in garment.sizes if size not in sizes)
    return sizes


def size_field_name(size: str) -> str:
    return "qty_" + re.sub(r"[^a-z0-9]+", "_", size.lower()).strip("_")


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


class OrderForm(forms.Form):
    garment = GarmentChoiceField(
        queryset=Garment.objects.none(),
        to_field_name="shopify_gid",
        empty_label=None,
        widget=forms.RadioSelect,
    )
    design_url = forms.URLField(
        label="Design URL",
        max_length=2048,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="A link to your print-ready artwork (PNG or SVG).",
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
    notes = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Makes a double-submitted form (or a retry after a payment-provider error) one order.
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        garments = Garment.objects.filter(is_active=True).order_by("name")
        self.fields["garment"].queryset = garments
        self.size_fields: list[tuple[str, str]] = []
        for size in offered_sizes(garments):
            name = size_field_name(size)
            self.fields[name] = forms.IntegerField(
                label=size, min_value=0, max_value=MAX_QUANTITY, required=False
            )
            self.size_fields.append((size, name))

    def size_inputs(self) -> list[forms.BoundField]:
        return [self[name] for _, name in self.size_fields]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any(data.get(name) for _, name in self.size_fields) and not any(
            name in self.errors for _, name in self.size_fields
        ):
            raise forms.ValidationError("Enter a quantity for at least one size.")
        return data

    def sizes(self) -> list[SizeQuantity]:
        return [
            SizeQuantity(size, self.cleaned_data[name])
            for size, name in self.size_fields
            if self.cleaned_data.get(name)
        ]

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
