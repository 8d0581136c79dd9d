"""Sign-up and log-in: the forms, worded for the email address accounts are known by.

Sign-up tells nobody whether an address has an account. Every valid sign-up gets the same answer
("we sent a link to <address>") and costs the request the same work (the password hashed, one
task queued); the task worker then mails the address: a link that opens the new account, or,
when the address already has one, a note to its owner ("someone tried to sign up with your
address: sign in or reset your password"). Sign-ups are throttled per client address and per
email address (SIGNUP_RATE), so the form is no cheap probe and no way to flood someone's inbox.

The link carries where the customer was going (`next`, e.g. the order form with the garment they
chose): opening it activates the account, logs them in, welcomes them and goes there.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import (
    url_has_allowed_host_and_scheme,
    urlsafe_base64_decode,
    urlsafe_base64_encode,
)
from django.views import View
from django_tasks import task

from production.accounts.login_throttle import client_address

logger = logging.getLogger(__name__)

WELCOME = "Welcome to the print shop: your account is ready."


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
    """The address and a password (Django's password rules). Whether the address has an account
    is not checked here: the answer must not tell (see the module)."""

    email = forms.EmailField(
        required=True, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def validate_unique(self) -> None:
        """No uniqueness error for the address: the worker decides, and mails the owner."""


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after sign-up: `candidate` if it is a path on this site, else home."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _rate() -> tuple[int, int]:
    """SIGNUP_RATE ("10/hour") as (attempts, seconds)."""
    count, _, period = settings.SIGNUP_RATE.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[(period or "h")[0]]
    return int(count), seconds


def over_limit(*keys: str) -> bool:
    """Count one sign-up attempt against each key (a fixed window of SIGNUP_RATE's period);
    whether any is now over the limit. A cache that fails (Redis down) counts nothing: sign-up
    stays open, as the order-creation rate does."""
    limit, seconds = _rate()
    over = False
    for key in keys:
        name = f"signup-attempts:{key}"
        try:
            cache.add(name, 0, timeout=seconds)
            count = cache.incr(name)
        except ValueError:  # expired between add and incr, or the cache is down
            continue
        over = over or (count is not None and count > limit)
    return over


class SignUpView(View):
    template_name = "registration/signup.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, SignUpForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SignUpForm(request.POST)
        address = client_address(request) or "unknown"
        email = str(request.POST.get("email", "")).strip().lower()[:254]
        if over_limit(f"ip:{address}", f"email:{email}"):
            response = render(
                request,
                "registration/signup_throttled.html",
                {"minutes": max(1, _rate()[1] // 60)},
                status=429,
            )
            response["Retry-After"] = str(_rate()[1])
            return response
        if not form.is_valid():
            return self._page(request, form, status=200)
        next_url = safe_next(request, request.POST.get("next"))
        send_signup_mail.enqueue(
            email=form.cleaned_data["email"],
            password=make_password(form.cleaned_data["password1"]),
            next_url=next_url,
        )
        request.session["signup_email"] = form.cleaned_data["email"]
        return HttpResponseRedirect(reverse("signup-sent"))

    def _page(self, request: HttpRequest, form: SignUpForm, status: int = 200) -> HttpResponse:
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        context = {"form": form, "next": safe_next(request, next_url) if next_url else ""}
        return render(request, self.template_name, context, status=status)


def signup_sent(request: HttpRequest) -> HttpResponse:
    """The one answer to every sign-up: check your mail."""
    email = request.session.get("signup_email", "")
    return render(request, "registration/signup_sent.html", {"email": email})


@task()
def send_signup_mail(*, email: str, password: str, next_url: str) -> str:
    """In the worker: a new address gets an (inactive) account and the link that opens it; an
    address with an account gets a note to its owner instead. Returns "welcome" or "owner"."""
    User = get_user_model()
    existing = User.objects.filter(username__iexact=email).first()
    if existing is not None and (existing.is_active or existing.last_login is not None):
        _mail(
            email,
            "Someone tried to sign up with your address",
            "registration/signup_existing_email.txt",
            {
                "login_url": absolute(reverse("login")),
                "reset_url": absolute(reverse("password_reset")),
            },
        )
        return "owner"
    if existing is None:
        try:
            with transaction.atomic():
                existing = User.objects.create(
                    username=email, email=email, password=password, is_active=False
                )
        except IntegrityError:  # a sign-up for the same address at the same moment
            existing = User.objects.get(username__iexact=email)
    else:  # never opened: the latest sign-up's password counts, and a fresh link goes out
        existing.password = password
        existing.save(update_fields=["password"])
    _mail(
        email,
        "Open your print shop account",
        "registration/signup_welcome_email.txt",
        {"activate_url": activation_url(existing, next_url)},
    )
    return "welcome"


def activation_url(user: object, next_url: str) -> str:
    """The one-time link that opens `user`'s account (absolute on SITE_URL)."""
    path = reverse(
        "signup-activate",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    query = f"?{urlencode({'next': next_url})}" if next_url and next_url != "/" else ""
    return absolute(path + query)


def absolute(path: str) -> str:
    """`path` on the site's own address (SITE_URL); relative when none is configured."""
    return f"{settings.SITE_URL.rstrip('/')}{path}" if settings.SITE_URL else path


def _mail(to: str, subject: str, template: str, context: dict) -> None:
    body = render_to_string(template, {"email": to, **context})
    send_mail(subject, body, None, [to])


def activate(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link from the sign-up mail: the account opens, its owner is logged in and welcomed,
    and goes on where they were going (the order form with their garment, say)."""
    User = get_user_model()
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        return render(request, "registration/signup_link_invalid.html", status=400)
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, WELCOME)
    return HttpResponseRedirect(safe_next(request, request.GET.get("next")))
