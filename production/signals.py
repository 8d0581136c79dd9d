"""Signal receivers, side effects only: cache hygiene (a deleted token or a changed user stops
authenticating at once; a change of who may do what drops the cached operator answers), closing
a logged-out session's live sockets, and making a changed user's sockets check their access
again."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_out
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from production.accounts.access import forget_access
from production.broadcasts import close_session_sockets, recheck_user_sockets
from production.order_reads import forget_tokens


@receiver(post_delete, sender=Token)
def forget_deleted_token(sender: type, instance: Token, **kwargs) -> None:
    forget_tokens([instance.key])


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def user_saved(
    sender: type, instance: object, created: bool, update_fields: frozenset | None, **kwargs
) -> None:
    """Forget the user's cached tokens; a changed user's sockets check their access again."""
    forget_tokens(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))
    if created or update_fields == frozenset({"last_login"}):  # logging in changes no access
        return
    forget_access()  # first: its after-commit hook runs before the sockets are told
    recheck_user_sockets([instance.pk])


@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def close_sockets_of_deleted_user(sender: type, instance: object, **kwargs) -> None:
    forget_access()
    recheck_user_sockets([instance.pk])


@receiver(pre_delete, sender=Group)
@receiver(pre_delete, sender=Permission)
def recheck_holders_of_deleted_access(sender: type, instance: Group | Permission, **kwargs) -> None:
    """A group or permission is deleted: its memberships and grants go with it, without an m2m
    signal. The cached operator answers are dropped, and the users who held it (read now, while
    they still do) have their sockets check again after commit."""
    forget_access()
    User = get_user_model()
    if isinstance(instance, Group):
        users = instance.user_set.values_list("pk", flat=True)
    else:
        users = User.objects.filter(
            Q(user_permissions=instance) | Q(groups__permissions=instance)
        ).values_list("pk", flat=True)
    recheck_user_sockets(users)


@receiver(post_save, sender=Permission)
def permission_renamed(sender: type, **kwargs: object) -> None:
    forget_access()  # its codename or content type may be another now


def _recheck_on_membership_change(
    sender: type, instance: object, action: str, pk_set: set | None, **kwargs: object
) -> None:
    """Group memberships or permissions change: the cached operator answers are dropped; when
    they shrink, the users concerned may lose access and their sockets check again.

    Seen from either side of either relation. The users are read before the removal (while they
    are still linked); the recheck itself runs after commit, after the answers are dropped again.
    Gaining access changes nothing for an open socket.
    """
    if action in ("post_add", "pre_remove", "pre_clear"):
        forget_access()
    if action not in ("pre_remove", "pre_clear"):
        return
    User = get_user_model()
    removing = action == "pre_remove"
    if isinstance(instance, User):
        users = [instance.pk]
    elif sender in (User.groups.through, User.user_permissions.through):
        # A group losing members, or a permission taken from users: pk_set names the users.
        users = pk_set if removing else instance.user_set.values_list("pk", flat=True)
    elif isinstance(instance, Group):  # a group losing permissions: all its members
        users = instance.user_set.values_list("pk", flat=True)
    else:  # a permission taken from groups: pk_set names the groups
        groups = pk_set if removing else instance.group_set.values_list("pk", flat=True)
        users = User.objects.filter(groups__in=groups).values_list("pk", flat=True)
    recheck_user_sockets(users or ())


def _connect_membership_receivers() -> None:
    User = get_user_model()
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(
            _recheck_on_membership_change,
            sender=through,
            dispatch_uid=f"production.recheck_sockets.{through._meta.label}",
        )


_connect_membership_receivers()


@receiver(user_logged_out, dispatch_uid="production.close_session_sockets")
def close_sockets_on_logout(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    # Sent before the session is flushed, so the key is still the one the sockets joined with.
    session = getattr(request, "session", None)
    close_session_sockets(getattr(session, "session_key", None))
