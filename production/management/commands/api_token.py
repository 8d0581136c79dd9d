from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from production.accounts.api_tokens import rotate_token


class Command(BaseCommand):
    help = (
        "Print the API token of the user with this email, creating the token if needed "
        "(--rotate: replace it with a new one; the old one stops working)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the user's token with a new one."
        )

    def handle(self, *args, email: str, rotate: bool = False, **options) -> None:
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        if rotate:
            self.stdout.write(rotate_token(user))
            return
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
