"""DRF's content negotiation with the common case answered before parsing any header."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.settings import api_settings


class ContentNegotiation(DefaultContentNegotiation):
    """No Accept header, `*/*` or exactly the first renderer's type, and no `?format=`: the first
    renderer, as DRF itself would choose (scripts send one of these on every call; parsing the
    header cost more than the rest of DRF's checks on a cached read). Anything else: DRF's rules.
    """

    def select_renderer(
        self, request: Request, renderers: list, format_suffix: str | None = None
    ) -> tuple:
        first = renderers[0]
        accept = request.headers.get("accept", "*/*")
        if (
            not format_suffix
            and accept in ("*/*", first.media_type)
            and api_settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
