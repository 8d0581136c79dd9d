"""Job tickets: the sheet that travels with an order's garments across the shop floor.

One page per order (reportlab): the reference as large text and as a Code 128 barcode that
encodes exactly the reference (what the scan stations read), a QR code of the order's ops page
(SITE_URL, or the address of the request that asked), the customer, garment, due date and
priority (rush and hold in a black band across the top), a colour × size × quantity × technique
table, the customer's notes and each placement's design thumbnail, captioned with its name and
print area (`ops.design_images`, a placeholder when it cannot be shown; smaller for 2+ placements,
so a ticket stays one page).

`print_tickets` is the one entry point: it refuses more than TICKET_BATCH_LIMIT orders, answers up
to TICKET_DIRECT_LIMIT with the PDF itself, and queues larger batches as a `TicketBatch` built by
the task queue's worker (`build_ticket_batch`), which reports its progress as it goes. Either way
each order gets one "Job ticket printed" event (operator-only), in one write per batch, once its
PDF exists.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from typing import TYPE_CHECKING
from uuid import UUID
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepInFrame, Paragraph, Table, TableStyle

from artwork.models import PreflightReport
from ops.design_images import Thumbnail, design_thumbnail
from ops.models import TicketBatch
from ops.selectors import placement_designs, ticket_order_ids, ticket_orders
from production.lifecycle import Delivery, Priority
from production.models import PlacementCode, ProductionOrder
from production.plumbing import metrics
from production.services.orders import order_address, record_job_tickets_printed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

PAGE_SIZES = {"A4": A4, "LETTER": LETTER}
LOAD_CHUNK = 100  # orders read per query pair while a batch is built
PROGRESS_STEPS = 20  # a batch reports its progress about this many times
MAX_TABLE_ROWS = 14  # more line items than fit: the rest are summed up in one row
MARGIN = 15 * mm
BAND = 22 * mm  # the rush / hold band across the top
QR_SIZE = 38 * mm
DESIGN_BOX = 70 * mm
NOTES_MIN_HEIGHT = 30 * mm  # the line table leaves at least this for the customer's notes
DESIGN_GAP = 3 * mm  # between the thumbnails of an order printed at 2+ placements
CAPTION = 11  # points under each thumbnail: the placement's name and print area


class TicketsRefused(Exception):
    """Nothing was printed; the message says why, in an operator's words."""


@dataclass(frozen=True)
class PrintedTickets:
    """What a print request produced: the PDF itself (small batches) or a queued batch."""

    pdf: bytes | None = None
    filename: str = ""
    batch: TicketBatch | None = None
    count: int = 0


def page_size() -> tuple[float, float]:
    try:
        return PAGE_SIZES[settings.TICKET_PAGE_SIZE.upper()]
    except KeyError:
        raise ImproperlyConfigured("TICKET_PAGE_SIZE must be A4 or LETTER.") from None


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str


def ticket_fonts() -> Fonts:
    """The tickets' typeface: TICKET_FONT and TICKET_FONT_BOLD (TrueType files, embedded in each
    PDF as the subset its pages use), or the PDF base fonts when they are not set, which print only
    Latin-1 (a name like Łukasz or Дмитрий would lose letters)."""
    return _fonts(settings.TICKET_FONT, settings.TICKET_FONT_BOLD)


@functools.cache
def _fonts(regular: str, bold: str) -> Fonts:
    if not regular and not bold:
        return Fonts("Helvetica", "Helvetica-Bold")
    fonts = Fonts(f"Ticket-{regular}", f"Ticket-Bold-{bold}")
    for name, path, setting in (
        (fonts.regular, regular, "TICKET_FONT"),
        (fonts.bold, bold, "TICKET_FONT_BOLD"),
    ):
        try:
            pdfmetrics.registerFont(TTFont(name, path))
        except Exception as error:  # a missing file, or one that is no TrueType font
            raise ImproperlyConfigured(
                f"{setting} must name a TrueType font file (set TICKET_FONT and TICKET_FONT_BOLD "
                f"together, or neither); it is {path or 'not set'!r}: {error}"
            ) from error
    return fonts


def ops_order_url(base_url: str, order_id: UUID | str) -> str:
    """What a ticket's QR code holds: the absolute address of the order's ops page."""
    return base_url.rstrip("/") + reverse("ops:order-detail", kwargs={"order_id": order_id})


def check_batch_size(count: int) -> None:
    limit = settings.TICKET_BATCH_LIMIT
    if count > limit:
        raise TicketsRefused(
            f"{count:,} orders: job tickets are printed at most {limit:,} at a time "
            f"(TICKET_BATCH_LIMIT). Narrow the filter or the selection first; nothing was printed."
        )


# --- the entry point -----------------------------------------------------------------------


def print_tickets(
    *, order_ids: Sequence[UUID], actor: AbstractBaseUser | None, base_url: str
) -> PrintedTickets:
    """Job tickets for these orders: the PDF now, or a batch queued for the worker.

    Refused (TicketsRefused, nothing printed, nothing recorded) with no order or over the limit.
    Fetching designs and drawing pages happen outside any transaction."""
    check_batch_size(len(set(order_ids)))
    ids = ticket_order_ids(list(dict.fromkeys(order_ids)))
    if not ids:
        raise TicketsRefused("Select at least one order to print its job ticket.")
    if len(ids) <= settings.TICKET_DIRECT_LIMIT:
        orders = ticket_orders(ids)
        pdf = render_tickets(orders, base_url=base_url, printed_by=_who(actor))
        record_job_tickets_printed(order_ids=[o.pk for o in orders], actor=actor)
        name = orders[0].reference if len(orders) == 1 else f"{len(orders)}-orders"
        return PrintedTickets(pdf=pdf, filename=f"job-tickets-{name}.pdf", count=len(orders))
    with transaction.atomic():
        # The task is a row of the same database (django-tasks-db): queued with the batch or not
        # at all.
        batch = TicketBatch.objects.create(
            requested_by=actor if getattr(actor, "pk", None) else None,
            order_ids=[str(pk) for pk in ids],
            base_url=base_url,
            total=len(ids),
        )
        build_ticket_batch.enqueue(str(batch.pk))
    return PrintedTickets(batch=batch, count=len(ids))


@task()
def build_ticket_batch(batch_id: str) -> str:
    """The worker's job: build one queued batch's PDF, store it, record the events.
    Returns "ready", "failed" or "skipped" (not queued: built or claimed already)."""
    claimed = TicketBatch.objects.filter(pk=batch_id, state=TicketBatch.State.QUEUED).update(
        state=TicketBatch.State.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    batch = TicketBatch.objects.select_related("requested_by").get(pk=batch_id)
    step = max(1, batch.total // PROGRESS_STEPS)

    def progress(done: int) -> None:
        if done % step == 0 and done < batch.total:
            TicketBatch.objects.filter(pk=batch.pk).update(done=done)

    try:
        orders = list(_load_in_chunks(batch.order_ids))
        pdf = render_tickets(
            orders,
            base_url=batch.base_url,
            printed_by=_who(batch.requested_by),
            on_progress=progress,
        )
        # Storage may be remote (S3 and the like): written before, not inside, the transaction.
        batch.file.save("tickets.pdf", ContentFile(pdf), save=False)
    except Exception as error:
        logger.exception("Job ticket batch %s failed", batch_id)
        TicketBatch.objects.filter(pk=batch.pk).update(
            state=TicketBatch.State.FAILED,
            error=f"The tickets could not be built ({type(error).__name__}). Try again.",
            finished_at=timezone.now(),
        )
        return "failed"
    with transaction.atomic():
        TicketBatch.objects.filter(pk=batch.pk).update(
            state=TicketBatch.State.READY,
            file=batch.file.name,
            done=len(orders),
            finished_at=timezone.now(),
        )
        record_job_tickets_printed(
            order_ids=[order.pk for order in orders],
            actor=batch.requested_by,
            batch=str(batch.pk),
        )
    return "ready"


def _load_in_chunks(order_ids: list[str]) -> Iterator[ProductionOrder]:
    for start in range(0, len(order_ids), LOAD_CHUNK):
        yield from ticket_orders(order_ids[start : start + LOAD_CHUNK])


def _who(user: AbstractBaseUser | None) -> str:
    if user is None or not getattr(user, "pk", None):
        return ""
    return user.get_full_name() or user.email or user.get_username()


def requeue_lost_batch(batch_id: str) -> bool:
    """The worker building this batch is gone: put the batch back in the queue, so its task,
    run again, builds it from the start (nothing is recorded on the orders before a build
    finishes). Returns whether it was being built (a finished batch stays as it is)."""
    return bool(
        TicketBatch.objects.filter(pk=batch_id, state=TicketBatch.State.RUNNING).update(
            state=TicketBatch.State.QUEUED, done=0, started_at=None
        )
    )


# --- old batches -----------------------------------------------------------------------------


def expire_old_batches(*, now: datetime | None = None) -> int:
    """Delete the files of batches finished more than TICKET_BATCH_KEEP_HOURS ago (the rows stay,
    marked expired, so a bookmarked status page says what happened). Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.TICKET_BATCH_KEEP_HOURS)
    # A batch still unfinished after all that time lost its worker (killed mid-build): say so.
    TicketBatch.objects.filter(
        state__in=[TicketBatch.State.QUEUED, TicketBatch.State.RUNNING], created_at__lt=cutoff
    ).update(
        state=TicketBatch.State.FAILED,
        error="The worker stopped before finishing these tickets. Print them again.",
        finished_at=now,
    )
    old = TicketBatch.objects.filter(
        state__in=[TicketBatch.State.READY, TicketBatch.State.FAILED], finished_at__lt=cutoff
    )
    expired = 0
    for batch in old.only("pk", "file"):
        expire_batch(batch)
        expired += 1
    return expired


def expire_batch(batch: TicketBatch) -> None:
    if batch.file:
        default_storage.delete(batch.file.name)
    TicketBatch.objects.filter(pk=batch.pk).update(state=TicketBatch.State.EXPIRED, file="")
    batch.state, batch.file = TicketBatch.State.EXPIRED, ""


def is_stale(batch: TicketBatch, *, now: datetime | None = None) -> bool:
    if batch.finished_at is None or batch.state == TicketBatch.State.EXPIRED:
        return False
    age = (now or timezone.now()) - batch.finished_at
    return age > timedelta(hours=settings.TICKET_BATCH_KEEP_HOURS)


# --- drawing ---------------------------------------------------------------------------------


@functools.cache
def _small(fonts: Fonts) -> ParagraphStyle:
    return ParagraphStyle("small", fontName=fonts.regular, fontSize=10, leading=13)


@functools.cache
def _table_style(fonts: Fonts) -> TableStyle:
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), fonts.bold, 11),
            ("FONT", (0, 1), (-1, -1), fonts.regular, 12),
            ("FONT", (0, -1), (-1, -1), fonts.bold, 12),
            ("LINEBELOW", (0, 0), (-1, 0), 1, colors.black),
            ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
            ("GRID", (0, 1), (-1, -2), 0.25, colors.grey),
            ("ALIGN", (2, 0), (2, -1), "RIGHT"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
    )


@metrics.timed("job_tickets")  # printshop_work_duration_seconds
def render_tickets(
    orders: Iterable[ProductionOrder],
    *,
    base_url: str,
    printed_by: str = "",
    on_progress: Callable[[int], None] | None = None,
    thumbnail: Callable[[str], Thumbnail] = design_thumbnail,
) -> bytes:
    """The PDF: one page per order, in the order given. `orders` need their garment, owner and
    line items loaded (`ops.selectors.ticket_orders`)."""
    out = BytesIO()
    size = page_size()
    canvas = Canvas(out, pagesize=size, pageCompression=1)
    canvas.setTitle("Job tickets")
    canvas.setAuthor("Print shop")
    printed_at = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    fonts = ticket_fonts()
    thumbnails: dict[str, Thumbnail] = {}  # one fetch per design within the batch
    orders = list(orders)
    checks = artwork_checks(orders)
    for done, order in enumerate(orders, start=1):
        designs = []
        for caption, url in _placements(order, checks):
            if url not in thumbnails:
                thumbnails[url] = thumbnail(url)
            designs.append((caption, thumbnails[url]))
        _draw_ticket(
            canvas,
            order,
            size=size,
            qr_url=ops_order_url(base_url, order.pk),
            designs=designs,
            footer=f"Ticket {done} of {len(orders)} · printed {printed_at}"
            + (f" by {printed_by}" if printed_by else ""),
            fonts=fonts,
        )
        canvas.showPage()
        if on_progress is not None:
            on_progress(done)
    canvas.save()
    return out.getvalue()


ARTWORK_WORDS = {
    "pending": "artwork: checking",
    "pass": "artwork OK",
    "warning": "artwork: warnings",
    "fail": "artwork FAILED",
}


def artwork_checks(orders: list[ProductionOrder]) -> dict[int, str]:
    """Each design's artwork check in a ticket's words, by design id (one query for the batch)."""
    reports = PreflightReport.objects.filter(order_id__in=[o.pk for o in orders]).values_list(
        "design_id", "verdict", "overridden_at"
    )
    return {
        design_id: "artwork accepted"
        if overridden_at is not None
        else ARTWORK_WORDS.get(verdict, verdict)
        for design_id, verdict, overridden_at in reports
    }


def _placements(
    order: ProductionOrder, checks: dict[int, str] | None = None
) -> list[tuple[str, str]]:
    """Each placement's caption (name, print area and artwork check) and design URL, front
    first. The front's design is the order's `design_url`."""
    placements: list[tuple[str, str]] = []
    for design in placement_designs(order):
        placement = design.placement
        area = f"{placement.width_in.normalize():f} × {placement.height_in.normalize():f} in"
        caption = f"{placement.name} · {area}"
        if checks and design.pk in checks:
            caption += f" · {checks[design.pk]}"
        front = placement.code == PlacementCode.FRONT
        placements.append((caption, order.design_url if front else design.url))
    if not any(d.placement.code == PlacementCode.FRONT for d in order.designs.all()):
        placements.insert(0, ("Front", order.design_url))
    return placements


def _draw_ticket(
    canvas: Canvas,
    order: ProductionOrder,
    *,
    size: tuple[float, float],
    qr_url: str,
    designs: list[tuple[str, Thumbnail]],
    footer: str,
    fonts: Fonts,
) -> None:
    width, height = size
    top = height - MARGIN
    if order.priority in (Priority.RUSH, Priority.HOLD):
        _band(canvas, order, width, top, fonts)
        top -= BAND + 6 * mm
    # The QR code, top right.
    _qr(canvas, qr_url, width - MARGIN - QR_SIZE, top - QR_SIZE)
    # The reference: large text, then its barcode.
    canvas.setFillColor(colors.black)
    canvas.setFont(fonts.bold, 40)
    canvas.drawString(MARGIN, top - 34, order.reference)
    barcode = Code128(order.reference, barHeight=16 * mm, barWidth=0.42 * mm, humanReadable=False)
    barcode.drawOn(canvas, MARGIN - barcode.lquiet, top - 34 - 8 * mm - 16 * mm)
    top -= max(QR_SIZE, 34 + 8 * mm + 16 * mm) + 8 * mm

    # The facts (left) and the design (right), side by side.
    facts_top = top
    owner = order.owner
    customer = owner.get_full_name()
    rows = [
        ("Customer", f"{customer} · {owner.email}" if customer else owner.email),
        ("Garment", order.garment.name),
        ("Priority", order.get_priority_display()),
        ("Due", order.due_date.strftime("%a %d %b %Y") if order.due_date else "not set"),
        ("Stage", f"{order.get_status_display()} · {order.production_status}"),
        ("Items", f"{order.total_quantity}"),
        ("Ship to", _ship_to(order)),
    ]
    y = facts_top
    facts_width = width - 2 * MARGIN - DESIGN_BOX - 8 * mm
    for label, value in rows:
        canvas.setFont(fonts.regular, 9)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, y - 9, label.upper())
        canvas.setFillColor(colors.black)
        points = 16 if label in ("Priority", "Due") else 13
        font = fonts.bold if label in ("Priority", "Due") else fonts.regular
        canvas.setFont(font, points)
        fitted = _fit(canvas, value, facts_width, font, points)
        canvas.drawString(MARGIN, y - 9 - points - 2, fitted)
        y -= 9 + points + 10
    designs_bottom = _designs(canvas, designs, width - MARGIN - DESIGN_BOX, facts_top, fonts)
    top = min(y, designs_bottom) - 6 * mm

    # Size × quantity × technique.
    table, table_height = _line_table(
        canvas, order, width - 2 * MARGIN, max_height=top - MARGIN - NOTES_MIN_HEIGHT, fonts=fonts
    )
    table.drawOn(canvas, MARGIN, top - table_height)
    top -= table_height + 8 * mm

    # The customer's notes, cut to the space left above the footer.
    canvas.setFont(fonts.bold, 11)
    canvas.drawString(MARGIN, top - 11, "Customer notes")
    top -= 11 + 3 * mm
    notes = Paragraph(escape(order.notes.strip() or "None.").replace("\n", "<br/>"), _small(fonts))
    room = max(top - MARGIN - 10 * mm, 12)
    _, needed = notes.wrap(width - 2 * MARGIN, 10_000)
    box = KeepInFrame(width - 2 * MARGIN, room, [notes], mode="truncate")
    _, box_height = box.wrapOn(canvas, width - 2 * MARGIN, room)
    box.drawOn(canvas, MARGIN, top - box_height)
    if needed > room:
        canvas.setFont(fonts.bold, 9)
        canvas.drawString(MARGIN, MARGIN + 2 * mm, "… the notes go on: read them on the ops page.")

    canvas.setFont(fonts.regular, 8)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.drawString(MARGIN, MARGIN - 4 * mm, footer)
    canvas.drawRightString(width - MARGIN, MARGIN - 4 * mm, order.reference)


def _ship_to(order: ProductionOrder) -> str:
    """Where the finished order goes, as the floor needs it: "Pickup", or the city and country
    (the full address is on the packing slip)."""
    if order.delivery == Delivery.PICKUP:
        return "Pickup"
    address = order_address(order)
    if address is None:
        return "Address missing"
    city = f"{address.city} {address.state_code}".strip()
    return f"{city}, {address.country_code}" if city else address.country_code


def _band(canvas: Canvas, order: ProductionOrder, width: float, top: float, fonts: Fonts) -> None:
    """A black band across the top: RUSH (and its due date), or ON HOLD. Unmissable at a glance
    and on a black-and-white printer."""
    canvas.setFillColor(colors.black)
    canvas.rect(MARGIN, top - BAND, width - 2 * MARGIN, BAND, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont(fonts.bold, 40)
    label = "RUSH" if order.priority == Priority.RUSH else "ON HOLD"
    canvas.drawString(MARGIN + 5 * mm, top - BAND + 6 * mm, label)
    canvas.setFont(fonts.bold, 14)
    aside = (
        (f"Due {order.due_date.strftime('%a %d %b')}" if order.due_date else "Rush order")
        if order.priority == Priority.RUSH
        else "Do not print until released"
    )
    canvas.drawRightString(width - MARGIN - 5 * mm, top - BAND + 8 * mm, aside)
    canvas.setFillColor(colors.black)


def _qr(canvas: Canvas, url: str, x: float, y: float) -> None:
    """The QR code of `url` (segno encodes it: reportlab's own QR widget takes ~150 ms a code),
    painted as vector squares, one rectangle per run of dark modules, so it prints sharp."""
    code = segno.make_qr(url, error="m", boost_error=False)
    rows = [list(row) for row in code.matrix_iter(border=0)]
    module = QR_SIZE / len(rows)
    path = canvas.beginPath()
    for r, row in enumerate(rows):
        top = y + QR_SIZE - (r + 1) * module
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            path.rect(x + start * module, top, (c - start) * module, module)
    canvas.setFillColor(colors.black)
    canvas.drawPath(path, stroke=0, fill=1)


def _designs(
    canvas: Canvas, designs: list[tuple[str, Thumbnail]], x: float, top: float, fonts: Fonts
) -> float:
    """The placements' thumbnails in the design column (one: the full box; 2-4: two across;
    more: three across), each captioned; returns the column's bottom."""
    columns = 1 if len(designs) == 1 else 2 if len(designs) <= 4 else 3
    box = (DESIGN_BOX - (columns - 1) * DESIGN_GAP) / columns
    bottom = top
    for index, (caption, design) in enumerate(designs):
        row, column = divmod(index, columns)
        left = x + column * (box + DESIGN_GAP)
        y = top - row * (box + CAPTION + DESIGN_GAP) - box
        _design(canvas, design, left, y, box, fonts)
        canvas.setFillColor(colors.black)
        points = 9 if columns == 1 else 7
        canvas.setFont(fonts.regular, points)
        canvas.drawString(left, y - points - 1, _fit(canvas, caption, box, fonts.regular, points))
        bottom = y - CAPTION
    return bottom


def _design(
    canvas: Canvas, design: Thumbnail, x: float, y: float, box: float, fonts: Fonts
) -> None:
    if design.image:
        canvas.drawImage(
            ImageReader(BytesIO(design.image)),
            x,
            y,
            box,
            box,
            preserveAspectRatio=True,
            anchor="c",
        )
        return
    canvas.setStrokeColor(colors.grey)
    canvas.setDash(4, 3)
    canvas.rect(x, y, box, box, stroke=1, fill=0)
    canvas.setDash()
    canvas.setFillColor(colors.HexColor("#555555"))
    points = 11 if box >= DESIGN_BOX else 8
    canvas.setFont(fonts.bold, points)
    canvas.drawCentredString(x + box / 2, y + box / 2 + points + 3, "No design preview")
    reason = Paragraph(
        escape(design.reason),
        ParagraphStyle("why", parent=_small(fonts), fontSize=8 if box >= DESIGN_BOX else 6),
    )
    _, h = reason.wrapOn(canvas, box - 4 * mm, box / 2)
    reason.drawOn(canvas, x + 2 * mm, y + box / 2 - h)
    canvas.setFillColor(colors.black)
    canvas.setStrokeColor(colors.black)


def _line_table(
    canvas: Canvas, order: ProductionOrder, width: float, *, max_height: float, fonts: Fonts
) -> tuple[Table, float]:
    """The colour × size × quantity × technique table and its height: as many lines as fit (at
    most MAX_TABLE_ROWS), the rest summed up in one row, and the total."""
    items = list(order.line_items.all())
    for shown in range(min(len(items), MAX_TABLE_ROWS), -1, -1):
        rows: list[list[str]] = [["Colour", "Size", "Quantity", "Technique"]]
        rows += [
            [i.color.name, i.size, str(i.quantity), i.get_technique_display()]
            for i in items[:shown]
        ]
        rest = items[shown:]
        if rest:
            rows.append(
                [
                    "",
                    f"+ {len(rest)} more lines",
                    str(sum(i.quantity for i in rest)),
                    "see ops page",
                ]
            )
        rows.append(["Total", "", str(sum(item.quantity for item in items)), ""])
        table = Table(rows, colWidths=[width * 0.3, width * 0.2, width * 0.15, width * 0.35])
        table.setStyle(_table_style(fonts))
        _, height = table.wrapOn(canvas, width, max_height)
        if height <= max_height:
            break
    return table, height


def _fit(canvas: Canvas, text: str, width: float, font: str, size: float) -> str:
    """`text`, cut with an ellipsis to fit `width`."""
    if canvas.stringWidth(text, font, size) <= width:
        return text
    while text and canvas.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"
