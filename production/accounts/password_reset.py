"""Password reset through the task queue.

Django's PasswordResetView looks the address up and sends the mail inside the request, so a known
address took as long as the mail server (seconds) and an unknown one no time at all: the answer's
timing told anyone which accounts exist. Here the request only queues a task with what the mail
needs; the worker looks the users up and sends, through Django's own PasswordResetForm.save().
Every address costs the request the same single INSERT.

The link is built on SITE_URL, never on the request's Host header (which the asker controls):
a reset mail must not point anywhere but the shop.

A reset mail the server refuses is logged by Django and not retried: the link is worth only what
the person asking for it is still waiting for; they can ask again.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest
from django_tasks import task

logger = logging.getLogger(__name__)


def site_address(request: HttpRequest | None) -> tuple[str, bool] | None:
    """(domain, use_https) of the reset link: SITE_URL's host (and any path prefix), so the
    link never follows a Host header the asker chose. Without SITE_URL, only with DEBUG on
    (`make run` sets SITE_URL anyway): the request's host. Otherwise None: no link is built."""
    if settings.SITE_URL:
        parts = urlsplit(settings.SITE_URL)
        return f"{parts.netloc}{parts.path.rstrip('/')}", parts.scheme == "https"
    if settings.DEBUG and request is not None:
        return request.get_host(), request.is_secure()
    return None


class QueuedPasswordResetForm(PasswordResetForm):
    """PasswordResetForm whose save() queues the lookup and the mail instead of doing them."""

    def save(  # type: ignore[override]
        self,
        domain_override: str | None = None,
        subject_template_name: str = "registration/password_reset_subject.txt",
        email_template_name: str = "registration/password_reset_email.html",
        use_https: bool = False,
        token_generator: Any = default_token_generator,
        from_email: str | None = None,
        request: HttpRequest | None = None,
        html_email_template_name: str | None = None,
        extra_email_context: dict[str, Any] | None = None,
    ) -> None:
        if token_generator is not default_token_generator:
            # The worker rebuilds the form and can only use the default generator.
            raise ValueError("QueuedPasswordResetForm supports the default token generator only")
        if not domain_override:
            site = site_address(request)
            if site is None:
                logger.error(
                    "Password reset for an address not mailed: SITE_URL is not set (the link "
                    "is never built from the request's Host header outside DEBUG)."
                )
                return
            domain_override, use_https = site
        send_password_reset.enqueue(
            email=self.cleaned_data["email"],
            domain=domain_override,
            use_https=use_https,
            subject_template_name=subject_template_name,
            email_template_name=email_template_name,
            html_email_template_name=html_email_template_name,
            from_email=from_email,
            extra_email_context=extra_email_context,
        )


@task()
def send_password_reset(
    *,
    email: str,
    domain: str,
    use_https: bool,
    subject_template_name: str,
    email_template_name: str,
    html_email_template_name: str | None,
    from_email: str | None,
    extra_email_context: dict[str, Any] | None,
) -> None:
    """In the worker: mail a reset link to each active user with this address (none: nothing)."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():  # validated by the request already; a tampered row sends nothing
        return
    form.save(
        domain_override=domain,
        use_https=use_https,
        subject_template_name=subject_template_name,
        email_template_name=email_template_name,
        html_email_template_name=html_email_template_name,
        from_email=from_email,
        extra_email_context=extra_email_context,
    )
