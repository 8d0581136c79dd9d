"""The API's JSON parser: any body that is not JSON it can read is a 400, never a 500."""

from typing import Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # Python's json gives up on deep nesting (`[[[[...`) with RecursionError, which DRF's
            # parser (catching ValueError only) would let through as a 500.
            raise exceptions.ParseError("JSON parse error - nested too deeply") from None
