"""Django admin for support staff. Order fields are read-only: changes go through the services."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from production import notifications, services
from production.exceptions import OrderError
from production.lifecycle import (
    EventSource,
    OrderState,
    Priority,
    ProductionStatus,
    allowed_targets,
    production_step_error,
)
from production.models import (
    FulfillmentEvent,
    Garment,
    LineItem,
    OrderNote,
    OutgoingEmail,
    ProductionOrder,
)


@admin.register(Garment)
class GarmentAdmin(admin.ModelAdmin):
    list_display = ("name", "shopify_gid", "base_price", "currency", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "shopify_gid")


class LineItemInline(admin.TabularInline):
    model = LineItem
    extra = 0
    can_delete = False
    fields = readonly_fields = ("size", "quantity", "technique", "unit_amount", "metadata")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = FulfillmentEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "occurred_at",
        "kind",
        "status",
        "message",
        "source",
        "actor",
        "metadata",
    )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class NoteInline(admin.StackedInline):
    model = OrderNote
    extra = 1
    can_delete = False
    fields = ("body", "author", "created_at")
    readonly_fields = ("author", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OrderAdminForm(forms.ModelForm):
    """The order's own fields are shown read-only; these three ask the service for a change."""

    move_to = forms.ChoiceField(required=False, label="Move to state")
    set_production_status = forms.ChoiceField(required=False, label="Advance production status")
    set_priority = forms.ChoiceField(required=False, label="Set priority")
    change_note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Message for the timeline",
    )

    class Meta:
        model = ProductionOrder
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        order = self.instance
        blank = [("", "— no change —")]
        states = allowed_targets(OrderState(order.status), source=EventSource.ADMIN)
        self.fields["move_to"].choices = blank + [(s.value, s.label) for s in states]
        steps = [
            s
            for s in ProductionStatus
            if production_step_error(order.status, order.production_status, s) is None
        ]
        self.fields["set_production_status"].choices = blank + [(s.value, s.label) for s in steps]
        self.fields["set_priority"].choices = blank + [
            (p.value, p.label) for p in Priority if p != order.priority
        ]


class EmailInline(admin.TabularInline):
    model = OutgoingEmail
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "created_at",
        "kind",
        "to",
        "delivery",
        "sent_at",
        "attempts",
        "last_error",
    )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Delivery")
    def delivery(self, email: OutgoingEmail) -> str:
        return notifications.delivery_state(email)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """Customer mails and whether they left: support can see what a customer was told, and send
    a stuck one again once the mail server is back."""

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
    list_filter = (("sent_at", admin.EmptyFieldListFilter), "kind")
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
    actions = ["try_again_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Delivery")
    def delivery(self, email: OutgoingEmail) -> str:
        return notifications.delivery_state(email)

    @admin.action(description="Try sending the selected unsent mails again now")
    def try_again_now(self, request: HttpRequest, queryset) -> None:
        # Queued, not sent here: support's page never waits on the mail server.
        selected = list(queryset.values_list("pk", flat=True))
        queued = notifications.retry_now(selected)
        left = len(selected) - queued
        text = f"{queued} queued for sending; the task worker sends them within seconds."
        if left:
            text += f" {left} left alone (already sent, or being sent right now)."
        self.message_user(request, text, messages.SUCCESS if queued else messages.WARNING)


@admin.register(ProductionOrder)
class ProductionOrderAdmin(admin.ModelAdmin):
    form = OrderAdminForm
    list_display = (
        "reference",
        "owner",
        "garment",
        "status",
        "production_status",
        "priority",
        "total_amount",
        "currency",
        "created_at",
    )
    list_filter = ("status", "production_status", "priority", "created_at")
    search_fields = ("reference", "owner__email", "owner__username")
    list_select_related = ("owner", "garment")
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [LineItemInline, EventInline, NoteInline, EmailInline]
    readonly_fields = (
        "reference",
        "owner",
        "status",
        "production_status",
        "priority",
        "garment",
        "design_url",
        "prompt",
        "notes",
        "subtotal_amount",
        "rush_surcharge_amount",
        "total_amount",
        "currency",
        "total_quantity",
        "stripe_checkout_session_id",
        "due_date",
        "created_at",
        "updated_at",
        "submitted_at",
    )
    fieldsets = (
        (None, {"fields": ("reference", "owner", "status", "production_status", "priority")}),
        (
            "Change (through the production service)",
            {
                "fields": ("move_to", "set_production_status", "set_priority", "change_note"),
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
                    "subtotal_amount",
                    "rush_surcharge_amount",
                    "total_amount",
                    "currency",
                    "stripe_checkout_session_id",
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from checkout

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The admin wraps this view in one transaction; the production services own theirs
        # (durable, row-locked, events on commit), and this admin writes nothing else.
        return self._changeform_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the audit trail must survive

    def save_model(self, request: HttpRequest, obj: ProductionOrder, form, change: bool) -> None:
        data = form.cleaned_data
        if not (data["move_to"] or data["set_production_status"] or data["set_priority"]):
            if data["change_note"]:
                services.add_customer_message(
                    order=obj,
                    author=request.user,
                    body=data["change_note"],
                    source=EventSource.ADMIN,
                )
            return
        try:
            services.update_order(
                order=obj,
                actor=request.user,
                source=EventSource.ADMIN,
                status=data["move_to"] or None,
                production_status=data["set_production_status"] or None,
                priority=data["set_priority"] or None,
                note=data["change_note"],
            )
        except OrderError as exc:
            messages.error(request, f"Not changed: {exc.message}")

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        # Line items and events are read-only; a new note goes through the service.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is not OrderNote:
            return
        for note_form in formset.forms:
            body = note_form.cleaned_data.get("body") if note_form.has_changed() else None
            if body:
                note = services.add_order_note(order=form.instance, author=request.user, body=body)
                formset.new_objects.append(note)
