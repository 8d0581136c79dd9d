"""The API's JSON renderer: DRF's, encoding through `production.plumbing.json_bytes.dumps`
(orjson, DRF's bytes) unless the client asked for indentation."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import JSONRenderer

from production.plumbing.json_bytes import dumps


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, encoding through `dumps` unless the client asked for indentation."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        return dumps(data)
