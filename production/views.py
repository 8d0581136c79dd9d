"""Site pages of the production app: home, health check, sign-up and log-in."""

from django import forms
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET
from django.views.generic import CreateView

from production.health import REQUIRED, dependency_checks
from production.models import Garment


def home(request: HttpRequest) -> HttpResponse:
    garments = Garment.objects.filter(is_active=True).order_by("name")
    return render(request, "home.html", {"garments": garments})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's, the API docs')."""
    return redirect(static("favicon.svg"))  # temporary: the hashed name changes per deploy


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no dependency (see `readyz` for those)."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness for the load balancer: 503 naming the dependency this process cannot serve
    without (the database). Redis only accelerates (cache, sessions' copy, throttles, live
    updates): without it the answer is 200 "degraded", so a Redis outage never takes every
    process out of the balancer at once; monitoring alerts on "degraded"."""
    checks = dependency_checks()
    down = sorted(name for name, state in checks.items() if state != "ok")
    required_down = [name for name in down if name in REQUIRED]
    body = {
        "status": "unavailable" if required_down else "degraded" if down else "ok",
        "checks": checks,
        "down": down,
    }
    return JsonResponse(body, status=503 if required_down else 200)


class EmailAuthenticationForm(AuthenticationForm):
    """Django's log-in form, worded for the email address the accounts are known by.

    The stock error names the user model's "username" field, which the page labels Email.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter a correct email and password. The password is case-sensitive."
        ),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"


class SignUpForm(UserCreationForm):
    email = forms.EmailField(
        required=True, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        User = get_user_model()
        if User.objects.filter(username__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.username = user.email
        if commit:
            user.save()
        return user


class SignUpView(CreateView):
    form_class = SignUpForm
    template_name = "registration/signup.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: SignUpForm) -> HttpResponse:
        response = super().form_valid(form)
        login(self.request, self.object, backend="django.contrib.auth.backends.ModelBackend")
        return response
