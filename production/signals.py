"""Signal receivers, side effects only: cache hygiene (a deleted token or a changed user stops
authenticating at once) and closing a logged-out session's live sockets."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from production.api.authentication import forget_tokens
from production.broadcasts import close_session_sockets


@receiver(post_delete, sender=Token)
def forget_deleted_token(sender: type, instance: Token, **kwargs) -> None:
    forget_tokens([instance.key])


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def forget_tokens_of_changed_user(sender: type, instance: object, **kwargs) -> None:
    forget_tokens(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))


@receiver(user_logged_out, dispatch_uid="production.close_session_sockets")
def close_sockets_on_logout(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    # Sent before the session is flushed, so the key is still the one the sockets joined with.
    session = getattr(request, "session", None)
    close_session_sockets(getattr(session, "session_key", None))
