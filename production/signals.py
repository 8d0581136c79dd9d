"""Cache hygiene only: a deleted token or a changed user stops authenticating at once."""

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from production.api.authentication import forget_tokens


@receiver(post_delete, sender=Token)
def forget_deleted_token(sender: type, instance: Token, **kwargs) -> None:
    forget_tokens([instance.key])


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def forget_tokens_of_changed_user(sender: type, instance: object, **kwargs) -> None:
    forget_tokens(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))
