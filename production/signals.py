"""Signal receivers: side effects only. Logging out closes that session's live sockets."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from production.broadcasts import close_session_sockets


@receiver(user_logged_out, dispatch_uid="production.close_session_sockets")
def close_sockets_on_logout(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    # Sent before the session is flushed, so the key is still the one the sockets joined with.
    session = getattr(request, "session", None)
    close_session_sockets(getattr(session, "session_key", None))
