"""SVG designs drawn by resvg (Rust, no scripts, no network), never as the customer wrote them:
the one rasteriser shared by job-ticket thumbnails (`ops.design_images`), preflight and mockups.

The XML is parsed by defusedxml with no DTD allowed (no entities: billion laughs refused at once),
the document is bounded (SVG_MAX_ELEMENTS elements after `<use>` expansion, SVG_MAX_DEPTH deep),
every `href` that is not a fragment (`#id`) or a small data: PNG/JPEG/GIF/WebP is removed (resvg
would read a path from this server's disk; it never fetches http(s)), and the picture is drawn
straight at the size asked for from its declared width/height/viewBox, so a 100 000 px wide SVG
costs what a 480 px one does; resvg runs in a child process killed after SVG_RENDER_SECONDS (a
filter can still make a small file slow).
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from base64 import b64decode
from binascii import Error as BinasciiError
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from django.conf import settings
from PIL import Image

from artwork.fetch import Refused
from artwork.images import check_pixels

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
SVG_MAX_ELEMENTS = 20_000  # after <use> expansion; the demo's designs have about 10
SVG_MAX_DEPTH = 200
# CSS units in px (96 dpi), as resvg reads them; em/ex at resvg's default font size of 16.
_UNITS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54}
_UNITS |= {"in": 96.0, "em": 16.0, "ex": 8.0}
_LENGTH = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-z%]*)\s*$")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|jpg|gif|webp);base64,", re.IGNORECASE)


@dataclass(frozen=True)
class DrawnSvg:
    """An SVG drawn as a PNG: its bytes, its declared size in CSS px, and how many external
    references (links to other files) were removed before drawing."""

    png: bytes
    width: float
    height: float
    removed_references: int


def svg_to_png(data: bytes, longest: int = 480) -> bytes:
    """The SVG design drawn as a PNG of at most `longest` pixels on its longer side, or Refused."""
    return draw_svg(data, longest).png


def draw_svg(data: bytes, longest: int) -> DrawnSvg:
    """The SVG checked, cleaned and drawn at most `longest` px on its longer side, or Refused.

    The document is checked and cleaned before resvg sees it; resvg itself runs no scripts and
    fetches nothing over the network. What bounds the time: the bytes (the fetch's limit), the
    element count after <use> expansion (SVG_MAX_ELEMENTS) and the canvas (`longest`)."""
    root = _parse_svg(data)
    _check_complexity(root)
    removed = _strip_external_references(root)
    width, height = svg_size(root)
    scale = longest / max(width, height)
    out_width = max(1, min(longest, round(width * scale)))
    out_height = max(1, min(longest, round(height * scale)))
    png = render_svg(ET.tostring(root, encoding="unicode"), out_width, out_height)
    return DrawnSvg(png, width, height, removed)


# resvg has no timeout and a filter can make one element cost seconds (a blur over a region 30
# times the canvas: 200 of them took 157 s), so it runs in a child process that is killed at
# SVG_RENDER_SECONDS, with its memory capped at SVG_RENDER_MEMORY.
SVG_RENDER_SECONDS = 3.0
SVG_RENDER_MEMORY = 1024 * 1024 * 1024
_RENDER_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[3]), int(sys.argv[3])))
import resvg_py
svg = sys.stdin.buffer.read().decode()
# dpi: CSS inches; resvg_py's default of 0 makes any `in` or `mm` size invalid.
width, height = int(sys.argv[1]), int(sys.argv[2])
png = resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, dpi=96.0)
sys.stdout.buffer.write(png)
"""


def render_svg(svg: str, width: int, height: int) -> bytes:
    """resvg's PNG of a checked and cleaned SVG, drawn in a child process within the limits."""
    command = [sys.executable, "-I", "-c", _RENDER_SCRIPT, str(width), str(height)]
    command.append(str(SVG_RENDER_MEMORY))
    try:
        done = subprocess.run(  # noqa: S603 (our own interpreter and script; the SVG is stdin)
            command, input=svg.encode(), capture_output=True, timeout=SVG_RENDER_SECONDS
        )
    except subprocess.TimeoutExpired as error:
        raise Refused(
            f"SVG design refused: it takes longer than {SVG_RENDER_SECONDS:g} s to draw."
        ) from error
    except OSError as error:
        raise Refused("The SVG design could not be drawn.") from error
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        raise Refused("The SVG design could not be drawn.")
    return done.stdout


def _parse_svg(data: bytes) -> ET.Element:
    try:
        # No DTD at all: no entity can be declared, so none expands (billion laughs) and none
        # names a file or URL. Comments and processing instructions (xml-stylesheet) are dropped.
        root = parse_xml(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise Refused(
            "SVG design refused: it declares a DTD or XML entities, which are never expanded."
        ) from error
    except (ET.ParseError, ValueError) as error:
        raise Refused("The SVG design is not valid XML.") from error
    if root.tag != f"{{{SVG_NS}}}svg":
        raise Refused("The design is not an SVG image.")
    return root


def _check_complexity(root: ET.Element) -> None:
    """Refused past SVG_MAX_ELEMENTS once every <use> is counted as the copy it draws (a few
    nested <use> can multiply into millions of shapes), or past SVG_MAX_DEPTH levels."""
    too_many = f"SVG design refused: it draws more than {SVG_MAX_ELEMENTS:,} elements."
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    sizes: dict[int, int] = {}
    stack: list[tuple[ET.Element, int, bool]] = [(root, 0, False)]
    visiting: set[int] = set()
    while stack:
        element, depth, done = stack.pop()
        key = id(element)
        if done:
            visiting.discard(key)
            total = 1 + sum(sizes.get(id(child), 0) for child in element)
            target = _use_target(element, by_id)
            if target is not None:
                total += sizes.get(id(target), 0)  # a cycle counts 0: resvg skips it
            if total > SVG_MAX_ELEMENTS:
                raise Refused(too_many)
            sizes[key] = total
            continue
        if key in sizes or key in visiting:
            continue
        if depth > SVG_MAX_DEPTH:
            raise Refused(f"SVG design refused: it nests more than {SVG_MAX_DEPTH} levels deep.")
        visiting.add(key)
        stack.append((element, depth, True))
        target = _use_target(element, by_id)
        if target is not None:
            stack.append((target, depth + 1, False))
        stack.extend((child, depth + 1, False) for child in element)


def _use_target(element: ET.Element, by_id: dict[str | None, ET.Element]) -> ET.Element | None:
    if element.tag != f"{{{SVG_NS}}}use":
        return None
    href = (element.get("href") or element.get(XLINK_HREF) or "").strip()
    return by_id.get(href[1:]) if href.startswith("#") else None


def _strip_external_references(root: ET.Element) -> int:
    """Every href that is not a fragment of this document or a small embedded raster is removed
    (resvg would read `/path` or `path` from this server's disk; it never fetches http(s)).
    Returns how many were removed."""
    removed = 0
    for element in root.iter():
        for name in ("href", XLINK_HREF):
            href = element.get(name)
            if href is None:
                continue
            href = href.strip()
            if href.startswith("#") or _safe_embedded_image(href):
                continue
            del element.attrib[name]
            removed += 1
    return removed


def _safe_embedded_image(href: str) -> bool:
    match = _DATA_IMAGE.match(href)
    if match is None:
        return False
    try:
        limit = settings.TICKET_DESIGN_MAX_PIXELS
        check_pixels(b64decode(href[match.end() :], validate=False), limit, "too large")
    except (Refused, BinasciiError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    except Image.DecompressionBombWarning:
        return False
    return True


def svg_size(root: ET.Element) -> tuple[float, float]:
    """The SVG's size in px as resvg reads it: width/height, else the viewBox's, else 100."""
    view_box = _view_box(root.get("viewBox"))
    width = _length(root.get("width"), view_box[0] if view_box else None)
    height = _length(root.get("height"), view_box[1] if view_box else None)
    if width is None and height is not None and view_box:
        width = height * view_box[0] / view_box[1]
    if height is None and width is not None and view_box:
        height = width * view_box[1] / view_box[0]
    width, height = width or 100.0, height or 100.0
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise Refused("The SVG design has no usable width and height.")
    return width, height


def _view_box(value: str | None) -> tuple[float, float] | None:
    try:
        numbers = [float(n) for n in re.split(r"[\s,]+", (value or "").strip()) if n]
    except ValueError:
        return None
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        return None
    if numbers[2] <= 0 or numbers[3] <= 0:
        return None
    return numbers[2], numbers[3]


def _length(value: str | None, fallback: float | None) -> float | None:
    match = _LENGTH.match(value or "")
    if match is None:
        return fallback
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return fallback * number / 100 if fallback else None
    if unit not in _UNITS:
        return fallback
    return number * _UNITS[unit]
