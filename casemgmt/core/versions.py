"""Version counters: a save made from an older version of a record shows the conflict page instead of overwriting.

Every editable record works as the case record does (cases.operations.update_case):

- The row has a `version` column, declared as SQLAlchemy's version_id_col. Every ORM UPDATE of the row is
  `... SET version = version + 1 WHERE id = ? AND version = <the version read>`, so of two saves that read the same
  version only one can write, on any number of workers (the other gets StaleDataError). core.invariants.transition()
  moves the counter too, so a step such as a discharge or an approval is a newer version as well.
- The edit form carries the version it was filled from (a hidden field, `version`). The operation compares it with
  the record before changing anything (check(): the other save was committed before this request read the row),
  and flush() catches the rest (the other save was committed between this request's read and its write).
- Either way the operation raises EditConflict with both versions. The view rolls back and answers with
  conflict_page(): what the editor tried to save, what is saved now, who saved it and when, and the form again,
  now based on the saved version, so saving it once more is a decision made knowing the other change.
- A form sent twice is not a conflict with itself: edit forms carry a single-use submission token
  (core.submissions), so the second sending is answered as a replay (submissions.replay_if_used). And when what is
  saved now already says exactly what the editor sends, nothing would be lost: that is no conflict either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal

from flask import flash, redirect, render_template
from flask_babel import format_date, format_datetime, gettext
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casemgmt.extensions import db

# Versions start at 1: a form that brings no version (or a made-up one) never matches, and is shown the conflict.
NO_VERSION = 0

# Audit actions about a record that read it without changing it: who "last changed" a record skips them.
READ_ACTIONS = ("counseling.read_notes", "contact.view", "facility.view_occupants", "revision.view")


def base_of(raw) -> int:
    """The version an edit form was filled from, as the form sent it; NO_VERSION when missing or not a number."""
    try:
        version = int(str(raw).strip())
    except (TypeError, ValueError):
        return NO_VERSION
    return version if version > 0 else NO_VERSION


def normalise(value):
    """Values as a comparison should see them: a form's "" and the database's None are the same, lists unordered."""
    if isinstance(value, list | tuple | set):
        return sorted(str(v) for v in value)
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, str):
        value = value.strip()
    return value if value not in ("", None) else None


def differences(saved: dict, mine: dict, fields: Iterable[str]) -> list[str]:
    return [f for f in fields if normalise(saved.get(f)) != normalise(mine.get(f))]


def last_change(object_type: str, object_id) -> tuple[str | None, datetime | None]:
    """Who made the newest change to a record, and when, from the audit trail (which every change writes in its own
    transaction, so the newest change event is the one that made the version now saved)."""
    from casemgmt.accounts.models import User
    from casemgmt.audit.models import AuditEvent

    row = db.session.execute(
        select(AuditEvent.actor_id, AuditEvent.actor_name, AuditEvent.occurred_at)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id),
               AuditEvent.outcome == "success", AuditEvent.action.not_in(READ_ACTIONS))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, None
    actor_id, actor_name, at = row
    user = db.session.get(User, actor_id) if actor_id is not None else None
    return (user.display_name if user is not None else actor_name), at


class EditConflict(Exception):
    """Someone saved the record after the editor opened it. Carries what is saved now and what the editor sent, the
    fields where they differ, and who saved the version that is there now and when."""

    def __init__(self, record, object_type: str, saved: dict, mine: dict, fields: Iterable[str]):
        super().__init__("edit conflict")
        self.record = record
        self.saved = saved
        self.mine = mine
        self.differences = differences(saved, mine, fields)
        self.deleted = getattr(record, "deleted_at", None) is not None
        self.changed_by, self.changed_at = last_change(object_type, record.id)


def check(record, object_type: str, base: int | None, saved: Callable[[], dict], mine: dict,
          fields: Iterable[str]) -> None:
    """Refuse an edit made from another version than the one saved. `base` None is a caller that has just read the
    record itself (the demo, a command): only the flush guards it. When what is saved already says what the editor
    sends, nothing would be overwritten, and the edit goes on (and changes nothing)."""
    deleted = getattr(record, "deleted_at", None) is not None
    if base is None and not deleted:
        return
    if base == record.version and not deleted:
        return
    fields = list(fields)
    conflict = EditConflict(record, object_type, saved(), mine, fields)
    if conflict.differences or deleted:
        raise conflict


def flush(record, object_type: str, saved: Callable[[object], dict], mine: dict, fields: Iterable[str]) -> None:
    """Write the change now; if another save was committed between this request's read and its UPDATE (which then
    matched no row), roll back and raise EditConflict with the version that won."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        fresh = db.session.get(type(record), record.id)
        raise EditConflict(fresh, object_type, saved(fresh), mine, fields) from None


# --- the page ------------------------------------------------------------------------------------------------------


def _pairs(choices) -> list[tuple[str, str]]:
    out = []
    for choice in choices or ():
        if isinstance(choice, list | tuple) and len(choice) >= 2:
            out.append((str(choice[0]), str(choice[1])))
    return out


def display(field, value) -> str:
    """A value as the form's field names it: the label of a choice, a date in the reader's format, Yes or No."""
    if value is None or value == "" or (isinstance(value, list | tuple) and not value):
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    labels = dict(_pairs(getattr(field, "choices", None)))
    if isinstance(value, list | tuple):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if labels:
        return labels.get(str(value), str(value))
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    return str(value)


def rows(form, conflict: EditConflict) -> list[tuple[str, str, str]]:
    """(label, saved now, the editor's version) for each field where the two differ."""
    out = []
    for name in conflict.differences:
        field = form._fields.get(name)
        if field is None:
            continue
        out.append((str(field.label.text), display(field, conflict.saved.get(name)),
                    display(field, conflict.mine.get(name))))
    return out


def conflict_page(conflict: EditConflict, form, *, heading: str, action: str, submit: str, discard: str,
                  case=None):
    """The conflict page (templates/conflict.html), answered with 409. The form is shown again as the editor filled
    it, now carrying the saved version: saving it once more replaces the other save knowingly.

    A save that lost the race to an identical one (the same form sent twice at once, two people making the same
    correction) overwrote nothing: the editor is sent on to `discard` (the record) and told so, not shown a
    conflict with itself."""
    if not conflict.differences and not conflict.deleted:
        flash(gettext("Nothing had changed: what is saved now already says this."), "info")
        return redirect(discard, code=303)
    form.version.data = conflict.record.version
    return render_template(
        "conflict.html", conflict=conflict, form=form, rows=rows(form, conflict), heading=heading, action=action,
        submit=submit, discard=discard, case=case,
    ), 409
