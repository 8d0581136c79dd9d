from django.http import HttpRequest

from production.accounts.access import is_operator


def roles(request: HttpRequest) -> dict[str, bool]:
    return {"is_operator": is_operator(getattr(request, "user", None))}
