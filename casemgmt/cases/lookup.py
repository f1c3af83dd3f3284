"""Loading a case, or a record of one, from an id in a URL: anything that is not a stored id answers 404.

Ids are UUID strings; an empty or overlong value never reaches the database (PostgreSQL would compare it with a
String(36) column all the same, but a 10,000-character id is nobody's and is answered at once)."""

from __future__ import annotations

from werkzeug.exceptions import NotFound

from casemgmt.cases.models import Case
from casemgmt.extensions import db


def short_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 36


def row_or_404(model, row_id):
    found = db.session.get(model, row_id) if short_id(row_id) else None
    if found is None:
        raise NotFound()
    return found


def case_or_404(case_id: str) -> Case:
    return row_or_404(Case, case_id)
