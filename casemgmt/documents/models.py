from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casemgmt.cases.models import new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import EncryptedBytes, Sealed
from casemgmt.extensions import db
from casemgmt.htcds import ValueSet

DOCUMENT_KINDS = ValueSet("DocumentKind", {
    "identity_document": _l("Identity document scan"),
    "consent_form": _l("Signed consent form"),
    "travel_document": _l("Travel document"),
    "receipt": _l("Receipt for assistance paid"),
    "other": _l("Other"),
})


class Document(db.Model):
    """A file about the person (a passport scan, a signed consent form). The content lives outside the database,
    encrypted under the case's data key (see documents.storage); this row holds what the list pages need: the kind,
    the type detected from the content, the size, and the original file name, encrypted."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    # Detected from the first bytes of the content, never taken from the browser.
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    filename: Mapped[Sealed | None] = mapped_column(EncryptedBytes)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("Case")
    uploaded_by = relationship("User")

    __table_args__ = (Index("ix_documents_case_uploaded", "case_id", "uploaded_at"),)

    @property
    def encryption_case_id(self) -> str:
        return self.case_id
