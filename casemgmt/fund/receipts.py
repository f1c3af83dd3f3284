"""A payment's receipt, kept as a document of the case (kind "receipt"), encrypted exactly as every document is
(documents/storage.py: under the case's data key, bound to the document's id).

documents.operations.upload_document is not used: it checks DOCUMENT_UPLOAD, a case action, and the finance officer
who pays has no access to the case. The payment's own policy (FUND_DISBURSE) was checked by the caller, and the
upload's own checks and storage (documents.operations.store_document) apply. Case workers download the receipt from
the case's documents tab; the finance officer sees that it exists (type, size, who, when), never its content, which
may name the person.
"""

from __future__ import annotations

from casemgmt.cases.models import Case
from casemgmt.documents import storage
from casemgmt.documents.models import Document
from casemgmt.documents.operations import DocumentError, store_document


def store(actor, case: Case, filename: str | None, data: bytes) -> Document:
    """Write the receipt's encrypted file and add its Document row with the documents' own checks (the caller's
    transaction saves it; if that fails, discard() removes the file). Raises operations.FundError for a file that is
    not a receipt we accept."""
    from casemgmt.fund.operations import FundError

    try:
        return store_document(actor, case, "receipt", filename, data)
    except DocumentError as exc:
        raise FundError(str(exc)) from None


def discard(case_id: str, document_id: str | None) -> None:
    """Remove the file of a receipt whose transaction did not commit."""
    if document_id:
        storage.remove(case_id, document_id)
