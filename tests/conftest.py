import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import GarmentFactory, UserFactory, operator_user, token_for


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 costs ~0.3 s a user; the tests are not about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    # Tests run with DEBUG off, where the webhook has no built-in secret (it fails closed).
    settings.STRIPE_WEBHOOK_SECRET = "whsec_tests_only"


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # Production uses whitenoise's manifest, which exists only after collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _running_check_holds_no_checkout(settings):
    # No task worker runs in tests: a check still running would hold every new order's checkout
    # (its answer the order page). Artwork tests run the worker (tests/task_queue.py) or set a
    # hold (PREFLIGHT_PENDING_HOLD) to see it.
    settings.PREFLIGHT_PENDING_HOLD = 0


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Uploaded proofs go to a per-test directory, never the project's media/.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache (Redis in CI): each test starts from zero. This
    # process's order copies need no clearing: they hang on versions the cache no longer has.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def task_worker(db, monkeypatch):
    """Call it to run the queued tasks that are due, as `manage.py db_worker` would; it returns
    what they returned."""
    from production import notifications
    from tests.task_queue import run_worker

    # A mail-server outage one test's worker noticed is not the next test's.
    monkeypatch.setattr(notifications, "server_down_until", None)
    return lambda: run_worker(monkeypatch)


@pytest.fixture
def garment(db):
    return GarmentFactory(shopify_gid="gid://shopify/Product/123456", name="Classic Tee")


@pytest.fixture
def customer(db):
    return UserFactory(email="customer@example.com")


@pytest.fixture
def other_customer(db):
    return UserFactory(email="other@example.com")


@pytest.fixture
def operator(db):
    return operator_user(email="operator@example.com")


@pytest.fixture
def staff_client(client, django_user_model):
    """Support staff in the admin (a superuser): `client.user` is who."""
    user = django_user_model.objects.create_superuser(
        "support@example.com", "support@example.com", "pw"
    )
    client.force_login(user)
    client.user = user
    return client


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def customer_api(customer):
    return _token_client(customer)


@pytest.fixture
def other_api(other_customer):
    return _token_client(other_customer)


@pytest.fixture
def operator_api(operator):
    return _token_client(operator)


@pytest.fixture
def anon_api():
    return APIClient()


@pytest.fixture
def channel_layers(settings):
    """A channel layer of this test's own: in-memory, or Redis under a unique prefix."""
    from tests.realtime_support import drop_redis_keys, layer_settings, unique_prefix

    prefix = unique_prefix()
    settings.CHANNEL_LAYERS = layer_settings(prefix)
    yield prefix
    drop_redis_keys(prefix)


@pytest.fixture
def layer_sends(channel_layers, monkeypatch) -> list[tuple[str, dict]]:
    """What the code under test sends to channel-layer groups, (group, message), recorded
    instead of sent."""
    from channels.layers import get_channel_layer

    sent: list[tuple[str, dict]] = []

    async def record(group: str, message: dict) -> None:
        sent.append((group, message))

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    return sent
