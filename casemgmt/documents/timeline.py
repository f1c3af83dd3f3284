"""Uploaded documents on the case timeline (kind only: the file name stays on the documents page)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access import Action, allowed
from casemgmt.core.journey import TimelineEntry
from casemgmt.documents.models import DOCUMENT_KINDS, Document
from casemgmt.extensions import db


def entries(actor, case) -> list[TimelineEntry]:
    if not allowed(actor, Action.DOCUMENT_DOWNLOAD, case):
        return []
    url = url_for("documents.case_index", case_id=case.id)
    rows = db.session.scalars(
        select(Document).where(Document.case_id == case.id).options(selectinload(Document.uploaded_by))
    )
    return [
        TimelineEntry(
            at=d.uploaded_at, kind="document", title=gettext("Document uploaded"), detail=DOCUMENT_KINDS.label(d.kind),
            actor=d.uploaded_by.display_name if d.uploaded_by else "", url=url,
        )
        for d in rows
    ]
