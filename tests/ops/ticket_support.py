"""Reading job tickets back as a person at the printer would: the text on each page, and what a
barcode scanner and a phone camera read from the printed codes."""

from __future__ import annotations

from io import BytesIO

import pypdfium2
import zxingcpp
from pypdf import PdfReader


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(pdf)).pages]


def scanned_codes(pdf: bytes, page: int = 0, dpi: int = 200) -> dict[str, str]:
    """The codes a scanner reads off the printed page: {"Code128": ..., "QRCode": ...}."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    return {result.format.name: result.text for result in zxingcpp.read_barcodes(image)}
