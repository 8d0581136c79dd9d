import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.cache import cache
from django.db import transaction

from production import signals
from production.accounts.access import is_operator, operators_group
from tests.concurrency import run_at_once
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


def fresh(user):
    """The user as the next request loads them."""
    return get_user_model().objects.get(pk=user.pk)


def test_asked_once_then_taken_from_the_cache_on_later_requests(django_assert_num_queries):
    user = operator_user()
    with django_assert_num_queries(2):  # the user's own permissions, then their groups'
        assert is_operator(user) and is_operator(user)
    next_request = fresh(user)
    with django_assert_num_queries(0):
        assert is_operator(next_request)


def test_leaving_the_operators_group_takes_effect_on_the_next_request():
    user = operator_user()
    assert is_operator(fresh(user))
    user.groups.remove(operators_group())
    assert not is_operator(fresh(user))


def test_joining_the_operators_group_takes_effect_on_the_next_request():
    user = UserFactory()
    assert not is_operator(fresh(user))
    user.groups.add(operators_group())
    assert is_operator(fresh(user))


@pytest.mark.parametrize(
    "take_access",
    [
        lambda user: operators_group().permissions.clear(),
        lambda user: operators_group().delete(),
        lambda user: Permission.objects.get(codename="operate_orders").delete(),
        lambda user: user.groups.clear(),
        lambda user: fresh(user).groups.set([]),
    ],
    ids=[
        "group loses the permission",
        "group deleted",
        "permission deleted",
        "groups cleared",
        "groups set",
    ],
)
def test_every_way_of_taking_access_takes_effect_on_the_next_request(take_access):
    user = operator_user()
    assert is_operator(fresh(user))
    take_access(user)
    assert not is_operator(fresh(user))


def test_a_direct_grant_taken_back_and_a_superuser_flag_take_effect_at_once():
    user = UserFactory()
    permission = Permission.objects.get(codename="operate_orders")
    user.user_permissions.add(permission)
    assert is_operator(fresh(user))
    permission.user_set.remove(user)  # from the permission's side
    assert not is_operator(fresh(user))
    user.is_superuser = True
    user.save()
    assert is_operator(fresh(user))


def test_a_deactivated_operator_is_refused_without_asking(django_assert_num_queries):
    user = operator_user()
    assert is_operator(fresh(user))
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # no signal at all
    with django_assert_num_queries(1):  # loading the user, as every request does
        assert not is_operator(fresh(user))


@pytest.mark.django_db(transaction=True)
def test_an_answer_read_while_access_is_being_taken_is_not_served_after_the_commit(monkeypatch):
    """Another request asks between the change's first generation and its commit: it sees the
    old rows and stores "operator" under that generation; after the commit nobody reads it."""
    from production.accounts import access

    user, group = operator_user(), operators_group()
    assert is_operator(fresh(user))
    seen_by_the_racing_request: list[bool] = []
    forget = access.forget_access

    def forget_then_ask_on_another_connection() -> None:
        forget()
        answers, errors = run_at_once([lambda: is_operator(fresh(user))])
        assert not errors
        seen_by_the_racing_request.extend(answers)

    monkeypatch.setattr(signals, "forget_access", forget_then_ask_on_another_connection)
    with transaction.atomic():
        user.groups.remove(group)

    assert seen_by_the_racing_request == [True]  # the race happened, on the old rows
    assert not is_operator(fresh(user))


def test_redis_unreachable_asks_the_database_every_time(monkeypatch, django_assert_num_queries):
    user = operator_user()
    assert is_operator(fresh(user))
    monkeypatch.setattr(cache, "get_many", lambda keys: {})  # what IGNORE_EXCEPTIONS answers
    monkeypatch.setattr(cache, "get", lambda key, default=None: default)
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: False)
    with django_assert_num_queries(3):  # the user, then has_perm's two
        assert is_operator(fresh(user))


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
