import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from production.access import is_operator
from tests.factories import UserFactory, operator_user

pytestmark = pytest.mark.django_db


def test_operators_group_members_are_operators():
    assert is_operator(operator_user())


def test_a_directly_granted_permission_counts():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="operate_orders"))
    assert is_operator(user)


def test_superusers_are_operators():
    assert is_operator(UserFactory(is_superuser=True))


@pytest.mark.parametrize(
    "user",
    [lambda: UserFactory(), lambda: operator_user(is_active=False), lambda: AnonymousUser()],
    ids=["customer", "inactive operator", "anonymous"],
)
def test_others_are_not(user):
    assert not is_operator(user())


def test_asked_once_per_request_user(django_assert_num_queries):
    user = operator_user()
    with django_assert_num_queries(2):  # the user's own permissions, then their groups'
        assert is_operator(user) and is_operator(user)


def test_another_authentication_backend_is_heard(settings):
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "tests.production.test_access.ShopFloorBackend",
    ]
    assert is_operator(UserFactory(email="floor@example.com"))
    assert not is_operator(UserFactory(email="office@example.com"))


class ShopFloorBackend:
    """An SSO-style backend that grants the operator permission by its own rule."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, perm, obj=None) -> bool:
        return perm == "production.operate_orders" and user.email.startswith("floor@")
