"""One FilterSet for the API list and the ops dashboard list."""

import datetime as dt
import re

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from production.lifecycle import OrderState, Priority, ProductionStatus
from production.models import Garment, ProductionOrder
from production.sorting import DEFAULT_SORT, SORTS

# "ORD-000123", "ord-0001", "ORD-5", "ORD", "000123" or "123": a reference (or the start of one).
_REFERENCE = re.compile(
    r"^(?:(?P<prefix>ORD-?)(?P<prefixed>\d{0,12})|(?P<bare>\d{1,12}))$", re.IGNORECASE
)
MAX_SEARCH_TERMS = 4
MAX_CUSTOMER_IDS = 1000


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def search_condition(text: str) -> Q:
    """Orders matching every word of `text` by reference, customer or garment.

    A word that looks like a reference matches references starting with it, one starting with "#"
    the store orders' names (Shopify's "#1001") starting with it. Any other word matches
    customers whose email, first or last name starts with it (case-insensitive), or garments whose
    name contains it. Both are index range scans on PostgreSQL (migration 0003).

    Matching customers and garments are looked up first (two small indexed queries per word), so
    the order query gets plain id lists the planner can estimate, instead of OR-ed subqueries that
    it can only apply as a filter while walking every order.
    """
    terms = text.split()[:MAX_SEARCH_TERMS]
    if not terms:
        return Q()
    # "Ada Lovelace": when no word is a reference or names a garment, the orders are those of
    # the customers matching every word, one short id list instead of one per word.
    if (
        len(terms) > 1
        and not any(_REFERENCE.match(t) for t in terms)
        and not Garment.objects.filter(_any_garment(terms)).exists()
    ):
        return _customer_condition(_customers(terms))
    condition = Q()
    for term in terms:
        condition &= _term_condition(term)
    return condition


def _any_garment(terms: list[str]) -> Q:
    condition = Q()
    for term in terms:
        condition |= Q(name__icontains=term)
    return condition


def _customers(terms: list[str]) -> QuerySet:
    customers = get_user_model().objects.all()
    for term in terms:
        customers = customers.filter(
            Q(email__istartswith=term)
            | Q(first_name__istartswith=term)
            | Q(last_name__istartswith=term)
        )
    return customers


def _customer_condition(customers: QuerySet) -> Q:
    customer_ids = list(customers.values_list("pk", flat=True)[: MAX_CUSTOMER_IDS + 1])
    if len(customer_ids) > MAX_CUSTOMER_IDS:
        # So common a word matches a large share of all orders: a filter while walking the
        # list's index finds a page of them quickly, and no huge id list is sent.
        return Q(owner__in=customers.values("pk"))
    return Q(owner_id__in=customer_ids)


def _term_condition(term: str) -> Q:
    if term.startswith("#"):
        # A store order's name ("#1001"): its orders here. No index yet: store orders are few,
        # and the list's own index is walked until a page of them is found.
        return Q(external_reference__startswith=term)
    reference = _REFERENCE.match(term)
    if reference:
        digits = reference["prefixed"] if reference["prefix"] else reference["bare"]
        by_prefix = Q(reference__startswith=f"ORD-{digits}")
        if not digits or len(digits) >= 6:
            return by_prefix
        # A short number ("5", "ORD-5", "ORD-0005") is most likely the order's number without
        # its full zero padding: also the one exact reference (an index lookup, like the prefix).
        return by_prefix | Q(reference=f"ORD-{int(digits):06d}")
    by_customer = _customer_condition(_customers([term]))
    garment_ids = list(Garment.objects.filter(name__icontains=term).values_list("pk", flat=True))
    return by_customer | Q(garment_id__in=garment_ids)


class OrderFilter(django_filters.FilterSet):
    # distinct=False: these are columns of the order itself, so no row can repeat, and a
    # SELECT DISTINCT would stop PostgreSQL from reading the first rows straight off an index.
    status = django_filters.MultipleChoiceFilter(choices=OrderState.choices, distinct=False)
    productionStatus = django_filters.MultipleChoiceFilter(
        field_name="production_status", choices=ProductionStatus.choices, distinct=False
    )
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    proofWaiting = django_filters.BooleanFilter(
        field_name="waiting_proof_revision",
        lookup_expr="isnull",
        exclude=True,
        label="Awaiting the customer's answer to a proof",
    )
    createdFrom = django_filters.DateFilter(method="created_from", label="Created from")
    createdTo = django_filters.DateFilter(method="created_to", label="Created to (inclusive)")
    q = django_filters.CharFilter(method="search", label="Search", max_length=200)
    sort = django_filters.ChoiceFilter(
        method="sort_by",
        label="Sort",
        choices=[(key, sort.label) for key, sort in SORTS.items()],
        empty_label=None,
    )

    class Meta:
        model = ProductionOrder
        fields: list[str] = []

    def get_form_class(self) -> type[forms.Form]:
        """The filters' form class, built once per FilterSet class: django-filter builds it and
        its fields anew for every request (~0.2 ms of the ops list's), though they hang on the
        filters' declarations alone (no request, no queryset choices). Each form still gets
        copies of the fields, as any Django form does."""
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    # Whole local days as datetime ranges, so the created_at index is used (no per-row date cast).
    def created_from(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(created_at__gte=_start_of(value))

    def created_to(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(created_at__lt=_start_of(value + dt.timedelta(days=1)))

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value.strip():
            return queryset
        return queryset.filter(search_condition(value))

    def sort_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return order_by_sort(queryset, value)

    @property
    def sort_key(self) -> str:
        """The sort the list is in (valid filtersets only)."""
        return self.form.cleaned_data.get("sort") or DEFAULT_SORT


def order_by_sort(queryset: QuerySet, key: str) -> QuerySet:
    """Annotate the sort's keys on each row and order by them (the keyset paginator reads them)."""
    sort = SORTS[key]
    missing = {k.name: k.expression for k in sort.keys if k.name not in queryset.query.annotations}
    queryset = queryset.annotate(**missing)
    prefix = "-" if sort.descending else ""
    return queryset.order_by(*(prefix + k.name for k in sort.keys))
