"""Login throttling with django-axes: who a failed login counts against, and the lockout answer.

Axes counts failed logins in the database per account and per client address (settings:
LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_MINUTES). While either is locked out, every login attempt —
right password or wrong, known account or unknown — gets the same 429 answer, so the lockout says
nothing about which accounts exist.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta

from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from production.plumbing.request_limits import wants_json

MAX_USERNAME_LENGTH = 255  # axes' column; a longer "email" is no account anyway


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The account a login attempt is for: the email as typed, trimmed and lower-cased.

    Usernames are lower-cased emails, so `Customer@Example.com` is the same account and must be
    counted as such: otherwise varying the case would give an attacker a fresh counter each time.
    """
    if credentials:
        raw = credentials.get("username")
    else:
        data = getattr(request, "data", None) or request.POST
        raw = data.get("username")
    if not isinstance(raw, str):
        return None
    return raw.strip().lower()[:MAX_USERNAME_LENGTH]


def client_address(request: HttpRequest) -> str | None:
    """The address failed logins are counted against.

    REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies stand in front: each appends the address it
    received from to X-Forwarded-For, so the client is that many entries from the right. Entries
    further left were written by the client itself and prove nothing.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [entry.strip() for entry in header.split(",") if entry.strip()]
    if len(forwarded) < count:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-count]))
    except ValueError:
        return remote


def minutes_left(request: HttpRequest, credentials: dict | None = None) -> int:
    """Whole minutes until the lockout of this account or address ends (at least 1).

    Attempts made while locked out are not recorded (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
    off), so the lockout ends a cool-off after the last counted failure.
    """
    cool_off = get_cool_off(request) or timedelta(0)
    match = Q(ip_address=get_client_ip_address(request))
    username = attempted_username(request, credentials)
    if username:
        match |= Q(username=username)
    last = AccessAttempt.objects.filter(match).aggregate(last=Max("attempt_time"))["last"]
    remaining = (last + cool_off - timezone.now()) if last else cool_off
    return max(1, math.ceil(remaining.total_seconds() / 60))


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """429: the site's page for browsers, `{"error": ...}` for API-style clients."""
    minutes = minutes_left(request, credentials)
    unit = "minute" if minutes == 1 else "minutes"
    message = f"Too many failed login attempts. Try again in {minutes} {unit}."
    if wants_json(request):
        response: HttpResponse = JsonResponse({"error": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
