"""A garment's catalogue: its colours, variants (colour × size) and print placements.

Every garment has one default colour with a variant per offered size, and a front placement
(the spec's `designUrl` is the front design). `ensure_catalogue` gives a garment that lacks them
(one made before colours existed, by a script, or in the admin without inlines) that default
catalogue; migration 0013 did the same for the garments that existed then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils.text import slugify

from production.exceptions import InvalidOrder
from production.models import Garment, GarmentColor, Placement, PlacementCode, Variant
from production.pricing import SizeQuantity

DEFAULT_COLOR_NAME = "Default"
DEFAULT_COLOR_HEX = "#ffffff"
FRONT_AREA_IN = (Decimal("12"), Decimal("16"))


def variant_sku(garment_id: int, color_name: str, size: str) -> str:
    """A SKU the shop can read: garment id, colour and size, e.g. "G12-BLACK-XXL"."""
    return f"G{garment_id}-{slugify(color_name).upper()}-{slugify(size).upper()}"[:64]


def ensure_catalogue(garment: Garment) -> None:
    """Give `garment` what every garment needs, adding only what is missing: a default colour
    (its first colour if it has some, else "Default"), a variant of that colour per offered size
    (upcharge from `size_upcharges`) and a front placement (12 × 16 in, included in the price).
    Safe to run again and concurrently (the unique constraints decide)."""
    try:
        with transaction.atomic():
            _ensure(garment)
    except IntegrityError:
        # Another request added the same rows first: what it added is what was missing.
        pass


def _ensure(garment: Garment) -> None:
    colors = list(garment.colors.order_by("position", "id"))
    default = next((c for c in colors if c.is_default), None)
    if default is None and colors:
        default = colors[0]
        GarmentColor.objects.filter(pk=default.pk).update(is_default=True)
    if default is None:
        default = GarmentColor.objects.create(
            garment=garment, name=DEFAULT_COLOR_NAME, hex=DEFAULT_COLOR_HEX, is_default=True
        )
    if not colors:
        Variant.objects.bulk_create(
            [
                Variant(
                    garment=garment,
                    color=default,
                    size=size,
                    sku=variant_sku(garment.pk, default.name, size),
                    upcharge=int((garment.size_upcharges or {}).get(size, 0)),
                )
                for size in garment.sizes
            ]
        )
    if not garment.placements.filter(code=PlacementCode.FRONT).exists():
        Placement.objects.create(
            garment=garment,
            code=PlacementCode.FRONT,
            name=PlacementCode.FRONT.label,
            width_in=FRONT_AREA_IN[0],
            height_in=FRONT_AREA_IN[1],
            unit_amount=0,
            position=0,
        )


def _catalogue() -> list[Prefetch]:
    return [
        Prefetch(
            "colors",
            queryset=GarmentColor.objects.order_by("position", "id").prefetch_related(
                Prefetch("variants", queryset=Variant.objects.order_by("id"))
            ),
        ),
        Prefetch("placements", queryset=Placement.objects.order_by("position", "id")),
    ]


def with_catalogue(garments: QuerySet[Garment]) -> QuerySet[Garment]:
    """`garments` with their catalogue as `resolve_order` reads it: colours (each with its
    variants) and placements, in order (three queries more, however many garments)."""
    return garments.prefetch_related(*_catalogue())


@dataclass(frozen=True)
class PlacementDesign:
    """A design asked for at a placement other than the front (the API's `designs` entry)."""

    placement: str
    url: str


@dataclass(frozen=True)
class ResolvedOrder:
    """What an order request names, found in its garment's catalogue."""

    variants: list[Variant]
    designs: list[tuple[Placement, str]]  # front first

    @property
    def extra_placements(self) -> list[Placement]:
        return [p for p, _ in self.designs if p.code != PlacementCode.FRONT]


_validate_url = URLValidator(schemes=["http", "https"])


def resolve_order(
    garment: Garment,
    sizes: Sequence[SizeQuantity],
    design_url: str,
    designs: Sequence[PlacementDesign],
) -> ResolvedOrder:
    """The variant of each line and the placement of each design, or InvalidOrder naming the
    field (`sizes`, `designs`) with every problem found: a colour or size the garment does not
    offer, a variant out of stock, a placement it does not offer, a placement twice, a second
    front design that is not `designUrl`. Reads the catalogue; writes only a missing default
    catalogue (`ensure_catalogue`). A garment read `with_catalogue` is not read again."""
    prefetch_related_objects([garment], *_catalogue())  # what is not prefetched yet
    colors, placements = list(garment.colors.all()), list(garment.placements.all())
    if not colors or not any(p.code == PlacementCode.FRONT for p in placements):
        ensure_catalogue(garment)
        garment.refresh_from_db()  # forgets the catalogue read above
        prefetch_related_objects([garment], *_catalogue())
        colors, placements = list(garment.colors.all()), list(garment.placements.all())
    errors = _line_errors(garment, colors, sizes)
    if errors:
        raise InvalidOrder({"sizes": errors})
    default = default_color(colors)
    by_name = {color.name.lower(): color for color in colors}
    variants = []
    for item in sizes:
        color = default if item.color is None else by_name[item.color.strip().lower()]
        variants.append(next(v for v in color.variants.all() if v.size == item.size))
    return ResolvedOrder(
        variants=variants, designs=_designs(garment, placements, design_url, designs)
    )


def default_color(colors: Sequence[GarmentColor]) -> GarmentColor:
    return next((color for color in colors if color.is_default), colors[0])


def _line_errors(
    garment: Garment, colors: Sequence[GarmentColor], sizes: Sequence[SizeQuantity]
) -> list[str]:
    errors: list[str] = []
    default = default_color(colors)
    by_name = {color.name.lower(): color for color in colors}
    seen: set[tuple[int, str]] = set()
    for item in sizes:
        if item.color is None:
            color = default
        else:
            color = by_name.get(item.color.strip().lower())
            if color is None:
                offered = ", ".join(c.name for c in colors)
                errors.append(
                    f"Colour {item.color!r} is not offered for {garment.name} (offered: {offered})."
                )
                continue
        if (color.pk, item.size) in seen:
            errors.append(f"Size {item.size!r} appears more than once.")
        seen.add((color.pk, item.size))
        variant = next((v for v in color.variants.all() if v.size == item.size), None)
        if variant is None:
            offered = ", ".join(_sizes_in_order(garment, color))
            where = "" if item.color is None else f" in {color.name}"
            errors.append(
                f"Size {item.size!r} is not offered{where} for {garment.name} (offered: {offered})."
            )
        elif not variant.in_stock:
            errors.append(f"{garment.name} in {color.name}, size {item.size}, is out of stock.")
    if not sizes:
        errors.append("At least one size is required.")
    return errors


def _sizes_in_order(garment: Garment, color: GarmentColor) -> list[str]:
    rank = {size: i for i, size in enumerate(garment.sizes)}
    sizes = [v.size for v in color.variants.all()]
    return sorted(sizes, key=lambda size: (rank.get(size, len(rank)), size))


def _designs(
    garment: Garment,
    placements: Sequence[Placement],
    design_url: str,
    designs: Sequence[PlacementDesign],
) -> list[tuple[Placement, str]]:
    by_code = {placement.code: placement for placement in placements}
    chosen: list[tuple[Placement, str]] = [(by_code[PlacementCode.FRONT], design_url)]
    seen = {PlacementCode.FRONT.value}
    errors: list[str] = []
    for design in designs:
        code = design.placement.strip().lower()
        if code == PlacementCode.FRONT:
            if design.url != design_url:
                errors.append(
                    "The front design is designUrl; a different front design in designs "
                    "conflicts with it."
                )
            continue
        if code in seen:
            errors.append(f"Placement {design.placement!r} appears more than once.")
            continue
        seen.add(code)
        placement = by_code.get(code)
        if placement is None:
            offered = ", ".join(p.code for p in placements)
            errors.append(
                f"Placement {design.placement!r} is not offered for {garment.name} "
                f"(offered: {offered})."
            )
            continue
        try:
            _validate_url(design.url)
        except ValidationError:
            errors.append(f"The {placement.name.lower()} design URL is not an http(s) URL.")
            continue
        if len(design.url) > 2048:
            errors.append(
                f"The {placement.name.lower()} design URL is longer than 2048 characters."
            )
            continue
        chosen.append((placement, design.url))
    if errors:
        raise InvalidOrder({"designs": errors})
    return chosen


def set_in_stock(*, variant_ids: Iterable[int], in_stock: bool) -> int:
    """Mark these variants in or out of stock; return how many changed. An order for a variant
    out of stock is refused from then on (orders already placed keep it). An order's cached
    JSON shows the garment's new stock within `order_reads.TTL`."""
    return (
        Variant.objects.filter(pk__in=list(variant_ids))
        .exclude(in_stock=in_stock)
        .update(in_stock=in_stock)
    )


@dataclass(frozen=True)
class ColorSpec:
    name: str
    hex: str
    sizes: Sequence[str] | None = None  # None: every size of the garment
    default: bool = False


@dataclass(frozen=True)
class PlacementSpec:
    code: str
    width_in: Decimal
    height_in: Decimal
    unit_amount: int = 0
    name: str = ""


def upsert_catalogue(
    garment: Garment, *, colors: Sequence[ColorSpec], placements: Sequence[PlacementSpec]
) -> None:
    """Offer these colours (their variants priced by `size_upcharges`) and placements, adding
    what is missing and updating what exists (by colour name, by placement code); nothing is
    removed. A "Default" colour from migration 0013 becomes the new default colour, so the line
    items that have it keep it. For catalogue loads (the demo data, tests)."""
    with transaction.atomic():
        default_spec = next((spec for spec in colors if spec.default), None)
        current = {c.name.lower(): c for c in garment.colors.all()}
        placeholder = current.get(DEFAULT_COLOR_NAME.lower())
        if default_spec is not None:
            if placeholder is not None and default_spec.name.lower() not in current:
                placeholder.name = default_spec.name
                placeholder.save(update_fields=["name"])  # its variants keep their SKUs
            garment.colors.exclude(name__iexact=default_spec.name).update(is_default=False)
        for position, spec in enumerate(colors):
            color, _ = GarmentColor.objects.update_or_create(
                garment=garment,
                name__iexact=spec.name,
                defaults={
                    "name": spec.name,
                    "hex": spec.hex,
                    "position": position,
                    "is_default": spec.default,
                },
                create_defaults={
                    "garment": garment,
                    "name": spec.name,
                    "hex": spec.hex,
                    "position": position,
                    "is_default": spec.default,
                },
            )
            for size in spec.sizes if spec.sizes is not None else garment.sizes:
                Variant.objects.get_or_create(
                    color=color,
                    size=size,
                    defaults={
                        "garment": garment,
                        "sku": variant_sku(garment.pk, color.name, size),
                        "upcharge": int((garment.size_upcharges or {}).get(size, 0)),
                    },
                )
        for position, spec in enumerate(placements):
            Placement.objects.update_or_create(
                garment=garment,
                code=spec.code,
                defaults={
                    "name": spec.name or PlacementCode(spec.code).label,
                    "width_in": spec.width_in,
                    "height_in": spec.height_in,
                    "unit_amount": spec.unit_amount,
                    "position": position,
                },
            )
    ensure_catalogue(garment)
