"""Forms of the ops dashboard: they check and parse what is posted, and never write."""

from __future__ import annotations

import uuid

from django import forms
from django.http import QueryDict

from ops.services import BULK_FIELDS
from production.lifecycle import Priority, ProductionStatus, operator_targets

# Query parameters that make up a list view (everything else — paging — is per page).
FILTER_PARAMS = (
    "status",
    "productionStatus",
    "priority",
    "proofWaiting",
    "createdFrom",
    "createdTo",
    "q",
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


# What a bulk action may set, as "<field>:<value>" options grouped for one <select>. Targets that
# no operator move can reach (draft; submitted, which only a payment makes) are not offered.
BULK_CHOICES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Order state",
        [
            (f"status:{state.value}", state.label)
            for state in operator_targets()  # the rulebook's; each order is checked on its own
        ],
    ),
    (
        "Production status",
        [
            (f"productionStatus:{s.value}", s.label)
            for s in (ProductionStatus.FINISHING, ProductionStatus.READY)
        ],
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
