"""A payment's receipt, kept as a document of the case (kind "receipt"), encrypted exactly as every document is
(documents/storage.py: under the case's data key, bound to the document's id).

documents.operations.upload_document is not used: it checks DOCUMENT_UPLOAD, a case action, and the finance officer
who pays has no access to the case. The payment's own policy (FUND_DISBURSE) was checked by the caller; the same
size limit and content checks as an upload apply here. Case workers download the receipt from the case's documents
tab; the finance officer sees that it exists (type, size, who, when), never its content, which may name the person.
"""

from __future__ import annotations

from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from casemgmt import diskspace
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.documents import filetypes, storage
from casemgmt.documents.models import Document
from casemgmt.documents.operations import clean_filename
from casemgmt.extensions import db


def store(actor, case: Case, filename: str | None, data: bytes) -> Document:
    """Write the receipt's encrypted file and add its Document row (the caller's transaction saves it; if that
    fails, discard() removes the file). Raises operations.FundError for a file that is not a receipt we accept."""
    from casemgmt.fund.operations import FundError

    if len(data) > storage.max_upload_bytes():
        raise RequestEntityTooLarge()
    if not data:
        raise FundError(gettext("The receipt's file is empty."))
    file_type = filetypes.detect(data)
    if file_type is None:
        raise FundError(gettext(
            "The receipt is not a PDF, PNG or JPEG file (judged by its content, not its name). Scan or photograph "
            "it in one of these formats and try again. Nothing was saved."))
    document = Document(id=new_uuid(), case_id=case.id, kind="receipt", content_type=file_type.content_type,
                        size=len(data), uploaded_by_id=actor.id, uploaded_at=utcnow())
    seal(document, "filename", clean_filename(filename) or None)
    try:
        storage.write(case.id, document.id, data)
    except diskspace.StorageFull:
        raise FundError(gettext(
            "The receipt could not be stored because the server's storage is full. Nothing was saved. Tell your "
            "administrator.")) from None
    db.session.add(document)  # only once its file exists: a refused receipt leaves no row
    record_event("document.upload", object_type="document", object_id=document.id, case_id=case.id, actor=actor,
                 details={"kind": "receipt", "size": len(data), "content_type": file_type.content_type})
    return document


def discard(case_id: str, document_id: str | None) -> None:
    """Remove the file of a receipt whose transaction did not commit."""
    if document_id:
        storage.remove(case_id, document_id)

