"""Settings for the print production service: one module, every knob from the environment.

Secrets have no production defaults: with DEBUG off, SECRET_KEY must be set. The embedded default
(SQLite, in-memory channel layer, local checkout simulator) needs nothing but DEBUG=true.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (written by `make run`) fills in what the process environment does not set.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (it has no default when DEBUG is off).")
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "production",
    "artwork",
    "payments",
    "shopify",
    "ops",
]

MIDDLEWARE = [
    # First: the request id (X-Request-ID, in every log line) and the request's metrics.
    "production.plumbing.request_context.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # An oversized body is refused before anything reads it (or the session, or the database).
    "production.plumbing.request_limits.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "production.plumbing.db_retry.RetryOnLostConnection",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the user's row from the cache (production/accounts/access.py)
    "production.accounts.access.SessionUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "production.pages.context_processors.roles",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# gunicorn (sync workers): keep connections with CONN_MAX_AGE. daphne (ASGI): Django's docs advise
# against persistent connections there; use psycopg's pool instead (DATABASE_POOL=true).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.bool("DATABASE_POOL", default=False) and DATABASES["default"]["ENGINE"].endswith(
    "postgresql"
):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=20),
        "timeout": 10,
        # CONN_HEALTH_CHECKS (on) makes Django pass the pool a check: a connection the server
        # closed meanwhile is replaced before a request gets it.
    }
# Behind a pooler in transaction mode (PgBouncer's `pool_mode = transaction`) consecutive
# transactions of one Django connection may run on different server connections, so nothing may
# outlive a transaction on the server: no server-side cursors (`.iterator()` declares WITH HOLD
# cursors outside a transaction) and no prepared statements (psycopg prepares a query it ran 5
# times; PgBouncer before 1.21 cannot route them). docs/decisions/0070.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in {"", "transaction"}:
    raise ImproperlyConfigured(
        f"DATABASE_POOLER={DATABASE_POOLER!r}: leave it empty (a direct connection, or a pooler "
        "in session mode) or set 'transaction' (PgBouncer's pool_mode = transaction)."
    )
if DATABASE_POOLER == "transaction" and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, which also checks a COMMIT whose answer a cut connection lost and reads
    # again a read it cut, so `production.plumbing.db_retry` never re-runs a view that committed.
    DATABASES["default"]["ENGINE"] = "production.plumbing.postgres"
    # Parameters sent apart from the statement (psycopg's server-side binding, no prepared
    # statements: fine behind PgBouncer's transaction pooling) instead of quoted into it in
    # Python: a seventh of a webhook delivery's CPU was that quoting (bench/README.md).
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the live page read while the webhook writes. Writers queue for up to `timeout`
    # seconds: a transaction takes the write lock when it begins (IMMEDIATE), since SQLite refuses
    # at once ("database is locked") a transaction that read first and then wants to write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")


def _next_database(url: str) -> str:
    """The same Redis server, the next database index (db 0 → 1): the channel layer's own."""
    parts = urlsplit(url)
    index = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(index + 1) % 16}"))


# The cache and the channel layer live in separate Redis databases (docs/decisions/), so that
# clearing the cache (FLUSHDB) never empties the live pages' groups.
CHANNELS_REDIS_URL = env.str("CHANNELS_REDIS_URL", default="") or (
    _next_database(REDIS_URL) if REDIS_URL else ""
)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis, Redis pool sized for a process's sockets (docs/decisions/0039).
            "BACKEND": "production.realtime.channel_layer.PooledRedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": CHANNELS_REDIS_URL,
                        "max_connections": env.int("CHANNELS_REDIS_POOL_SIZE", default=2000),
                    }
                ],
                "prefix": env.str("CHANNELS_PREFIX", default="asgi"),
                "capacity": 1500,
            },
        }
    }
    # Redis accelerates, PostgreSQL decides (docs/decisions/0031): with Redis down
    # every cache read misses and every write is skipped, so sessions, tokens and order reads come
    # from the database (slower, never a 500). django-redis shares one pool per process.
    CACHES = {
        "default": {
            # django-redis, its hits and misses counted (production.plumbing.cache)
            "BACKEND": "production.plumbing.cache.CountingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_PREFIX", default="printshop"),
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("REDIS_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "production.plumbing.cache.CountingLocMemCache"}}
# An error the Redis cache ignores is logged (logger "django_redis.cache", now and then: LOGGING
# below). django-redis reads these two as settings, not as CACHES options.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "django_redis.cache"

# Live sockets one user may hold open in one daphne process; the next is closed with 4429.
WS_MAX_SOCKETS_PER_USER = env.int("WS_MAX_SOCKETS_PER_USER", default=20)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: Django's password_changed() hook, where a new password revokes the API token.
    {"NAME": "production.accounts.api_tokens.RevokeTokensOnPasswordChange"},
]
# Sessions are read from the cache (Redis in production) and written through to the database
# (Django's cached_db, saved again on a new connection when the database connection is cut).
SESSION_ENGINE = "production.plumbing.sessions"
# Messages ride in the session: cheaper per request than signing a cookie on every API call.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
LOGIN_URL = "login"
# Login throttling (django-axes, docs/decisions/0046): LOGIN_FAILURE_LIMIT failed logins per account
# (the email, lower-cased) or per client address lock that account or address out for
# LOGIN_LOCKOUT_MINUTES; the lockout page is the same for known and unknown accounts. Failures
# are counted in the database, so the throttle holds while Redis is down.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "production.accounts.login_throttle.attempted_username"
AXES_LOCKOUT_CALLABLE = "production.accounts.login_throttle.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a login to one's own account must not clear an address's count
# Attempts while locked out are refused without being recorded: the lockout ends on time, and an
# attacker hammering a locked account does not grow its row.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies that append to
# X-Forwarded-For stand in front (then the address that many entries from the right).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "production.accounts.login_throttle.client_address"
# Sign-up attempts per client address and per email address in a window (production/accounts/
# signup.py): "10/hour", "5/min"; beyond it the form answers 429 for a while.
SIGNUP_RATE = env.str("SIGNUP_RATE", default="10/hour")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (artwork proofs) go through Django's default storage: this directory for `make
# run`, any storage backend in production (STORAGES["default"]). Proofs are never served from
# MEDIA_URL: a view checks who asks and sets a safe Content-Type (production/proof_files.py).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
PROOF_MAX_BYTES = env.int("PROOF_MAX_BYTES", default=10 * 1024 * 1024)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security: production defaults on, switched off only by the environment (e.g. behind plain HTTP).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Request bodies: at most this many bytes, multipart or not, on every view that declares no
# larger limit (the proof uploads: PROOF_MAX_BYTES and the envelope); 413 beyond, before the body
# is read (production.plumbing.request_limits).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)

# Content-Security-Policy (django-csp): scripts and styles from this site only, no inline code
# (a nonce where a page cannot avoid it); images may come from the customers' design URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF, "data:"],
        # Same origin covers the live sockets (ws:/wss: to this host, CSP level 3).
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        # Forms post here; the order form and "pay" then redirect to Stripe Checkout.
        "form-action": [SELF, "https://checkout.stripe.com"],
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="orders@printshop.localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # per SMTP operation, in the task worker
# First retry of a customer mail the mail server did not take; doubled on each further attempt.
EMAIL_RETRY_DELAY = env.int("EMAIL_RETRY_DELAY", default=60)

# Task queue (Django's Tasks API, django-tasks backport): tasks are rows in the app's own database,
# written in the transaction that enqueues them; `manage.py db_worker` runs them (decisions/0041).
# django_tasks_db's backend, each task keeping the request id of the request that enqueued it
# (production.plumbing.tasks).
TASKS = {
    "default": {
        "BACKEND": "production.plumbing.tasks.DatabaseBackend",
        # artwork: the artwork checks (artwork/tasks.py), a queue of their own
        "QUEUES": ["default", "artwork"],
    }
}
# A task RUNNING this long under a worker not seen for as long lost its worker:
# `requeue_stale_tasks` (cron, and `task_worker` at start) runs it again or fails it
# (ops.task_recovery).
TASK_STALE_AFTER_SECONDS = env.int("TASK_STALE_AFTER_SECONDS", default=120)

# Payments. No STRIPE_SECRET_KEY: the local checkout simulator (DEBUG only) stands in for Stripe.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# The local checkout simulator without DEBUG: `make run` serves the demo with DEBUG off (the shop's
# own error pages) and this on. Never in production: `check --deploy` fails with it
# (payments.E003), and a Stripe key switches the simulator off whatever this says.
CHECKOUT_SIMULATOR = env.bool("CHECKOUT_SIMULATOR", default=False)
if not STRIPE_WEBHOOK_SECRET:
    if STRIPE_SECRET_KEY:
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is set: set STRIPE_WEBHOOK_SECRET too.")
    if DEBUG or CHECKOUT_SIMULATOR:
        # The simulator signs with it; anyone can read it here, so it never serves otherwise:
        # then the webhook refuses every event until a secret is set (payments.checks says so).
        STRIPE_WEBHOOK_SECRET = "whsec_local_checkout_simulator"
# How the order domain starts a checkout for a new draft (production.services.orders.place_order):
# the
# payments app builds on the order domain, never the other way round.
ORDER_CHECKOUT = "payments.services.start_checkout"
# What the artwork check calls when it stores a fail: a draft's open checkout is expired (0069).
ORDER_CHECKOUT_CLOSE = "payments.services.close_checkout_for_artwork"
# How the order domain asks for a refund when an operator cancels an order (whatever was paid goes
# back), called in the cancel's transaction; the payments app asks Stripe after commit.
ORDER_REFUND = "payments.refunds.refund_canceled_order"
# Extra read-only inlines of the order's admin page, from apps the order domain does not import.
ORDER_ADMIN_INLINES = [
    "payments.admin.PaymentInline",
    "payments.admin.RefundInline",
    "shopify.admin.FulfilmentPushInline",
]
# Called in the transaction of every shipment recorded or corrected (services/shipping.py): the
# store app queues the fulfilment of a store order's parcel, or its new tracking (decision 0062).
ORDER_SHIPPED = ["shopify.services.shipment_recorded"]

# The Shopify store (shopify/): its catalogue, its paid orders, fulfilments back. No store domain:
# with DEBUG, a local simulator stands in for the store's Admin API (shopify.simulator).
SHOPIFY_STORE_DOMAIN = env.str("SHOPIFY_STORE_DOMAIN", default="")  # my-shop.myshopify.com
SHOPIFY_ADMIN_TOKEN = env.str("SHOPIFY_ADMIN_TOKEN", default="")  # the app's Admin API token
SHOPIFY_API_SECRET = env.str("SHOPIFY_API_SECRET", default="")  # signs the webhooks (HMAC)
# The local store simulator without DEBUG (`make run`); never in production (shopify.E004).
SHOPIFY_SIMULATOR = env.bool("SHOPIFY_SIMULATOR", default=False)
if not SHOPIFY_API_SECRET and (DEBUG or SHOPIFY_SIMULATOR) and not SHOPIFY_STORE_DOMAIN:
    SHOPIFY_API_SECRET = "shpss_local_store_simulator"  # the simulator's: anyone can read it
SHOPIFY_API_VERSION = env.str("SHOPIFY_API_VERSION", default="2025-07")
SHOPIFY_API_BASE = env.str("SHOPIFY_API_BASE", default="")  # another Admin API address (tests)
SHOPIFY_API_TIMEOUT = env.float("SHOPIFY_API_TIMEOUT", default=10.0)
# Line-item properties that carry the design of each placement (placement code=property name).
SHOPIFY_DESIGN_PROPERTIES = env.dict(
    "SHOPIFY_DESIGN_PROPERTIES",
    default={
        "front": "Design",
        "back": "Back design",
        "left_sleeve": "Left sleeve design",
        "right_sleeve": "Right sleeve design",
        "neck_label": "Neck label design",
        "pocket": "Pocket design",
    },
)
# A product's placements: its metafield (namespace.key, a JSON list of {code, width_in, height_in,
# unit_amount}), else this mapping: code=WIDTHxHEIGHT[+minor units], e.g. front=12x16,back=12x16+500
SHOPIFY_PLACEMENTS_METAFIELD = env.str(
    "SHOPIFY_PLACEMENTS_METAFIELD", default="printshop.placements"
)
SHOPIFY_PLACEMENTS = env.list("SHOPIFY_PLACEMENTS", default=["front=12x16", "back=12x16+500"])
# The account that owns the production orders of store orders (created when first needed).
SHOPIFY_ORDER_OWNER = env.str("SHOPIFY_ORDER_OWNER", default="store@printshop.localhost")
SHOPIFY_FULFILMENT_ATTEMPTS = env.int("SHOPIFY_FULFILMENT_ATTEMPTS", default=5)
SHOPIFY_RETRY_DELAY = env.int("SHOPIFY_RETRY_DELAY", default=30)  # seconds, doubled per attempt
# The shop staff's address: failed refunds are mailed there (empty: logged at ERROR only).
SHOP_STAFF_EMAIL = env.str("SHOP_STAFF_EMAIL", default="")
# A refund still pending this long (no webhook came) is asked about by reconcile_payments.
REFUND_SETTLE_AFTER_MINUTES = env.int("REFUND_SETTLE_AFTER_MINUTES", default=30)
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")  # tests point the SDK at a fake server
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
# The shop's Stripe account (acct_…): an event naming another `account` is recorded and ignored.
# Empty: not checked. Events must also match the mode of STRIPE_SECRET_KEY (payments.services).
STRIPE_ACCOUNT_ID = env.str("STRIPE_ACCOUNT_ID", default="")
SITE_URL = env.str("SITE_URL", default="")  # absolute base for Stripe's redirect URLs

ORDER_CREATE_RATE = env.str("ORDER_CREATE_RATE", default="30/min")

# How money is written on pages, in mails, PDFs and the admin (production/pricing.py
# format_money, Babel's CLDR data): en_US "$18.00", de_DE "18,00 €", ja_JP "￥1,800".
MONEY_LOCALE = env.str("MONEY_LOCALE", default="en_US")

# Local pickup: where and when customers collect their orders, as the "ready for pickup" e-mail and
# their order page say it. No address: the shop offers no pickup (the ops page says why).
PICKUP_ADDRESS = env.str("PICKUP_ADDRESS", default="")
PICKUP_HOURS = env.str("PICKUP_HOURS", default="")

# Shipping (production/pricing.py, production/addresses.py): the countries shipped to (ISO 3166-1
# alpha-2), the price of shipping an order in minor units of the garment's currency, per country
# ("US=500,CA=1500") or flat (SHIPPING_RATE, for countries SHIPPING_RATES does not name).
SHIPPING_COUNTRIES = [
    code.strip().upper()
    for code in env.list("SHIPPING_COUNTRIES", default=["US", "CA", "GB", "DE", "FR", "NL", "AU"])
    if code.strip()
]
SHIPPING_RATES = {
    code.strip().upper(): int(amount)
    for code, amount in env.dict("SHIPPING_RATES", default={}).items()
}
SHIPPING_RATE = env.int("SHIPPING_RATE", default=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call then gets 401 with a WWW-Authenticate header.
        "production.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["production.api.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["production.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "production.api.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "production.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"order-create": ORDER_CREATE_RATE},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Print production API",
    "DESCRIPTION": "Orders, status updates and fulfillment tracking for the print shop.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set: requests take lower-case priorities, responses give labels.
    "ENUM_NAME_OVERRIDES": {
        "OrderStateEnum": "production.lifecycle.ORDER_STATES",
        "ProductionStatusEnum": "production.lifecycle.PRODUCTION_STATUSES",
        "PriorityEnum": "production.lifecycle.PRIORITIES",
        "PriorityLabelEnum": "production.lifecycle.PRIORITY_LABELS",
        "ProofStateEnum": "production.models.PROOF_STATES",
        "ProofViaEnum": "production.models.PROOF_VIAS",
        "PlacementCodeEnum": "production.models.PLACEMENT_CODES",
        "DeliveryEnum": "production.lifecycle.DELIVERIES",
        "DeliveryChoiceEnum": "production.lifecycle.DELIVERY_CHOICES",
        # The artwork check's words (docs/decisions/0061): one check, one design, the order.
        "PreflightResultEnum": ["pass", "warning", "fail"],
        "DesignVerdictEnum": ["pending", "pass", "warning", "fail"],
        "OrderVerdictEnum": ["unchecked", "pending", "pass", "warning", "fail"],
    },
}

# Observability (docs/decisions/0064). Every log line carries the request id (`request_id`, "-"
# outside requests and tasks): one JSON object per line in production (LOG_FORMAT=json, the
# default with DEBUG off), plain text with DEBUG (`make run`).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT is 'plain' or 'json'.")
# X-Request-ID is taken from the request only when the proxy in front sets it (overwriting what
# the client sent: nginx `proxy_set_header X-Request-ID $request_id;`); otherwise it is made here.
REQUEST_ID_FROM_PROXY = env.bool("REQUEST_ID_FROM_PROXY", default=False)
# Prometheus metrics (production.plumbing.metrics, served at /metrics by ops.metrics). /metrics
# answers only a bearer METRICS_TOKEN or a client address in METRICS_ALLOWED_IPS (addresses or
# networks, read as TRUSTED_PROXY_COUNT says); neither set: 404 to everyone.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# Errors to Sentry (sentry-sdk's Django integration) when set; no personal data is sent.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from production.plumbing.error_reports import init_sentry

    init_sentry(SENTRY_DSN, SENTRY_ENVIRONMENT, SENTRY_TRACES_SAMPLE_RATE)
# OpenTelemetry traces (Django, psycopg, Redis, the task worker) to an OTLP collector: needs the
# `otel` extra; off by default and then nothing of it is imported (production.plumbing.tracing).
OTEL_ENABLED = env.bool("OTEL_ENABLED", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
        "console_now_and_then": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["now_and_then"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "filters": {"now_and_then": {"()": "config.log_filters.NowAndThen", "seconds": 30}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # Every cache call fails while Redis is down: one line with its traceback every 30 s.
        "django_redis": {"handlers": ["console_now_and_then"], "propagate": False},
    },
}

# Ops dashboard: the most orders one "apply to all matching" may change (each goes through the
# services on its own), and where the per-state tab counts stop counting ("1,000+").
OPS_BULK_LIMIT = env.int("OPS_BULK_LIMIT", default=1000)
OPS_COUNT_CAP = env.int("OPS_COUNT_CAP", default=1000)
# Cards per production-board column (and as many held ones), most urgent first; counts stay whole.
OPS_BOARD_COLUMN_LIMIT = env.int("OPS_BOARD_COLUMN_LIMIT", default=30)

# Job tickets (ops/tickets.py): the most orders one PDF may hold; up to TICKET_DIRECT_LIMIT the
# PDF is the response itself, above it the task queue builds it (progress page, then download).
TICKET_BATCH_LIMIT = env.int("TICKET_BATCH_LIMIT", default=500)
TICKET_DIRECT_LIMIT = env.int("TICKET_DIRECT_LIMIT", default=20)
TICKET_PAGE_SIZE = env.str("TICKET_PAGE_SIZE", default="A4")  # A4 or LETTER
TICKET_BATCH_KEEP_HOURS = env.int("TICKET_BATCH_KEEP_HOURS", default=24)
# The tickets' typeface: a Unicode TrueType font (regular and bold), so names in any script the
# font covers print as written; DejaVu Sans where the system has it (Debian's fonts-dejavu-core,
# Fedora's dejavu-sans-fonts, Arch's ttf-dejavu). Empty: the PDF base fonts (Latin-1 only).
_DEJAVU = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/share/fonts/TTF",
)


def _system_font(name: str) -> str:
    return next((f"{d}/{name}" for d in _DEJAVU if Path(d, name).is_file()), "")


TICKET_FONT = env.str("TICKET_FONT", default=_system_font("DejaVuSans.ttf"))
TICKET_FONT_BOLD = env.str("TICKET_FONT_BOLD", default=_system_font("DejaVuSans-Bold.ttf"))
# Design thumbnails on tickets are fetched from the customer's design URL with these bounds
# (ops/design_images.py): seconds for the whole fetch, bytes read at most, pixels decoded at most.
TICKET_DESIGN_TIMEOUT = env.float("TICKET_DESIGN_TIMEOUT", default=3.0)
TICKET_DESIGN_MAX_BYTES = env.int("TICKET_DESIGN_MAX_BYTES", default=5 * 1024 * 1024)
TICKET_DESIGN_MAX_PIXELS = env.int("TICKET_DESIGN_MAX_PIXELS", default=40_000_000)

# Artwork preflight (artwork/preflight.py, docs/decisions/0061): effective resolution at the
# placement's print size (warning under PREFLIGHT_DPI_WARN, fail under PREFLIGHT_DPI_FAIL), the
# share of semi-transparent visible pixels that warns, and the budgets a design must fit in:
# bytes fetched, seconds for the fetch, pixels, memory of the decoded image (MB), seconds for the
# whole check. How long a check still running holds a draft's payment, in seconds since it was
# queued (the rulebook's `artwork_refusal`; nothing waits for it: the order page shows progress).
PREFLIGHT_DPI_WARN = env.int("PREFLIGHT_DPI_WARN", default=150)
PREFLIGHT_DPI_FAIL = env.int("PREFLIGHT_DPI_FAIL", default=72)
PREFLIGHT_SEMI_TRANSPARENT_WARN = env.float("PREFLIGHT_SEMI_TRANSPARENT_WARN", default=0.05)
PREFLIGHT_MAX_BYTES = env.int("PREFLIGHT_MAX_BYTES", default=50 * 1024 * 1024)
PREFLIGHT_FETCH_TIMEOUT = env.float("PREFLIGHT_FETCH_TIMEOUT", default=10.0)
PREFLIGHT_MAX_PIXELS = env.int("PREFLIGHT_MAX_PIXELS", default=36_000_000)
PREFLIGHT_MAX_MEMORY_MB = env.int("PREFLIGHT_MAX_MEMORY_MB", default=250)
PREFLIGHT_SECONDS = env.float("PREFLIGHT_SECONDS", default=5.0)
PREFLIGHT_PENDING_HOLD = env.int("PREFLIGHT_PENDING_HOLD", default=30)
# Checks of a design without an order (POST /api/artwork/check) per user.
PREFLIGHT_CHECK_RATE = env.str("PREFLIGHT_CHECK_RATE", default="30/minute")
