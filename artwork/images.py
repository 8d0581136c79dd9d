"""What every reader of a customer's design checks before decoding it: whether it is an SVG, and
the pixel count from the image header (no decompression bombs)."""

from __future__ import annotations

import warnings
from io import BytesIO

from PIL import Image

from artwork.fetch import Refused

RASTER_FORMATS = ("GIF", "JPEG", "PNG", "WEBP")


def looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def check_pixels(
    data: bytes, limit: int, too_large: str, formats: tuple[str, ...] = RASTER_FORMATS
) -> tuple[int, int]:
    """The image's size, read from its header; Refused(too_large) past `limit` pixels. The file
    is verified (a truncated or corrupt file raises OSError/SyntaxError)."""
    with warnings.catch_warnings():
        # Pillow's own bomb check (at Image.MAX_IMAGE_PIXELS) warns before ours runs: an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(BytesIO(data), formats=list(formats))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
            raise Refused(too_large) from error
    with probe:
        width, height = probe.size
        if width * height > limit:
            raise Refused(too_large)
        probe.verify()
    return width, height
