"""Checks on uploaded evidence: size, a safe name, and a type allowed by its content.

The type is read from the file's first bytes (``filetype``), not from its name or the browser's
content type; the name's extension must agree with what the content is.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

import filetype
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from .errors import InvalidInput

# Detected kind → extensions a file of that kind may carry.
ALLOWED = {
    "pdf": {".pdf"},
    "jpg": {".jpg", ".jpeg"},
    "png": {".png"},
    "gif": {".gif"},
    "bmp": {".bmp"},
    "tif": {".tif", ".tiff"},
    "webp": {".webp"},
    "docx": {".docx"},
    "xlsx": {".xlsx"},
    "pptx": {".pptx"},
    # OLE2 compound files: the old Office formats and WPS's own.
    "doc": {".doc", ".xls", ".ppt", ".wps", ".et", ".dps"},
    "xls": {".doc", ".xls", ".ppt", ".wps", ".et", ".dps"},
    "ppt": {".doc", ".xls", ".ppt", ".wps", ".et", ".dps"},
    "odt": {".odt"},
    "ods": {".ods"},
    "odp": {".odp"},
}
ALLOWED_EXTENSIONS = sorted({ext for exts in ALLOWED.values() for ext in exts})


@dataclass(frozen=True)
class CheckedFile:
    upload: UploadedFile
    name: str
    content_type: str
    size: int
    sha256: str


def safe_name(name: str) -> str:
    """The file's own name, refused when it tries to be a path."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("The file has no name."), field="evidence")
    if "/" in name or "\\" in name or "\x00" in name or name in {".", ".."} or name.startswith("."):
        raise InvalidInput(
            _("The file name “%(name)s” is not allowed: it looks like a path.") % {"name": name[:80]}, field="evidence"
        )
    if len(name) > 200:
        raise InvalidInput(_("The file name is too long (at most 200 characters)."), field="evidence")
    return name


def check_upload(upload: UploadedFile) -> CheckedFile:
    name = safe_name(upload.name)
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size is None or upload.size == 0:
        raise InvalidInput(_("The file “%(name)s” is empty.") % {"name": name}, field="evidence")
    if upload.size > limit:
        raise InvalidInput(
            _("The file “%(name)s” is too large (at most %(limit)s).") % {"name": name, "limit": filesizeformat(limit)},
            field="evidence",
        )
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    ext = PurePosixPath(name).suffix.lower()
    if kind is None or kind.extension not in ALLOWED or ext not in ALLOWED[kind.extension]:
        raise InvalidInput(
            _("The file “%(name)s” is not an allowed type. Allowed: PDF, images and office documents (%(exts)s).")
            % {"name": name, "exts": " ".join(ALLOWED_EXTENSIONS)},
            field="evidence",
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedFile(upload=upload, name=name, content_type=kind.mime, size=upload.size, sha256=digest.hexdigest())


@dataclass(frozen=True)
class EvidenceReference:
    """Evidence named but not uploaded: a file name or document number from an imported ledger."""

    reference: str


def check_uploads(uploads, *, required: bool) -> list[CheckedFile | EvidenceReference]:
    uploads = [u for u in (uploads or []) if u is not None]
    if required and not uploads:
        raise InvalidInput(_("Attach at least one evidence file."), field="evidence")
    if len(uploads) > 20:
        raise InvalidInput(_("At most 20 files at once."), field="evidence")
    return [u if isinstance(u, EvidenceReference) else check_upload(u) for u in uploads]


@contextmanager
def files_removed_on_failure():
    """Collects the names of files written to storage; if anything fails before the work is done
    (the transaction that records them included), they are removed again."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
