"""Design thumbnails for job tickets and the ops design view, read from the customer's design URL
through the artwork app's SSRF-safe fetch (`artwork.fetch`: vetted public addresses only, one
deadline, a byte limit, this site's own designs read from its static files) and drawn by its
SVG rasteriser (`artwork.svg`: resvg in a child process, the document checked and cleaned first).

- Pillow reads only PNG, JPEG, GIF and WebP, checks the pixel count from the header before
  decoding (TICKET_DESIGN_MAX_PIXELS: no decompression bombs) and re-encodes a small JPEG;
- an SVG is drawn straight at thumbnail size (THUMBNAIL_PIXELS on the longer side).

Results, images and refusals alike, are cached briefly (THUMBNAIL_CACHE_SECONDS), so a batch of
tickets for one design fetches it once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from django.core.cache import cache
from PIL import Image

from artwork.fetch import Refused, local_static_path, read_design
from artwork.images import check_pixels, looks_like_svg
from artwork.svg import svg_to_png

__all__ = ["Refused", "Thumbnail", "design_thumbnail", "local_static_path", "make_thumbnail"]

THUMBNAIL_PIXELS = 480  # the longer side; ~200 dpi in the ticket's design box
THUMBNAIL_CACHE_SECONDS = 600
REFUSAL_CACHE_SECONDS = 60  # a design that failed is tried again soon, not on every ticket
ALLOWED_FORMATS = ("GIF", "JPEG", "PNG", "WEBP")


@dataclass(frozen=True)
class Thumbnail:
    """A design as the ticket draws it: a small JPEG, or None and the reason for the placeholder."""

    image: bytes | None
    reason: str = ""


def design_thumbnail(url: str) -> Thumbnail:
    """The thumbnail of the design at `url` (cached briefly). Never raises for a bad design."""
    key = "ticket-design:v2:" + hashlib.sha256(url.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return Thumbnail(*cached)
    try:
        thumbnail = Thumbnail(make_thumbnail(read_design(url)))
    except Refused as refusal:
        thumbnail = Thumbnail(None, str(refusal))
    timeout = THUMBNAIL_CACHE_SECONDS if thumbnail.image else REFUSAL_CACHE_SECONDS
    cache.set(key, (thumbnail.image, thumbnail.reason), timeout)
    return thumbnail


def make_thumbnail(data: bytes) -> bytes:
    """A small JPEG of the design, or Refused. The header is checked before anything is decoded."""
    if looks_like_svg(data):
        return _jpeg_on_white(_open_image(svg_to_png(data, THUMBNAIL_PIXELS)))
    limit = settings.TICKET_DESIGN_MAX_PIXELS
    too_large = f"The design is too large an image (more than {limit / 1e6:g} megapixels)."
    try:
        check_pixels(data, limit, too_large, ALLOWED_FORMATS)
        with Image.open(BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
            image.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # JPEG: decode scaled down
            image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            return _jpeg_on_white(image)
    except Refused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise Refused(too_large) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise Refused("The design is not an image the tickets can show.") from error


def _open_image(png: bytes) -> Image.Image:
    image = Image.open(BytesIO(png), formats=["PNG"])
    image.load()
    return image


def _jpeg_on_white(image: Image.Image) -> bytes:
    # A JPEG: the PDF embeds it as it is (a PNG would be decoded and deflated again for every
    # ticket), and it is a fraction of the size. Transparency lands on white paper.
    rgba = image.convert("RGBA")
    paper = Image.new("RGB", rgba.size, "white")
    paper.paste(rgba, mask=rgba.getchannel("A"))
    out = BytesIO()
    paper.save(out, format="JPEG", quality=85)
    return out.getvalue()
