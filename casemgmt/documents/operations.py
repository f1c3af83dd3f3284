"""Uploading and downloading a case's documents. Each verb checks its policy, writes its audit event (kind and size,
never the file name), and leaves the commit to the caller."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext
from werkzeug.exceptions import NotFound, RequestEntityTooLarge
from werkzeug.utils import secure_filename

from casemgmt import diskspace
from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal, unseal
from casemgmt.documents import filetypes, storage
from casemgmt.documents.models import DOCUMENT_KINDS, Document
from casemgmt.extensions import db

MAX_FILENAME = 200


class DocumentError(ValueError):
    """An upload that cannot be accepted; the message is shown to the user (already translated)."""


def clean_filename(name: str | None) -> str:
    """The name to show in lists: no folders, no control characters, bounded. Escaping is the template's job."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    return " ".join(name.split())[:MAX_FILENAME].strip()


def download_name(original: str | None, file_type: filetypes.FileType | None) -> str:
    """A safe ASCII name for Content-Disposition, with the extension of the detected type (never the sender's)."""
    stem = secure_filename(clean_filename(original)).rsplit(".", 1)[0][:80] or "document"
    extension = file_type.extension if file_type else "bin"
    return f"{stem}.{extension}"


def load_case(actor, case_id: str, action: Action) -> Case:
    case = db.session.get(Case, case_id) if storage.is_id(case_id) else None
    if case is None:
        raise NotFound()
    authorize(actor, action, case)
    return case


def upload_document(actor, case: Case, kind: str, filename: str | None, data: bytes) -> Document:
    authorize(actor, Action.DOCUMENT_UPLOAD, case)
    return store_document(actor, case, kind, filename, data)


def store_document(actor, case: Case, kind: str, filename: str | None, data: bytes) -> Document:
    """Check the file, write it encrypted and add its row, for a caller that has checked its own policy (an upload;
    a payment's receipt, which the finance officer records without access to the case)."""
    if kind not in DOCUMENT_KINDS:
        raise DocumentError(gettext("Choose what kind of document this is."))
    if len(data) > storage.max_upload_bytes():
        raise RequestEntityTooLarge()
    if not data:
        raise DocumentError(gettext("The file is empty."))
    file_type = filetypes.detect(data)
    if file_type is None:
        raise DocumentError(gettext(
            "This file is not a PDF, PNG or JPEG document (judged by its content, not its name). Scan or save the "
            "document in one of these formats and upload it again."
        ))
    document = Document(
        id=new_uuid(), case_id=case.id, kind=kind, content_type=file_type.content_type, size=len(data),
        uploaded_by_id=actor.id, uploaded_at=utcnow(),
    )
    seal(document, "filename", clean_filename(filename) or None)
    try:
        storage.write(case.id, document.id, data)
    except diskspace.StorageFull:
        # storage.write has logged where and how much room there is; the user can only pass it on.
        raise DocumentError(gettext(
            "The upload could not be stored because the server's storage is full. Nothing was saved. Tell your "
            "administrator."
        )) from None
    db.session.add(document)  # only once its file exists: a refused upload leaves no row
    record_event("document.upload", object_type="document", object_id=document.id, case_id=case.id, actor=actor,
                 details={"kind": kind, "size": len(data), "content_type": file_type.content_type})
    return document


def discard_file(document: Document) -> None:
    """Remove the file of an upload whose transaction did not commit."""
    storage.remove(document.case_id, document.id)


def open_document(actor, case_id: str, document_id: str) -> tuple[Document, bytes, str]:
    """The document's content and a safe download name; audited. Unknown ids and other cases answer 404."""
    document = db.session.get(Document, document_id) if storage.is_id(document_id) else None
    if document is None or document.case_id != case_id:
        raise NotFound()
    authorize(actor, Action.DOCUMENT_DOWNLOAD, document)
    try:
        data = storage.read(document.case_id, document.id)
    except storage.MissingFile:
        raise NotFound() from None
    record_event("document.download", object_type="document", object_id=document.id, case_id=document.case_id,
                 actor=actor, details={"kind": document.kind, "size": document.size})
    file_type = filetypes.BY_CONTENT_TYPE.get(document.content_type)
    return document, data, download_name(unseal(document, "filename"), file_type)
