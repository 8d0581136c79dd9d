from django.contrib import admin
from django.contrib.auth.views import LoginView, PasswordResetView
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from ops.metrics import metrics_view
from payments.pages import new_order, order_price
from production.accounts.password_reset import QueuedPasswordResetForm
from production.accounts.signup import (
    EmailAuthenticationForm,
    SignUpView,
    activate,
    signup_sent,
)
from production.api.errors import unknown_api_path
from production.pages.site import favicon, home
from production.plumbing.db_retry import rerun_safe
from production.plumbing.health import healthz, readyz

handler400 = "production.api.errors.bad_request"
handler404 = "production.api.errors.not_found"
handler500 = "production.api.errors.server_error"

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus; not public (ops/metrics.py)
    path("accounts/signup/", SignUpView.as_view(), name="signup"),
    path("accounts/signup/sent/", signup_sent, name="signup-sent"),
    path("accounts/activate/<uidb64>/<token>/", activate, name="signup-activate"),
    # Before Django's own: the reset mail is queued, so every address answers alike.
    path(
        "accounts/password_reset/",
        PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path(
        "accounts/login/",
        # Signing in again gives the same session: a sign-in cut off after its first write re-runs.
        rerun_safe(LoginView.as_view(form_class=EmailAuthenticationForm)),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("api/", include("production.api.urls")),
    path("api/", include("payments.urls_api")),
    path("api/", include("artwork.urls_api")),
    # Nothing else under /api/ (a segment a converter refused included) answers the HTML 404.
    re_path(r"^api/(?P<path>(?s:.*))$", unknown_api_path),  # (?s): a newline in a segment too
    path("payments/", include("payments.urls")),
    path("shopify/", include("shopify.urls")),
    path("ops/", include("ops.urls")),
    path("artwork/", include("artwork.urls")),
    path("orders/new/", new_order, name="order-new"),  # the payments app's order form
    path("orders/new/price", order_price, name="order-price"),  # its live price (JSON)
    path("", include("production.urls")),
]
