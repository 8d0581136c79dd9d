"""The signed-in user's API token page: whether they have one, a new one (shown once), none."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from production.accounts.api_tokens import revoke_tokens, rotate_token, token_created_at


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    """GET: the page. POST `action=rotate`: a new token, its key shown in this answer only (the
    old one stops working). POST `action=revoke`: no token any more."""
    new_key = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rotate":
            new_key = rotate_token(request.user)
        elif action == "revoke":
            if revoke_tokens(request.user):
                messages.success(request, "Your API token is revoked: it no longer works.")
            else:
                messages.info(request, "You had no API token: nothing to revoke.")
            return HttpResponseRedirect(reverse("api-token"))
        else:
            messages.error(request, "Choose to create a new token or to revoke yours.")
            return HttpResponseRedirect(reverse("api-token"))
    response = render(
        request,
        "production/api_token.html",
        {"created": token_created_at(request.user), "new_key": new_key},
    )
    add_never_cache_headers(response)  # the key is in this page once, and in no cache
    return response
