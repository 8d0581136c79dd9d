"""Who may do what: the spec's `requireOperatorAccess`, in one place for every surface."""

from django.contrib.auth.models import AnonymousUser, Group, Permission
from rest_framework.permissions import BasePermission

OPERATOR_PERMISSION = "production.operate_orders"
OPERATORS_GROUP = "Operators"


def is_operator(user: object) -> bool:
    """Whether `user` holds the operator permission: through the Operators group, granted
    directly, as a superuser, or from any other configured authentication backend.

    Django's `has_perm`: two queries the first time, then remembered on the user object by the
    backend for the rest of the request (~1.3 ms on PostgreSQL here, against ~0.3 ms for the
    hand-written EXISTS it replaced; simpler, and right for any user model and backend).
    """
    return bool(getattr(user, "is_active", False)) and user.has_perm(OPERATOR_PERMISSION)


def can_view_order(user: object, order: object) -> bool:
    if isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return False
    return order.owner_id == user.pk or is_operator(user)


class IsOperator(BasePermission):
    message = "Operator access required."

    def has_permission(self, request, view) -> bool:
        return is_operator(request.user)


def operators_group() -> Group:
    """The Operators group with its permission (made by a migration; recreated if missing)."""
    group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
    permission = Permission.objects.get(
        codename=OPERATOR_PERMISSION.split(".")[1], content_type__app_label="production"
    )
    group.permissions.add(permission)
    return group
