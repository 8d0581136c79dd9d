"""The packing slip of one shipment: a page that goes in the parcel and tells the packer what goes
in it. The ship-to address, the items of that parcel (size, colour, quantity) and the order's
reference as text and as a Code 128 barcode (scanned at the packing table as the job ticket's is).
Drawn with reportlab, in the job tickets' page size and fonts."""

from __future__ import annotations

from io import BytesIO

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ops.tickets import page_size, ticket_fonts
from production.addresses import country_name
from production.lifecycle import Delivery
from production.models import Shipment
from production.services.orders import order_address

MARGIN = 15 * mm
ROW = 7 * mm


def render_packing_slip(shipment: Shipment) -> bytes:
    """The slip's PDF. `shipment` with its order (and its address, garment) and its items (and
    their line items and colours) loaded, or they are read here."""
    order = shipment.order
    fonts = ticket_fonts()
    width, height = page_size()
    out = BytesIO()
    canvas = Canvas(out, pagesize=(width, height), pageCompression=1)
    canvas.setTitle(f"Packing slip {order.reference}")
    top = height - MARGIN

    canvas.setFont(fonts.regular, 11)
    canvas.drawString(MARGIN, top - 11, "PACKING SLIP")
    canvas.setFont(fonts.bold, 30)
    canvas.drawString(MARGIN, top - 44, order.reference)
    barcode = Code128(order.reference, barHeight=14 * mm, barWidth=0.42 * mm, humanReadable=False)
    barcode.drawOn(canvas, width - MARGIN - barcode.width + barcode.rquiet, top - 44)
    top -= 44 + 12 * mm

    canvas.setFont(fonts.regular, 9)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.drawString(MARGIN, top, "SHIP TO")
    canvas.setFillColor(colors.black)
    top -= 6 * mm
    for line in ship_to_lines(order):
        canvas.setFont(fonts.regular, 13)
        canvas.drawString(MARGIN, top, line)
        top -= 6 * mm
    top -= 4 * mm

    canvas.setFont(fonts.regular, 10)
    if shipment.kind == Shipment.Kind.PICKUP:
        sent = f"Picked up at the shop on {shipment.shipped_on:%Y-%m-%d}"
    else:
        sent = (
            f"Shipped {shipment.shipped_on:%Y-%m-%d} by {shipment.get_carrier_display()}, "
            f"tracking {shipment.tracking_number}"
        )
    canvas.drawString(MARGIN, top, sent)
    top -= 5 * mm
    canvas.drawString(MARGIN, top, f"Garment: {order.garment.name}")
    top -= 10 * mm

    columns = (MARGIN, MARGIN + 35 * mm, width - MARGIN - 25 * mm)
    canvas.setFont(fonts.bold, 11)
    for x, title in zip(columns, ("Size", "Colour", "Quantity"), strict=True):
        canvas.drawString(x, top, title)
    top -= 2 * mm
    canvas.line(MARGIN, top, width - MARGIN, top)
    top -= ROW - 2 * mm
    total = 0
    for item in shipment.items.all():
        if top < MARGIN + 2 * ROW:
            canvas.showPage()
            top = height - MARGIN - ROW
            canvas.setFont(fonts.regular, 10)
            canvas.drawString(MARGIN, top + ROW - 4 * mm, f"{order.reference} (continued)")
        line = item.line_item
        canvas.setFont(fonts.regular, 12)
        canvas.drawString(columns[0], top, line.size)
        canvas.drawString(columns[1], top, line.color.name)
        canvas.drawString(columns[2], top, str(item.quantity))
        total += item.quantity
        top -= ROW
    canvas.line(MARGIN, top + ROW - 2 * mm, width - MARGIN, top + ROW - 2 * mm)
    canvas.setFont(fonts.bold, 12)
    canvas.drawString(columns[0], top - 1 * mm, "Items in this parcel")
    canvas.drawString(columns[2], top - 1 * mm, str(total))
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def ship_to_lines(order: object) -> list[str]:
    """The address as it goes on the label, one line each; or why there is none."""
    if order.delivery == Delivery.PICKUP:
        return ["Pickup at the shop"]
    address = order_address(order)
    if address is None:
        return ["Address missing"]
    parts = (address.city, address.state_code, address.postal_code)
    city = " ".join(part for part in parts if part)
    country = country_name(address.country_code)
    lines = [address.name, address.address1, address.address2, city, country]
    if address.phone:
        lines.append(f"Phone {address.phone}")
    return [line for line in lines if line]
