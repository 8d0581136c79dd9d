"""The Content-Security-Policy header, and pages that hold no inline code for it to block."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/docs/", "/api/production"])
def test_every_response_carries_the_policy(path):
    directives = policy(Client().get(path))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["form-action"] == "'self' https://checkout.stripe.com"


def test_the_api_docs_load_their_script_and_styles_from_files():
    page = Client().get("/api/docs/").content.decode()
    assert not re.search(r"<script>|<style", page)
    script = re.search(r'<script src="([^"]*script[^"]*)"', page).group(1)
    response = Client().get(script.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()
