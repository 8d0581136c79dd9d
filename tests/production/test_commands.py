"""Management commands of the production app."""

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def test_api_token_prints_the_same_token_each_time(capsys, customer):
    call_command("api_token", "customer@example.com")
    first = capsys.readouterr().out.strip()
    call_command("api_token", "CUSTOMER@example.com")
    assert capsys.readouterr().out.strip() == first == Token.objects.get(user=customer).key


def test_api_token_for_unknown_user_fails_clearly():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "nobody@example.com")
