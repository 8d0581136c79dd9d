"""Preflight: will this design print well at this placement? Each check answers pass, warning or
fail with a sentence for people (the customer first, the operator too):

- file: the format and whether it reads (PNG, JPEG, WebP, SVG; a PDF, GIF or anything else is
  refused), within the budgets (PREFLIGHT_MAX_PIXELS, PREFLIGHT_MAX_MEMORY_MB, PREFLIGHT_SECONDS);
- resolution: the effective DPI when the file is fitted into the placement's print area (warning
  under PREFLIGHT_DPI_WARN, fail under PREFLIGHT_DPI_FAIL; an SVG is sharp at any size);
- transparency: whether the file has an alpha channel and what share of its visible pixels are
  semi-transparent (DTG: the white underbase shows through them), with a picture marking them;
- background: a uniform opaque border all round (a white box, or a flat background on a file
  exported with an alpha channel) prints as a rectangle on the shirt;
- colour: CMYK or greyscale files, and an ICC profile other than sRGB;
- extent: how large the artwork itself prints inside the print area (empty margins), and artwork
  running off some edges of the file (cut when exported).

The image is decoded once (the floor of the cost: bench/preflight.py); every measure after that
works on a nearest-neighbour copy of about ANALYSIS_PIXELS on its longer side (its alpha band's
histogram and bounding box, its border), where exact counts do not matter. The same copy is what the
mockup draws (`artwork.mockups`), so a check and its mockups decode the file once.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from django.conf import settings
from PIL import Image, ImageChops, ImageCms

from artwork.fetch import Limits, Refused, read_design
from artwork.images import looks_like_svg
from artwork.svg import draw_svg
from production.plumbing import metrics

try:  # libvips decodes PNG about three times as fast as Pillow; Pillow reads it without
    import pyvips

    pyvips.cache_set_max(0)  # no decoded customer file kept between checks
    logging.getLogger("pyvips").setLevel(logging.WARNING)  # its thread pools log at INFO
except (ImportError, OSError):  # pragma: no cover - pyvips[binary] is a dependency
    pyvips = None

PASS, WARNING, FAIL = "pass", "warning", "fail"
_RANK = {PASS: 0, WARNING: 1, FAIL: 2}
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
ANALYSIS_PIXELS = 1200  # the longer side of the copy the measures and the mockup work on
SVG_PIXELS = 1200  # an SVG is drawn this large to be measured
HIGHLIGHT_PIXELS = 480
UNIFORM = 12  # the most a border's bands may vary and still be one colour
VISIBLE = 16  # alpha at or above: artwork (below: stray, invisible pixels)
MAGENTA = (255, 0, 200)


@dataclass(frozen=True)
class PrintArea:
    """Where the design prints: the placement's name and print area in inches."""

    name: str
    width_in: float
    height_in: float


@dataclass(frozen=True)
class Check:
    code: str
    status: str
    title: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "status": self.status,
            "title": self.title,
            "message": self.message,
        }


@dataclass
class Result:
    """The checks, their verdict (the worst of them), a picture of the semi-transparent pixels
    (PNG bytes, or None) and the measured copy of the design for mockups (RGBA, or None when the
    file could not be read)."""

    checks: list[Check] = field(default_factory=list)
    highlight: bytes | None = None
    preview: Image.Image | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default=PASS)

    def checks_json(self) -> list[dict[str, str]]:
        return [check.as_json() for check in self.checks]


class _Budget:
    def __init__(self, started: float) -> None:
        self.seconds = settings.PREFLIGHT_SECONDS
        self.deadline = started + self.seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise Refused(
                f"Checking the design took longer than {self.seconds:g} s, the most the shop "
                "spends on one file: send a smaller file (PNG at 300 DPI at the print size)."
            )


def fetch_limits() -> Limits:
    return Limits(settings.PREFLIGHT_FETCH_TIMEOUT, settings.PREFLIGHT_MAX_BYTES)


@metrics.timed("preflight")  # printshop_work_duration_seconds
def check_url(url: str, area: PrintArea) -> Result:
    """Fetch the design (the shared SSRF-safe fetch) and check it; never raises for a bad one."""
    started = time.monotonic()
    try:
        data = read_design(url, fetch_limits())
    except Refused as refusal:
        return _unreadable(f"{refusal} Check the design's link, then try again.")
    return check_design(data, area, started=started)


def check_design(data: bytes, area: PrintArea, *, started: float | None = None) -> Result:
    """The checks of a design file's bytes at `area`; never raises for a bad file."""
    budget = _Budget(time.monotonic() if started is None else started)
    try:
        if looks_like_svg(data):
            return _check_svg(data, area, budget)
        return _check_raster(data, area, budget)
    except Refused as refusal:
        return _unreadable(str(refusal))


def _unreadable(message: str) -> Result:
    return Result([Check("file", FAIL, "File", message)])


# --- raster files ---------------------------------------------------------------------------


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(BytesIO(data), formats=list(ACCEPTED_FORMATS))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
            raise Refused(_too_many_pixels(None)) from error
        except (OSError, ValueError, SyntaxError) as error:
            raise Refused(_not_an_image(data)) from error


def _not_an_image(data: bytes) -> str:
    head = data[:8]
    if head.startswith(b"%PDF"):
        return (
            "PDF designs are not accepted: export the artwork as a PNG with a transparent "
            "background (300 DPI at the print size) or as an SVG."
        )
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF designs are not accepted (256 colours at most): export a PNG instead."
    return (
        "The file is not an image the shop can print (PNG, JPEG, WebP or SVG): "
        "export the artwork as a PNG."
    )


def _too_many_pixels(size: tuple[int, int] | None) -> str:
    limit = settings.PREFLIGHT_MAX_PIXELS
    what = f"{size[0]:,} × {size[1]:,} pixels" if size else "more pixels than the shop reads"
    return (
        f"The design has {what}, over the {limit / 1e6:g} megapixels the shop checks: "
        "export it at 300 DPI at the print size."
    )


def _check_raster(data: bytes, area: PrintArea, budget: _Budget) -> Result:
    image = _open(data)
    with image:
        width, height = image.size
        if width * height > settings.PREFLIGHT_MAX_PIXELS:
            raise Refused(_too_many_pixels(image.size))
        decoded_mb = width * height * (1 if len(image.getbands()) == 1 else 4) / 2**20
        needed = decoded_mb + width * height / 2**20  # the image and its alpha band
        if needed > settings.PREFLIGHT_MAX_MEMORY_MB:
            raise Refused(
                f"The design would take about {needed:,.0f} MB to read, over the "
                f"{settings.PREFLIGHT_MAX_MEMORY_MB} MB the shop spends on one file: "
                "export it at 300 DPI at the print size."
            )
        format_name = image.format or "?"
        mode = image.mode
        icc = image.info.get("icc_profile")
        checks = [
            Check(
                "file",
                PASS,
                "File",
                f"{_format_label(format_name)}, {width:,} × {height:,} pixels.",
            )
        ]
        checks.append(_resolution(width, height, area))
        checks.append(_colour(format_name, mode, icc))
        has_alpha = _has_alpha(mode, image)
        sampled = None
        if format_name == "PNG" and mode in ("RGB", "RGBA"):
            sampled = _vips_png_sample(data, (width, height))
        if sampled is None:
            try:
                image.load()
            except (OSError, ValueError, SyntaxError) as error:
                raise Refused(DAMAGED) from error
            budget.check()
            small = _small_copy(_as_rgba(image))
            histogram = small.getchannel("A").histogram()
        else:
            small, histogram = sampled
    return _measure(
        small,
        histogram,
        (width, height),
        area,
        checks,
        budget,
        format_name=format_name,
        has_alpha=has_alpha,
    )


DAMAGED = (
    "The file is damaged or cut short (its image data ends early): "
    "export it again and upload the new file."
)


def _vips_png_sample(data: bytes, size: tuple[int, int]) -> tuple[Image.Image, list[int]] | None:
    """An 8-bit RGB(A) PNG decoded by libvips (libspng: about three times Pillow's speed here,
    bench/preflight.py): the sampled copy, and the alpha histogram of every pixel. None when
    pyvips is not installed or the PNG is not 8-bit (Pillow reads it then)."""
    if pyvips is None:
        return None
    try:
        image = pyvips.Image.new_from_buffer(data, "", access="random", fail_on="error")
        if image.format != "uchar" or image.bands not in (3, 4):
            return None
        if image.bands == 3:
            image = image.bandjoin(255)
        bins = image.hist_find(band=3).tolist()[0]  # as many bins as the highest value needs
        histogram = [int(n) for n in bins[:256]] + [0] * (256 - min(256, len(bins)))
        step = max(1, -(-max(size) // ANALYSIS_PIXELS))
        sample = image.subsample(step, step) if step > 1 else image
        pixels = sample.write_to_memory()
    except pyvips.Error as error:
        raise Refused(DAMAGED) from error
    return Image.frombytes("RGBA", (sample.width, sample.height), pixels), histogram


def _format_label(format_name: str) -> str:
    return {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}.get(format_name, format_name)


def _has_alpha(mode: str, image: Image.Image) -> bool:
    return mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in image.info
    )


def _as_rgba(image: Image.Image) -> Image.Image:
    if image.mode == "RGBA":
        return image
    if image.mode == "CMYK":
        return image.convert("RGB").convert("RGBA")
    return image.convert("RGBA")


def dpi_of(width: int, height: int, area: PrintArea) -> float:
    """The file's pixels per inch when it is fitted (whole, proportions kept) into the area."""
    return max(width / area.width_in, height / area.height_in)


def _resolution(width: int, height: int, area: PrintArea) -> Check:
    dpi = dpi_of(width, height, area)
    inches = _print_size(width, height, area)
    need_w, need_h = round(width * 300 / dpi), round(height * 300 / dpi)
    prints = f"It prints {inches} at {dpi:.0f} DPI on the {area.name.lower()}"
    if dpi < settings.PREFLIGHT_DPI_FAIL:
        return Check(
            "resolution",
            FAIL,
            "Resolution",
            f"{prints}: it will look blurry and blocky. Upload the artwork at "
            f"{need_w:,} × {need_h:,} pixels (300 DPI) or at least "
            f"{settings.PREFLIGHT_DPI_WARN} DPI.",
        )
    if dpi < settings.PREFLIGHT_DPI_WARN:
        return Check(
            "resolution",
            WARNING,
            "Resolution",
            f"{prints}: edges may look soft. For a sharp print upload {need_w:,} × "
            f"{need_h:,} pixels (300 DPI).",
        )
    return Check("resolution", PASS, "Resolution", f"{prints}: sharp.")


def _print_size(width: float, height: float, area: PrintArea) -> str:
    scale = min(area.width_in / width, area.height_in / height)
    return f"{width * scale:.1f} × {height * scale:.1f} in"


def _colour(format_name: str, mode: str, icc: bytes | None) -> Check:
    if mode == "CMYK":
        return Check(
            "colour",
            WARNING,
            "Colour",
            "The file is CMYK: the printer works in RGB, so its colours will shift. "
            "Export it as sRGB (RGB) for the colours you see on screen.",
        )
    if mode in ("L", "LA", "1", "I", "I;16", "F"):
        return Check(
            "colour",
            WARNING,
            "Colour",
            "The file is greyscale: it prints in shades of grey only. If it should be in "
            "colour, export it as RGB.",
        )
    if icc:
        name = _profile_name(icc)
        if name is None:
            return Check(
                "colour",
                WARNING,
                "Colour",
                "The file's colour profile cannot be read: colours may shift. Export it as sRGB.",
            )
        if "srgb" not in name.lower().replace(" ", ""):
            return Check(
                "colour",
                WARNING,
                "Colour",
                f"The file uses the colour profile {name!r}, not sRGB: colours may shift when "
                "printed. Export it as sRGB.",
            )
        return Check("colour", PASS, "Colour", "RGB with an sRGB profile.")
    return Check("colour", PASS, "Colour", "RGB without a colour profile: printed as sRGB.")


def _profile_name(icc: bytes) -> str | None:
    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(BytesIO(icc))).strip()
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


# --- SVG ------------------------------------------------------------------------------------


def _check_svg(data: bytes, area: PrintArea, budget: _Budget) -> Result:
    drawn = draw_svg(data, SVG_PIXELS)
    budget.check()
    with Image.open(BytesIO(drawn.png), formats=["PNG"]) as png:
        rgba = png.convert("RGBA")
    if drawn.removed_references:
        linked = drawn.removed_references
        file_check = Check(
            "file",
            WARNING,
            "File",
            f"SVG with {linked} linked file{'s' if linked != 1 else ''} (images outside the "
            "SVG), which the shop does not fetch and which will be missing from the print: "
            "embed the images in the SVG or export a PNG.",
        )
    else:
        file_check = Check("file", PASS, "File", "SVG (vector artwork).")
    checks = [
        file_check,
        Check(
            "resolution",
            PASS,
            "Resolution",
            f"Vector artwork: sharp at any size (it prints "
            f"{_print_size(drawn.width, drawn.height, area)} on the {area.name.lower()}).",
        ),
        Check("colour", PASS, "Colour", "SVG colours are sRGB."),
    ]
    small = _small_copy(rgba)
    histogram = small.getchannel("A").histogram()
    return _measure(
        small, histogram, rgba.size, area, checks, budget, format_name="SVG", has_alpha=True
    )


# --- measures on the decoded image ----------------------------------------------------------


def _measure(
    small: Image.Image,
    histogram: list[int],
    size: tuple[int, int],
    area: PrintArea,
    checks: list[Check],
    budget: _Budget,
    *,
    format_name: str,
    has_alpha: bool,
) -> Result:
    """The measures on the sampled copy (every n-th pixel: edges and borders do not need every
    pixel) and `histogram`, the alpha histogram (of every pixel, or of the copy)."""
    width, height = size
    small_alpha = small.getchannel("A")
    budget.check()
    result = Result(checks=checks, preview=small)
    result.facts = {"format": format_name, "width": width, "height": height}
    opaque = histogram[255] == sum(histogram)
    background = _border(small)
    if format_name != "SVG":
        result.facts["dpi"] = round(dpi_of(width, height, area))
    checks.append(_transparency(histogram, has_alpha and not opaque, result, small, small_alpha))
    background_check = _background(background, has_alpha=has_alpha, svg=format_name == "SVG")
    checks.append(background_check)
    box = background if background_check.status == WARNING else None
    checks.append(_extent(small, small_alpha, box, area))
    budget.check()
    return result


def _small_copy(rgba: Image.Image) -> Image.Image:
    """About ANALYSIS_PIXELS on the longer side by taking every n-th pixel (nearest: no averaging,
    so no semi-transparent pixels are made where there were none)."""
    width, height = rgba.size
    step = max(1, -(-max(width, height) // ANALYSIS_PIXELS))
    if step == 1:
        return rgba.copy()
    return rgba.resize((max(1, width // step), max(1, height // step)), Image.Resampling.NEAREST)


def _transparency(
    histogram: list[int],
    transparent_file: bool,
    result: Result,
    small: Image.Image,
    small_alpha: Image.Image,
) -> Check:
    if not transparent_file:
        return Check(
            "transparency",
            PASS,
            "Transparency",
            "No transparent pixels: the whole rectangle of the file prints.",
        )
    visible = sum(histogram[1:])
    if visible == 0:
        raise Refused("The design is empty: every pixel is transparent. Upload the artwork.")
    semi = sum(histogram[1:255])
    share = semi / visible
    result.facts["semiTransparentShare"] = round(share, 4)
    if share >= 0.005:
        result.highlight = _highlight(small, small_alpha)
    percent = f"{share * 100:.1f}%" if share < 0.1 else f"{share * 100:.0f}%"
    if share > settings.PREFLIGHT_SEMI_TRANSPARENT_WARN:
        return Check(
            "transparency",
            WARNING,
            "Transparency",
            f"{percent} of the visible artwork is semi-transparent (marked in the picture): "
            "on a garment those areas print speckled or faded, the white underbase showing "
            "through. Make them fully opaque, or fully transparent.",
        )
    return Check(
        "transparency",
        PASS,
        "Transparency",
        f"Transparent background; {percent} of the visible artwork is semi-transparent "
        "(smooth edges).",
    )


def _highlight(small: Image.Image, small_alpha: Image.Image) -> bytes:
    """The design dimmed on a light checkerboard-free grey, its semi-transparent pixels in
    magenta, HIGHLIGHT_PIXELS at most on the longer side."""
    picture = small.copy()
    picture.thumbnail((HIGHLIGHT_PIXELS, HIGHLIGHT_PIXELS), Image.Resampling.NEAREST)
    alpha = small_alpha.resize(picture.size, Image.Resampling.NEAREST)
    base = Image.new("RGB", picture.size, (225, 225, 225))
    base.paste(picture.convert("RGB"), mask=alpha)
    base = Image.blend(base, Image.new("RGB", picture.size, (255, 255, 255)), 0.55)
    semi = alpha.point([0] + [255] * 254 + [0])
    base.paste(Image.new("RGB", picture.size, MAGENTA), mask=semi)
    out = BytesIO()
    base.save(out, format="PNG", optimize=False)
    return out.getvalue()


@dataclass(frozen=True)
class _Border:
    uniform: bool
    opaque: bool
    colour: tuple[int, int, int]


def _border(small: Image.Image) -> _Border:
    """Whether the outer ring of pixels is one opaque colour (and which)."""
    width, height = small.size
    ring = max(1, min(width, height) // 100)
    strips = [
        small.crop((0, 0, width, ring)),
        small.crop((0, height - ring, width, height)),
        small.crop((0, 0, ring, height)),
        small.crop((width - ring, 0, width, height)),
    ]
    lows, highs = [255] * 4, [0] * 4
    for strip in strips:
        for band, (low, high) in enumerate(strip.getextrema()):
            lows[band], highs[band] = min(lows[band], low), max(highs[band], high)
    opaque = lows[3] == 255
    uniform = all(highs[band] - lows[band] <= UNIFORM for band in range(3))
    colour = tuple((lows[band] + highs[band]) // 2 for band in range(3))
    return _Border(uniform=uniform, opaque=opaque, colour=colour)  # type: ignore[arg-type]


def _colour_name(colour: tuple[int, int, int]) -> str:
    if min(colour) >= 235:
        return "white"
    if max(colour) <= 25:
        return "black"
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _background(border: _Border, *, has_alpha: bool, svg: bool) -> Check:
    if not (border.uniform and border.opaque):
        return Check(
            "background", PASS, "Background", "No solid background box around the artwork."
        )
    name = _colour_name(border.colour)
    white = name == "white"
    if white or (has_alpha and not svg):
        return Check(
            "background",
            WARNING,
            "Background",
            f"The artwork sits on a solid {name} background that covers every edge: it prints "
            "as a box on the garment. If the background should be the garment, export a PNG "
            "with a transparent background.",
        )
    return Check(
        "background",
        PASS,
        "Background",
        f"The design fills its rectangle with {name}: it prints as a solid block of that colour.",
    )


def _extent(
    small: Image.Image,
    small_alpha: Image.Image,
    border: _Border | None,
    area: PrintArea,
) -> Check:
    """`border`: the background box found around the artwork (measured inside it), or None."""
    width, height = small.size
    if small_alpha.getextrema()[0] < 255:
        box = small_alpha.point([0] * VISIBLE + [255] * (256 - VISIBLE)).getbbox()
    elif border is not None:
        difference = ImageChops.difference(
            small.convert("RGB"), Image.new("RGB", small.size, border.colour)
        )
        box = difference.convert("L").point([0] * 24 + [255] * 232).getbbox()
    else:
        box = (0, 0, width, height)
    if box is None:
        return Check(
            "extent",
            FAIL if small_alpha.getextrema()[0] < 255 else WARNING,
            "Size on the garment",
            "No artwork found in the file: it is empty or one flat colour. Upload the artwork.",
        )
    left, top, right, bottom = box
    # The file is fitted into the print area; the artwork prints at its share of that size.
    scale = min(area.width_in / width, area.height_in / height)
    art_w, art_h = (right - left) * scale, (bottom - top) * scale
    touches = [
        side
        for side, hit in (
            ("left", left == 0),
            ("top", top == 0),
            ("right", right == width),
            ("bottom", bottom == height),
        )
        if hit
    ]
    prints = (
        f"The artwork prints {art_w:.1f} × {art_h:.1f} in inside the "
        f"{area.width_in:g} × {area.height_in:g} in print area"
    )
    if touches and len(touches) < 4 and small_alpha.getextrema()[0] < 255:
        return Check(
            "extent",
            WARNING,
            "Size on the garment",
            f"{prints}, and runs into the {' and '.join(touches)} edge of the file: part of it "
            "may have been cut off when it was exported. Check the file shows all of it.",
        )
    if art_w * art_h < 0.25 * area.width_in * area.height_in:
        return Check(
            "extent",
            WARNING,
            "Size on the garment",
            f"{prints}: the rest of the file is empty margin, so it prints small. If it "
            "should print larger, crop the file to the artwork.",
        )
    return Check("extent", PASS, "Size on the garment", f"{prints}.")
