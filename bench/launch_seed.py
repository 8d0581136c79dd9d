"""Seeds the launch bench's database (run by bench/launch.py in a Django process of its own).

Customers and operators with one password (hashed once: thousands of PBKDF2 runs would take
minutes), an API token and a logged-in session each, and the garments of the order form.
Prints the people as JSON on its last line.
"""

from __future__ import annotations

import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.cached_db import SessionStore  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from production.models import Garment  # noqa: E402

PASSWORD = "launch-bench-pw-1"
GARMENT = "gid://shopify/Product/777001"


def main(customers: int, operators: int) -> None:
    Garment.objects.update_or_create(
        shopify_gid=GARMENT,
        defaults={
            "name": "Launch Tee",
            "sizes": ["S", "M", "L", "XL"],
            "base_price": 1800,
            "currency": "usd",
            "is_active": True,
        },
    )
    User = get_user_model()
    hashed = make_password(PASSWORD)
    people = [
        User(username=f"launch-c{n}@example.com", email=f"launch-c{n}@example.com", password=hashed)
        for n in range(customers)
    ] + [
        User(username=f"launch-o{n}@example.com", email=f"launch-o{n}@example.com", password=hashed)
        for n in range(operators)
    ]
    User.objects.bulk_create(people)
    people = list(User.objects.filter(username__startswith="launch-").order_by("id"))
    operator_group = Group.objects.get(name="Operators")
    out: dict[str, list[dict]] = {"customers": [], "operators": []}
    tokens = [Token(user=user, key=Token.generate_key()) for user in people]
    Token.objects.bulk_create(tokens)
    for user, token in zip(people, tokens, strict=True):
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        person = {"email": user.email, "token": token.key, "session": session.session_key}
        if user.username.startswith("launch-o"):
            user.groups.add(operator_group)
            out["operators"].append(person)
        else:
            out["customers"].append(person)
    print(json.dumps({"password": PASSWORD, "garment": GARMENT, **out}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
