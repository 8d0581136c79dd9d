"""Token authentication for scripts, with the token's user from the shared cache."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from production import order_reads


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token <key>`, without a query per request for a known token
    (`production.order_reads` caches the user and reads the requested order's version with it)."""

    def authenticate(self, request: Request) -> tuple | None:
        self.request = request  # DRF makes an authenticator per request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple:
        user = order_reads.token_user(self.request, key)
        if user is None:
            user, _token = super().authenticate_credentials(key)
            order_reads.remember_token(key, user)
        return user, key
