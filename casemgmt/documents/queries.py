from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, authorize
from casemgmt.crypto import unseal
from casemgmt.documents.models import Document
from casemgmt.extensions import db


@dataclass
class DocumentRow:
    document: Document
    filename: str | None


def case_documents(actor, case) -> list[DocumentRow]:
    authorize(actor, Action.DOCUMENT_DOWNLOAD, case)
    rows = db.session.scalars(
        select(Document)
        .where(Document.case_id == case.id)
        .options(selectinload(Document.uploaded_by))
        .order_by(Document.uploaded_at.desc(), Document.id)
    ).all()
    return [DocumentRow(document=d, filename=unseal(d, "filename")) for d in rows]
