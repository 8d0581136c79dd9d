"""Django admin for support staff. Order fields are read-only: changes go through the services."""

import re
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe

from production import notifications
from production.exceptions import OrderError
from production.lifecycle import (
    STATUS_FIELD,
    STEP_FIELD,
    Actor,
    EventSource,
    OrderFacts,
    Priority,
    offered_moves,
)
from production.models import (
    ArtworkProof,
    FulfillmentEvent,
    Garment,
    GarmentColor,
    LineItem,
    OrderNote,
    OutgoingEmail,
    Placement,
    ProductionOrder,
    Shipment,
    Variant,
)
from production.pricing import format_money
from production.services.catalogue import ensure_catalogue, set_in_stock
from production.services.messages import add_customer_message, add_order_note
from production.services.orders import update_order

# The admin's left-hand model list repeats its home page and takes a quarter of a laptop's width,
# where the order list's Total and Created columns belong.
admin.site.enable_nav_sidebar = False


class OneDefaultColorFormSet(forms.BaseInlineFormSet):
    """A garment keeps exactly one default colour (the one a line item without a colour gets)."""

    def clean(self) -> None:
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        defaults = sum(1 for data in kept if data.get("is_default"))
        if kept and defaults != 1:
            raise forms.ValidationError("Mark exactly one colour as the default.")


class GarmentColorInline(admin.TabularInline):
    model = GarmentColor
    formset = OneDefaultColorFormSet
    fields = ("name", "hex", "position", "is_default")
    extra = 0


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ("color", "size", "sku", "shopify_variant_gid", "upcharge", "in_stock")
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Garment | None = None, **kwargs) -> type:
        self._garment = obj  # the colours offered are this garment's
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs) -> object:
        if db_field.name == "color":
            garment = getattr(self, "_garment", None)
            kwargs["queryset"] = (
                GarmentColor.objects.filter(garment=garment)
                if garment is not None
                else GarmentColor.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PlacementInline(admin.TabularInline):
    model = Placement
    fields = ("code", "name", "width_in", "height_in", "unit_amount", "position")
    extra = 0


@admin.register(Garment)
class GarmentAdmin(admin.ModelAdmin):
    list_display = ("name", "shopify_gid", "price", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "shopify_gid")
    inlines = [GarmentColorInline, VariantInline, PlacementInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Price", ordering="base_price")
    def price(self, garment: Garment) -> str:
        return format_money(garment.base_price, garment.currency)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset, change) -> None:
        if isinstance(formset, OneDefaultColorFormSet):
            # The new default is saved while the old one still is: the old one first stops being
            # the default (the formset checked there is exactly one).
            chosen = [
                f.instance.pk
                for f in formset.forms
                if f.cleaned_data.get("is_default") and not f.cleaned_data.get("DELETE")
            ]
            form.instance.colors.exclude(pk__in=[pk for pk in chosen if pk]).update(
                is_default=False
            )
        super().save_formset(request, form, formset, change)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # A garment saved without colours or a front placement gets the default ones.
        ensure_catalogue(form.instance)


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    """Stock by variant: support marks a variant out of stock (the list's checkbox or the
    action); orders for it are refused from then on."""

    list_display = ("sku", "garment", "color", "size", "extra", "in_stock")
    list_editable = ("in_stock",)
    list_filter = ("in_stock", "garment", "color__name")
    list_select_related = ("garment", "color")
    search_fields = ("sku", "garment__name", "color__name", "shopify_variant_gid")
    actions = ["mark_out_of_stock", "mark_in_stock"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("production.change_garment")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm("production.change_garment")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple:
        if request.user.has_perm("production.change_garment"):
            return ()
        return ("garment", "color", "size", "sku", "shopify_variant_gid", "upcharge")

    @admin.display(description="Upcharge", ordering="upcharge")
    def extra(self, variant: Variant) -> str:
        return format_money(variant.upcharge, variant.garment.currency)

    @admin.action(description="Mark out of stock (orders for them are refused)")
    def mark_out_of_stock(self, request: HttpRequest, queryset) -> None:
        count = set_in_stock(variant_ids=queryset.values_list("pk", flat=True), in_stock=False)
        self.message_user(request, f"{count} variant(s) marked out of stock.")

    @admin.action(description="Mark in stock")
    def mark_in_stock(self, request: HttpRequest, queryset) -> None:
        count = set_in_stock(variant_ids=queryset.values_list("pk", flat=True), in_stock=True)
        self.message_user(request, f"{count} variant(s) marked in stock.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log the code writes (events, payments, refunds, scans, batches): listed and shown to
    support, never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """An order's rows as the services wrote them: shown, never added, changed or deleted here
    (new notes and changes go through the "Change through the service" page)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LineItemInline(ReadOnlyInline):
    model = LineItem
    fields = readonly_fields = ("color", "size", "quantity", "technique", "unit_price", "amount")

    @admin.display(description="Unit price")
    def unit_price(self, item: LineItem) -> str:
        return format_money(item.unit_amount, item.order.currency)

    @admin.display(description="Amount")
    def amount(self, item: LineItem) -> str:
        return format_money(item.line_amount, item.order.currency)


class EventInline(ReadOnlyInline):
    model = FulfillmentEvent
    fields = readonly_fields = ("occurred_at", "what", "message", "who", "details")

    @admin.display(description="What")
    def what(self, event: FulfillmentEvent) -> str:
        return (
            f"{event.get_kind_display()}: {event.status}"
            if event.status
            else event.get_kind_display()
        )

    @admin.display(description="By")
    def who(self, event: FulfillmentEvent) -> str:
        name = event.actor.email or event.actor.username if event.actor else ""
        return f"{event.get_source_display()} ({name})" if name else event.get_source_display()

    @admin.display(description="Details")
    def details(self, event: FulfillmentEvent) -> str:
        return readable_data(event.metadata)


class ProofInline(ReadOnlyInline):
    """Every revision of the artwork proof with its decision (written by the services only)."""

    model = ArtworkProof
    fields = readonly_fields = (
        "revision",
        "proof_file",
        "kind",
        "state",
        "notes",
        "sent_by",
        "sent_at",
        "decided_by",
        "decided_at",
        "decided_via",
        "comment",
    )

    @admin.display(description="File")
    def proof_file(self, proof: ArtworkProof) -> str:
        # Through the checked view, never the storage's own URL.
        url = reverse("order-proof-file", args=[proof.order_id, proof.revision])
        return format_html('<a href="{}" target="_blank" rel="noopener">open</a>', url)


class ShipmentInline(ReadOnlyInline):
    """Parcels and pickups with their items. Corrections are on the ops order page (they go on
    the customer's timeline, with the old number); here support sees the current values."""

    model = Shipment
    fields = readonly_fields = (
        "shipped_on",
        "kind",
        "carrier",
        "tracking",
        "contents",
        "recorded_by",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> object:
        return (
            super()
            .get_queryset(request)
            .select_related("recorded_by")
            .prefetch_related("items__line_item")
        )

    @admin.display(description="Tracking")
    def tracking(self, shipment: Shipment) -> str:
        if not shipment.tracking_url:
            return shipment.tracking_number or "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            shipment.tracking_url,
            shipment.tracking_number,
        )

    @admin.display(description="Items")
    def contents(self, shipment: Shipment) -> str:
        return ", ".join(f"{i.quantity} × {i.line_item.size}" for i in shipment.items.all())


def readable_data(data: object) -> str:
    """An event's data as support reads it: one "Label: value" line per entry (nested ones
    indented), amounts in minor units left as recorded; no JSON braces or quotes."""
    if data in (None, "", {}, []):
        return "—"
    lines: list[str] = []

    def walk(value: object, label: str, depth: int) -> None:
        pad = "\u00a0\u00a0" * depth
        words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label).replace("_", " ")  # stripeEventId
        title = words.capitalize() if label else ""
        if isinstance(value, dict):
            if title:
                lines.append(f"{pad}{title}:")
            for key, inner in value.items():
                walk(inner, str(key), depth + (1 if title else 0))
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value if not isinstance(v, dict | list))
            if shown or not value:
                lines.append(f"{pad}{title}: {shown or '—'}" if title else f"{pad}{shown}")
            for inner in (v for v in value if isinstance(v, dict | list)):
                walk(inner, "", depth + 1)
        else:
            text = "—" if value in (None, "") else str(value)
            lines.append(f"{pad}{title}: {text}" if title else f"{pad}{text}")

    walk(data, "", 0)
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))


class NoteInline(ReadOnlyInline):
    template = "admin/edit_inline/stacked.html"
    model = OrderNote
    fields = readonly_fields = ("body", "author", "created_at")


class OrderChangeForm(forms.Form):
    """What support may ask of the production service for one order: a move, a production step,
    a priority, a timeline message or an internal note. Only the moves the service allows now are
    offered."""

    move_to = forms.ChoiceField(required=False, label="Move to state")
    set_production_status = forms.ChoiceField(required=False, label="Advance production status")
    set_priority = forms.ChoiceField(required=False, label="Set priority")
    change_note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Message for the timeline",
        help_text="Shown to the customer: with a change, as its message; alone, as a message.",
    )
    internal_note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Internal note",
        help_text="For the shop only.",
    )

    def __init__(self, *args: object, order: ProductionOrder, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        blank = [("", "— no change —")]
        offers = offered_moves(OrderFacts.of(order), Actor.OPERATOR)
        self.fields["move_to"].choices = blank + [
            (o.to.value, o.label) for o in offers if o.field == STATUS_FIELD and o.allowed
        ]
        # The next step, even when refused now: the service says why.
        self.fields["set_production_status"].choices = blank + [
            (o.to.value, o.label) for o in offers if o.field == STEP_FIELD
        ]
        self.fields["set_priority"].choices = blank + [
            (p.value, p.label) for p in Priority if p != order.priority
        ]

    def clean(self) -> dict:
        data = super().clean()
        if not any(data.get(name) for name in self.fields):
            raise forms.ValidationError("Nothing to change.")
        return data


class EmailInline(ReadOnlyInline):
    model = OutgoingEmail
    fields = readonly_fields = (
        "created_at",
        "kind",
        "to",
        "delivery",
        "sent_at",
        "attempts",
        "last_error",
    )

    @admin.display(description="Delivery")
    def delivery(self, email: OutgoingEmail) -> str:
        return notifications.delivery_state(email)


class DeliveryFilter(admin.SimpleListFilter):
    """Filter by delivery; "in doubt" lists the mails a person must decide about."""

    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("in_doubt", "In doubt"), ("unsent", "Not sent"), ("sent", "Sent")]

    def queryset(self, request: HttpRequest, queryset):
        if self.value() == "in_doubt":
            return queryset.filter(pk__in=notifications.in_doubt().values("pk"))
        if self.value() == "unsent":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """Customer mails and whether they left: support can see what a customer was told, send a
    stuck one again once the mail server is back, and decide about a mail in doubt (send it
    again, or mark it sent), each decision recorded in the mail's history."""

    list_display = (
        "created_at",
        "order",
        "kind",
        "to",
        "delivery",
        "sent_at",
        "attempts",
        "last_error",
    )
    list_filter = (DeliveryFilter, "kind")
    search_fields = ("order__reference", "to")
    list_select_related = ("order",)
    readonly_fields = (
        "order",
        "kind",
        "to",
        "subject",
        "body",
        "created_at",
        "delivery",
        "attempts",
        "next_attempt_at",
        "handed_over_at",
        "sent_at",
        "last_error",
    )
    actions = ["try_again_now", "mark_as_sent"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Delivery")
    def delivery(self, email: OutgoingEmail) -> str:
        return notifications.delivery_state(email)

    @admin.action(description="Send the selected unsent (or in-doubt) mails again now")
    def try_again_now(self, request: HttpRequest, queryset) -> None:
        # Queued, not sent here: support's page never waits on the mail server.
        selected = list(queryset)
        doubted = set(
            notifications.in_doubt()
            .filter(pk__in=[e.pk for e in selected])
            .values_list("pk", flat=True)
        )
        queued = set(notifications.retry_now([email.pk for email in selected]))
        for email in selected:
            if email.pk in queued:
                self.log_change(
                    request,
                    email,
                    "Sent again (was in doubt)" if email.pk in doubted else "Tried again now",
                )
        left = len(selected) - len(queued)
        text = f"{len(queued)} queued for sending; the task worker sends them within seconds."
        if left:
            text += f" {left} left alone (already sent, or being sent right now)."
        self.message_user(request, text, messages.SUCCESS if queued else messages.WARNING)

    @admin.action(
        description="Mark the selected in-doubt mails as sent (the mail server took them)"
    )
    def mark_as_sent(self, request: HttpRequest, queryset) -> None:
        selected = list(queryset)
        marked = set(notifications.mark_sent([email.pk for email in selected]))
        for email in selected:
            if email.pk in marked:
                self.log_change(request, email, "Marked as sent (was in doubt)")
        left = len(selected) - len(marked)
        text = f"{len(marked)} marked as sent."
        if left:
            text += f" {left} left alone (only mails in doubt can be marked as sent)."
        self.message_user(request, text, messages.SUCCESS if marked else messages.WARNING)


@admin.register(ProductionOrder)
class ProductionOrderAdmin(ReadOnlyAdmin):
    # Read-only: orders come from checkout, and the audit trail must survive. The order page
    # itself changes nothing (every write goes through the services, which own their
    # transactions, outside the one the admin wraps its change form in); changes are asked for
    # on the "change through the service" page, which needs the change permission.
    list_display = (
        "reference",
        "external_reference",
        "owner",
        "garment",
        "status",
        "production_status",
        "priority",
        "total",
        "created_at",
    )
    list_filter = ("status", "production_status", "priority", "created_at")
    search_fields = ("reference", "external_reference", "owner__email", "owner__username")
    list_select_related = ("owner", "garment")
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [LineItemInline, EventInline, ProofInline, ShipmentInline, NoteInline, EmailInline]
    readonly_fields = (
        "reference",
        "external_reference",
        "owner",
        "status",
        "production_status",
        "priority",
        "garment",
        "design_url",
        "prompt",
        "notes",
        "subtotal",
        "rush_surcharge",
        "shipping",
        "total",
        "total_quantity",
        "stripe_checkout_session_id",
        "due_date",
        "created_at",
        "updated_at",
        "submitted_at",
        "shipped_quantity",
        "pickup_ready_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "external_reference",
                    "owner",
                    "status",
                    "production_status",
                    "priority",
                )
            },
        ),
        (
            "Order",
            {
                "fields": (
                    "garment",
                    "design_url",
                    "prompt",
                    "notes",
                    "total_quantity",
                    "shipped_quantity",
                    "pickup_ready_at",
                    "due_date",
                    "created_at",
                    "updated_at",
                    "submitted_at",
                )
            },
        ),
        (
            "Money",
            {
                "fields": (
                    "subtotal",
                    "rush_surcharge",
                    "shipping",
                    "total",
                    "stripe_checkout_session_id",
                )
            },
        ),
    )
    change_form_template = "admin/production/productionorder/change_form.html"

    @admin.display(description="Subtotal")
    def subtotal(self, order: ProductionOrder) -> str:
        return format_money(order.subtotal_amount, order.currency)

    @admin.display(description="Rush surcharge")
    def rush_surcharge(self, order: ProductionOrder) -> str:
        return format_money(order.rush_surcharge_amount, order.currency)

    @admin.display(description="Shipping")
    def shipping(self, order: ProductionOrder) -> str:
        return format_money(order.shipping_amount, order.currency)

    @admin.display(description="Total", ordering="total_amount")
    def total(self, order: ProductionOrder) -> str:
        return format_money(order.total_amount, order.currency)

    def get_inlines(self, request: HttpRequest, obj: object) -> list:
        # Payments and refunds come from the payments app, named by a setting (this app does not
        # import it).
        return [*self.inlines, *(import_string(path) for path in settings.ORDER_ADMIN_INLINES)]

    def get_urls(self) -> list:
        change = path(
            "<uuid:order_id>/change-through-service/",
            self.admin_site.admin_view(self.change_through_service),
            name="production_productionorder_service_change",
        )
        return [change, *super().get_urls()]

    def change_through_service(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        """Support's changes to one order, each made by the production service."""
        if not request.user.has_perm("production.change_productionorder"):
            raise PermissionDenied
        order = get_object_or_404(ProductionOrder, pk=order_id)
        form = OrderChangeForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                _apply(order, request.user, form.cleaned_data)
            except OrderError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"{order.reference} changed.", messages.SUCCESS)
                return redirect("admin:production_productionorder_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change {order.reference} through the production service",
            "order": order,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "admin/production/productionorder/service_change.html", context
        )


def _apply(order: ProductionOrder, user: object, data: dict) -> None:
    """The form's asks, in the services' terms (each its own transaction)."""
    if data["move_to"] or data["set_production_status"] or data["set_priority"]:
        update_order(
            order=order,
            actor=user,
            source=EventSource.ADMIN,
            status=data["move_to"] or None,
            production_status=data["set_production_status"] or None,
            priority=data["set_priority"] or None,
            note=data["change_note"],
        )
    elif data["change_note"]:
        add_customer_message(
            order=order, author=user, body=data["change_note"], source=EventSource.ADMIN
        )
    if data["internal_note"]:
        add_order_note(order=order, author=user, body=data["internal_note"])
