"""Who may do what: the spec's `requireOperatorAccess`, in one place for every surface."""

from django.contrib.auth.models import AnonymousUser
from rest_framework.permissions import BasePermission

OPERATOR_PERMISSION = "production.operate_orders"
OPERATORS_GROUP = "Operators"


def is_operator(user: object) -> bool:
    return bool(getattr(user, "is_active", False) and user.has_perm(OPERATOR_PERMISSION))


def can_view_order(user: object, order: object) -> bool:
    if isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return False
    return order.owner_id == user.pk or is_operator(user)


class IsOperator(BasePermission):
    message = "Operator access required."

    def has_permission(self, request, view) -> bool:
        return is_operator(request.user)
