"""API tokens (DRF's authtoken `Token`, one per user): created, rotated and revoked here only.

A token is a password for scripts, so it goes when the password changes: every real password
change calls Django's `password_validation.password_changed()` (the password change and reset
forms, the admin, `changepassword`, `set_password()` then `save()`; a hash upgrade at login does
not), and `RevokeTokensOnPasswordChange`, listed in AUTH_PASSWORD_VALIDATORS, revokes the user's
token there (docs/decisions/0054). A revoked token's cached user (`order_reads`) goes at once, and
again after commit, so a request racing the change cannot keep it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from production.order_reads import forget_tokens

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


def token_created_at(user: AbstractBaseUser) -> datetime | None:
    """When the user's current token was made (None: they have none). Never the key itself."""
    return Token.objects.filter(user_id=user.pk).values_list("created", flat=True).first()


def rotate_token(user: AbstractBaseUser) -> str:
    """A new token for `user`, replacing the one they had (which stops working at once). Returns
    the new key: the only time it is shown."""
    with transaction.atomic():
        # Two rotations at once take turns on the user's row: each replaces a token, none fails.
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        revoke_tokens(user)
        token = Token.objects.create(user_id=user.pk)
    logger.info("API token of user %s rotated", user.pk)
    return token.key


def revoke_tokens(user: AbstractBaseUser) -> int:
    """Delete the user's token, if any; its cached user goes now and after commit. Returns how
    many were deleted (0 or 1)."""
    keys = list(Token.objects.filter(user_id=user.pk).values_list("key", flat=True))
    if not keys:
        return 0
    deleted, _ = Token.objects.filter(key__in=keys).delete()
    forget_tokens(keys)
    transaction.on_commit(lambda: forget_tokens(keys))
    logger.info("API token of user %s revoked", user.pk)
    return deleted


class RevokeTokensOnPasswordChange:
    """Not a rule for passwords: Django's hook for "this user's password changed" (every
    validator's `password_changed`), where the user's API token is revoked."""

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        return None  # accepts every password

    def password_changed(self, password: str, user: AbstractBaseUser | None = None) -> None:
        if user is not None and user.pk is not None:
            revoke_tokens(user)

    def get_help_text(self) -> str:
        return "Changing your password revokes your API token."
