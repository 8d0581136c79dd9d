"""Mockups: the design on the garment in its colour, at the size it prints, inside the print
area's outline (Pillow). Drawn from the copy of the design that preflight measured (about
1,200 px: the file is decoded once), cached by design URL + garment + colour + placement."""

from __future__ import annotations

import hashlib
from io import BytesIO

from django.core.cache import cache
from PIL import Image, ImageDraw, ImageFont

from production.models import GarmentColor, OrderDesign, Placement, PlacementCode, ProductionOrder

PX_PER_IN = 20
CANVAS_IN = (30, 32)
CACHE_SECONDS = 7 * 24 * 3600
# A T-shirt seen from the front (or back), in inches on the canvas.
_SHIRT = [
    (10.5, 1), (5, 2.5), (0, 9), (3, 13.5), (6.5, 11.5), (6.5, 31), (23.5, 31), (23.5, 11.5),
    (27, 13.5), (30, 9), (25, 2.5), (19.5, 1), (18.2, 2.8), (15, 3.6), (11.8, 2.8),
]  # fmt: skip
# Where each placement's print area starts (its top centre), in inches on the canvas.
_ANCHORS = {
    PlacementCode.FRONT: (15, 5.5),
    PlacementCode.BACK: (15, 4.5),
    PlacementCode.LEFT_SLEEVE: (3.6, 8.5),
    PlacementCode.RIGHT_SLEEVE: (26.4, 8.5),
    PlacementCode.NECK_LABEL: (15, 4.2),
    PlacementCode.POCKET: (19.5, 7),
}


def mockup_key(url: str, garment_id: int, color_hex: str, placement: Placement) -> str:
    size = f"{placement.width_in}x{placement.height_in}"
    raw = "|".join([url, str(garment_id), color_hex.lower(), placement.code, size])
    return "mockup:v1:" + hashlib.sha256(raw.encode()).hexdigest()


def cached_mockup(url: str, garment_id: int, color_hex: str, placement: Placement) -> bytes | None:
    return cache.get(mockup_key(url, garment_id, color_hex, placement))


def remember(url: str, garment_id: int, color_hex: str, placement: Placement, jpeg: bytes) -> None:
    cache.set(mockup_key(url, garment_id, color_hex, placement), jpeg, CACHE_SECONDS)


def store_for_order(order: ProductionOrder, design: OrderDesign, preview: Image.Image) -> None:
    """Draw and cache the design's mockup in every colour the order has."""
    placement = design.placement
    for color in order_colors(order):
        jpeg = draw_mockup(preview, color.hex, placement)
        remember(design.url, order.garment_id, color.hex, placement, jpeg)


def order_colors(order: ProductionOrder) -> list[GarmentColor]:
    colors = GarmentColor.objects.filter(line_items__order=order).distinct().order_by("position")
    return list(colors) or list(
        GarmentColor.objects.filter(garment_id=order.garment_id, is_default=True)
    )


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return (240, 240, 240)


def draw_mockup(design: Image.Image, garment_hex: str, placement: Placement) -> bytes:
    """A JPEG: the garment in `garment_hex`, the print area outlined, the design fitted into it
    (proportions kept, top centre) at its print size."""
    width, height = (round(v * PX_PER_IN) for v in CANVAS_IN)
    canvas = Image.new("RGB", (width, height), (246, 246, 244))
    draw = ImageDraw.Draw(canvas)
    garment = _rgb(garment_hex)
    shadow = tuple(max(0, c - 40) for c in garment)
    draw.polygon([(x * PX_PER_IN, y * PX_PER_IN) for x, y in _SHIRT], fill=garment, outline=shadow)
    area_w = float(placement.width_in) * PX_PER_IN
    area_h = float(placement.height_in) * PX_PER_IN
    cx, top = _ANCHORS.get(placement.code, _ANCHORS[PlacementCode.FRONT])
    left, top = cx * PX_PER_IN - area_w / 2, top * PX_PER_IN
    scale = min(area_w / design.width, area_h / design.height)
    size = (max(1, round(design.width * scale)), max(1, round(design.height * scale)))
    art = design.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
    canvas.paste(art, (round(left + (area_w - size[0]) / 2), round(top)), art)
    light = sum(garment) / 3 > 128
    line = (90, 90, 90) if light else (220, 220, 220)
    _dashed_rectangle(draw, (left, top, left + area_w, top + area_h), line)
    label = f"{placement.name} · print area {placement.width_in:g} × {placement.height_in:g} in"
    draw.text((10, height - 22), label, fill=(60, 60, 60), font=ImageFont.load_default(14))
    out = BytesIO()
    canvas.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _dashed_rectangle(
    draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], colour: tuple[int, int, int]
) -> None:
    x0, y0, x1, y1 = box
    dash = 6
    x = x0
    while x < x1:
        draw.line([(x, y0), (min(x + dash, x1), y0)], fill=colour)
        draw.line([(x, y1), (min(x + dash, x1), y1)], fill=colour)
        x += dash * 2
    y = y0
    while y < y1:
        draw.line([(x0, y), (x0, min(y + dash, y1))], fill=colour)
        draw.line([(x1, y), (x1, min(y + dash, y1))], fill=colour)
        y += dash * 2
