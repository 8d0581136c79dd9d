"""Forms of the ops dashboard: they check and parse what is posted, and never write."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.http import QueryDict
from django.utils import timezone

from ops.services import BULK_FIELDS
from production.exceptions import OrderError
from production.lifecycle import STATUS_FIELD, STEP_FIELD, Actor, Priority, offered_anywhere
from production.pricing import THREE_DECIMAL, ZERO_DECIMAL
from production.tracking import MAX_TRACKING_LENGTH, Carrier

# Query parameters that make up a list view (everything else — paging — is per page).
FILTER_PARAMS = (
    "status",
    "productionStatus",
    "priority",
    "proofWaiting",
    "createdFrom",
    "createdTo",
    "q",
    "color",
    "sort",
)
MAX_SELECTED = 200


def filter_params(data: QueryDict) -> QueryDict:
    """Only the filter and sort parameters of `data` (a fresh, mutable QueryDict)."""
    kept = QueryDict(mutable=True)
    for name in FILTER_PARAMS:
        values = [v for v in data.getlist(name) if v.strip()]
        if values:
            kept.setlist(name, values)
    return kept


# What a bulk action may set, as "<field>:<value>" options grouped for one <select>: every move
# the rulebook offers an operator for some order (each order is then checked on its own). Targets
# that no operator move reaches (draft; submitted, which only a payment makes) are not offered.
_OFFERS = offered_anywhere(Actor.OPERATOR)
BULK_CHOICES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Order state",
        [(f"status:{o.to.value}", o.to.label) for o in _OFFERS if o.field == STATUS_FIELD],
    ),
    (
        "Production status",
        [(f"productionStatus:{o.to.value}", o.to.label) for o in _OFFERS if o.field == STEP_FIELD],
    ),
    ("Priority", [(f"priority:{p.value}", p.label) for p in Priority]),
]


class BulkUpdateForm(forms.Form):
    change = forms.ChoiceField(choices=BULK_CHOICES)
    scope = forms.ChoiceField(choices=[("selected", "Selected"), ("all", "All matching")])
    filters = forms.CharField(required=False, max_length=2000)
    confirmed = forms.BooleanField(required=False)
    expected = forms.IntegerField(required=False, min_value=0)

    def clean(self) -> dict:
        data = super().clean()
        change = data.get("change")
        if change:
            field_name, value = change.split(":", 1)
            if field_name not in BULK_FIELDS:
                raise forms.ValidationError("Unknown change.")
            data["field_name"], data["value"] = field_name, value
        data["filter_query"] = filter_params(QueryDict(data.get("filters") or ""))
        ids: list[uuid.UUID] = []
        for raw in self.data.getlist("ids"):
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                raise forms.ValidationError("A selected order id is not valid.") from None
        if len(ids) > MAX_SELECTED:
            raise forms.ValidationError(f"Select at most {MAX_SELECTED} orders at a time.")
        data["ids"] = ids
        if data.get("scope") == "selected" and not ids:
            raise forms.ValidationError("Select at least one order.")
        return data


class TicketPrintForm(forms.Form):
    """Job tickets from the list: the selected orders, or every order the filters match."""

    scope = forms.ChoiceField(choices=[("selected", "Selected"), ("all", "All matching")])
    filters = forms.CharField(required=False, max_length=2000)

    def clean(self) -> dict:
        data = super().clean()
        data["filter_query"] = filter_params(QueryDict(data.get("filters") or ""))
        ids: list[uuid.UUID] = []
        for raw in self.data.getlist("ids"):
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                raise forms.ValidationError("A selected order id is not valid.") from None
        data["ids"] = ids
        if data.get("scope") == "selected" and not ids:
            raise forms.ValidationError("Select at least one order to print its job ticket.")
        return data


class OrderActionForm(forms.Form):
    """One change on the order page: a state move, a production step, a priority, a note or a
    message to the customer."""

    ACTIONS = ("status", "productionStatus", "priority", "note", "message")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    value = forms.CharField(required=False, max_length=40)
    body = forms.CharField(required=False, max_length=2000, strip=True)
    confirmed = forms.BooleanField(required=False)  # a move that cannot be undone was confirmed
    # The note and message forms' one-time token: the same form posted again adds nothing.
    token = forms.UUIDField(required=False)

    def clean(self) -> dict:
        data = super().clean()
        action = data.get("action")
        if action in BULK_FIELDS:
            choices = BULK_FIELDS[action][1]
            if data.get("value") not in choices.values:
                raise forms.ValidationError("Choose a valid value.")
        elif action in ("note", "message") and not data.get("body"):
            raise forms.ValidationError(
                "Write the note first." if action == "note" else "Write the message first."
            )
        return data


SERVICE_FIELDS = {  # the services' error fields → this form's fields (others: the whole form)
    "carrier": "carrier",
    "trackingNumber": "tracking_number",
    "trackingUrl": "tracking_url",
    "shippedOn": "shipped_on",
    "note": "note",
    "notes": "note",
}


def add_service_error(form: forms.Form, error: OrderError) -> None:
    """Show a service's refusal on the form, next to the field it names."""
    for field, messages in error.details.items():
        name = SERVICE_FIELDS.get(field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class ShipmentForm(forms.Form):
    """A parcel handed to a carrier: carrier, tracking, shipped date and one quantity per line
    item (named `qty-<line id>`, defaulting to what is left to ship). The service checks it all
    again under the order's lock; this only parses."""

    carrier = forms.ChoiceField(choices=[("", "Choose…"), *Carrier.choices])
    tracking_number = forms.CharField(max_length=MAX_TRACKING_LENGTH, label="Tracking number")
    tracking_url = forms.CharField(
        max_length=2048,
        required=False,
        label="Tracking link (other carriers only)",
        help_text="UPS, USPS, FedEx and DHL links are built from the number.",
    )
    shipped_on = forms.DateField(label="Shipped on", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: object, remaining: list[tuple[object, int]], **kwargs: object):
        super().__init__(*args, **kwargs)
        self.fields["shipped_on"].initial = timezone.localdate()
        self.line_fields = []
        for item, left in remaining:
            name = f"qty-{item.pk}"
            self.fields[name] = forms.IntegerField(
                min_value=0,
                max_value=10000,
                initial=left,
                required=False,
                label=f"Size {item.size}",
                widget=forms.NumberInput(attrs={"max": left, "min": 0}),
            )
            self.line_fields.append((self[name], item, left))

    def ship_lines(self) -> list[tuple[int, int]]:
        """(line item id, quantity) for every line (empty counts as 0)."""
        return [
            (item.pk, self.cleaned_data.get(field.name) or 0) for field, item, _ in self.line_fields
        ]


class CorrectionForm(forms.Form):
    """A wrong carrier or tracking number on a recorded shipment."""

    carrier = forms.ChoiceField(choices=Carrier.choices)
    tracking_number = forms.CharField(max_length=MAX_TRACKING_LENGTH, label="Tracking number")
    tracking_url = forms.CharField(max_length=2048, required=False, label="Tracking link")
    note = forms.CharField(
        max_length=2000, required=False, label="Why (shown to the customer)", strip=True
    )


class RefundForm(forms.Form):
    """An operator's refund: an amount as people write it (in the payment's currency), a reason,
    and the page's one-time token, so a double submit is one refund."""

    amount = forms.DecimalField(min_value=Decimal("0"), max_digits=12, decimal_places=3)
    note = forms.CharField(required=False, max_length=2000, strip=True)
    token = forms.UUIDField()

    def __init__(self, *args: object, currency: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency.lower()

    def clean_amount(self) -> int:
        """The amount in minor units (Stripe's), refusing digits the currency does not have."""
        amount = self.cleaned_data["amount"]
        digits = currency_digits(self.currency)
        minor = amount.scaleb(digits)
        if minor != minor.to_integral_value():
            raise forms.ValidationError(
                f"{self.currency.upper()} has {digits} decimal place{'s' if digits != 1 else ''}."
            )
        if minor <= 0:
            raise forms.ValidationError("Refund an amount above zero.")
        return int(minor)


def currency_digits(currency: str) -> int:
    code = currency.lower()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


class ScanForm(forms.Form):
    """A code read at a scan station (a scanner types it and Enter)."""

    code = forms.CharField(max_length=2000, required=False, strip=True)


class BoardMoveForm(forms.Form):
    """A card moved on the production board: the order and the stage it was moved to."""

    order = forms.UUIDField()
    stage = forms.ChoiceField(choices=[])
    filters = forms.CharField(required=False, max_length=500)

    def __init__(self, *args: object, **kwargs: object) -> None:
        from ops.floor import STAGES

        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(stage.key, stage.label) for stage in STAGES]
