"""Artwork proof files: what an upload must be, and how a stored proof is served.

A proof is a PNG, JPEG or WebP image, or a PDF, of at most PROOF_MAX_BYTES. Images are opened
with Pillow and re-encoded (PNG, or JPEG for JPEG), so what is stored is pixels and nothing else:
an HTML page renamed `.png`, an SVG with a script, a polyglot file or trailing payload never
survives. PDFs are checked for their `%PDF-` header and only ever served as attachments. Files are
served by `serve_proof` (owner or operator only), never from a public media URL.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET
from PIL import Image, ImageOps, UnidentifiedImageError

from production.accounts.access import can_view_order
from production.exceptions import OrderError
from production.models import ArtworkProof

# Pillow's own bomb check warns at ~89 Mpx; a garment mockup needs far less.
MAX_PIXELS = 40_000_000
IMAGE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "PNG"}  # what each is stored as
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
# Multipart framing and the notes field on top of the file itself.
MULTIPART_SLACK = 64 * 1024
REFUSED_TYPE = "Send the proof as a PNG, JPEG or WebP image or as a PDF."


class ProofFileRefused(OrderError):
    """An upload that is not a proof the shop stores (type, size, unreadable)."""


@dataclass(frozen=True)
class CheckedProof:
    content: ContentFile
    kind: str
    content_type: str
    extension: str


def limit_text() -> str:
    return filesizeformat(settings.PROOF_MAX_BYTES)


def proof_upload_limit() -> int:
    """The largest body a proof upload may have: the file and the multipart envelope around it.
    Declared on the upload views (`body_limit`): a longer body is refused with 413 unread."""
    return settings.PROOF_MAX_BYTES + MULTIPART_SLACK


def check_proof_file(upload: UploadedFile | None) -> CheckedProof:
    """The upload as the shop stores it, or ProofFileRefused with a message for the operator."""
    if upload is None:
        raise ProofFileRefused("Choose a proof file to send.", field="file")
    if upload.size > settings.PROOF_MAX_BYTES:
        raise ProofFileRefused(f"The proof is too large: at most {limit_text()}.", field="file")
    if upload.size == 0:
        raise ProofFileRefused("The proof file is empty.", field="file")
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-":
        return CheckedProof(
            ContentFile(upload.read()), ArtworkProof.Kind.PDF, "application/pdf", "pdf"
        )
    return _reencoded_image(upload)


def _reencoded_image(upload: UploadedFile) -> CheckedProof:
    try:
        with Image.open(upload) as probe:
            if probe.format not in IMAGE_FORMATS:
                raise ProofFileRefused(REFUSED_TYPE, field="file")
            if probe.width * probe.height > MAX_PIXELS:
                raise ProofFileRefused(
                    f"The image is too large: at most {MAX_PIXELS // 1_000_000} megapixels.",
                    field="file",
                )
            probe.verify()  # a truncated or corrupt file fails here
        upload.seek(0)
        with Image.open(upload) as image:
            source_format = image.format
            image = ImageOps.exif_transpose(image)  # the orientation the camera meant
            stored = IMAGE_FORMATS[source_format]
            if stored == "JPEG":
                image = image.convert("RGB")
            elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                image = image.convert("RGBA")
            out = io.BytesIO()
            # Only pixels are written: no EXIF, ICC text chunks or trailing bytes survive.
            image.save(out, format=stored, **({"quality": 90} if stored == "JPEG" else {}))
    except ProofFileRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ProofFileRefused(REFUSED_TYPE, field="file") from None
    extension = "jpg" if stored == "JPEG" else "png"
    return CheckedProof(
        ContentFile(out.getvalue()), ArtworkProof.Kind.IMAGE, CONTENT_TYPES[stored], extension
    )


def proof_history(*, order_id: UUID | str) -> QuerySet[ArtworkProof]:
    """Every revision of an order's proof with who sent and decided it (ops page, one query)."""
    return (
        ArtworkProof.objects.filter(order_id=order_id)
        .select_related("sent_by", "decided_by")
        .order_by("revision")
    )


@require_GET
@login_required
def serve_proof(request: HttpRequest, order_id: UUID, revision: int) -> FileResponse:
    """The stored proof file, to the order's owner and to operators only.

    Images are served inline with the type they were re-encoded to; PDFs as attachments (a
    browser's PDF viewer runs scripts of its own). `nosniff` keeps browsers to that type."""
    proof = (
        ArtworkProof.objects.select_related("order")
        .only(
            "file",
            "kind",
            "content_type",
            "revision",
            "order__id",
            "order__owner_id",
            "order__reference",
        )
        .filter(order_id=order_id, revision=revision)
        .first()
    )
    if proof is None:
        raise Http404("No such proof")
    if not can_view_order(request.user, proof.order):
        raise PermissionDenied
    try:
        handle = proof.file.open("rb")
    except FileNotFoundError:
        raise Http404("The proof file is missing") from None
    name = f"{proof.order.reference}-proof-{proof.revision}.{proof.file.name.rsplit('.', 1)[-1]}"
    response = FileResponse(
        handle,
        content_type=proof.content_type,
        as_attachment=proof.kind == ArtworkProof.Kind.PDF,
        filename=name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    # Even if a browser rendered it as a document, it could run nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
