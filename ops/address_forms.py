"""The ops order page's ship-to address form: what `correct_shipping_address` takes, in the
order JSON's (Printful's) field names; the service validates it for its country."""

from __future__ import annotations

from django import forms

from production.addresses import ShippingAddressData, country_choices

# The form's field → the service's (API) name, for its errors (`shipping.zip` → `postal_code`).
API_NAMES = {
    "name": "name",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "state_code": "stateCode",
    "country_code": "countryCode",
    "postal_code": "zip",
    "phone": "phone",
}


class AddressForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    address1 = forms.CharField(max_length=200, label="Address line 1")
    address2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    city = forms.CharField(max_length=100, required=False, label="City")
    state_code = forms.CharField(max_length=50, required=False, label="State / province code")
    # The countries shipped to, by name (CLDR); the service refuses any other.
    country_code = forms.ChoiceField(label="Country")
    postal_code = forms.CharField(max_length=20, required=False, label="Postal code")
    phone = forms.CharField(max_length=40, required=False, label="Phone")
    note = forms.CharField(max_length=2000, required=False, label="Note (on the timeline)")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country_code"].choices = [("", "Choose a country"), *country_choices()]

    @classmethod
    def for_address(cls, address: ShippingAddressData | None, **kwargs: object) -> AddressForm:
        initial = address.as_model_fields() if address else {}
        return cls(initial=initial, prefix="address", **kwargs)

    def as_api(self) -> dict[str, str]:
        return {api: self.cleaned_data[field] for field, api in API_NAMES.items()}

    def add_service_errors(self, details: dict[str, list[str]]) -> None:
        """The service's `shipping.<field>` errors next to the form's fields."""
        by_api = {api: field for field, api in API_NAMES.items()}
        for key, messages in details.items():
            field = by_api.get(key.removeprefix("shipping."))
            for message in messages:
                self.add_error(field, message)
