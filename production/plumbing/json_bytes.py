"""JSON as DRF writes it, encoded by orjson (a C encoder, ~10x faster on an order's JSON). The
order read's cached body, the live pages' frames and every API answer use it (the API through
`production.api.renderers.FastJSONRenderer`).

The output is DRF's `JSONRenderer` output byte for byte for what the API sends (compact, UTF-8,
U+2028 and U+2029 escaped as DRF escapes them, dates and decimals through DRF's encoder). An
indented answer (`Accept: application/json; indent=2`) and anything orjson refuses (an integer
beyond 64 bits, a non-string key) are left to DRF's renderer.
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_encoder = JSONEncoder()


def _default(value: object) -> object:
    # Dates, times, decimals, lazy strings, querysets…: as DRF encodes them.
    return _encoder.default(value)


def dumps(data: Any) -> bytes:
    """`data` as JSONRenderer().render(data) gives it."""
    try:
        body = orjson.dumps(data, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return JSONRenderer().render(data)
    if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:  # as DRF does, for <script> tags
        body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return body
