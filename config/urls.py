from django.contrib import admin
from django.contrib.auth.views import PasswordResetView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from production import views as production_views
from production.password_reset import QueuedPasswordResetForm

handler404 = "production.api.errors.not_found"
handler500 = "production.api.errors.server_error"

urlpatterns = [
    path("", production_views.home, name="home"),
    path("healthz", production_views.healthz, name="healthz"),
    path("readyz", production_views.readyz, name="readyz"),
    path("accounts/signup/", production_views.SignUpView.as_view(), name="signup"),
    # Before Django's own: the reset mail is queued, so every address answers alike.
    path(
        "accounts/password_reset/",
        PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("production.api.urls")),
    path("api/", include("payments.urls_api")),
    path("payments/", include("payments.urls")),
    path("ops/", include("ops.urls")),
    path("", include("production.urls")),
]
