"""One FilterSet for the API list and the ops dashboard list."""

import datetime as dt

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from production.lifecycle import OrderState, Priority, ProductionStatus
from production.models import ProductionOrder


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderState.choices)
    productionStatus = django_filters.MultipleChoiceFilter(
        field_name="production_status", choices=ProductionStatus.choices
    )
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    createdFrom = django_filters.DateFilter(method="created_from", label="Created from")
    createdTo = django_filters.DateFilter(method="created_to", label="Created to (inclusive)")

    class Meta:
        model = ProductionOrder
        fields: list[str] = []

    # Whole local days as datetime ranges, so the created_at index is used (no per-row date cast).
    def created_from(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(created_at__gte=_start_of(value))

    def created_to(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(created_at__lt=_start_of(value + dt.timedelta(days=1)))
