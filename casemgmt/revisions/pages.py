"""The pages every correctable record shares: correcting it (and deleting it), and reading its earlier versions."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from casemgmt.core import submissions, versions
from casemgmt.extensions import db
from casemgmt.revisions.forms import DeleteForm


def delete_form_for(record) -> DeleteForm:
    form = DeleteForm(formdata=None)
    form.version.data = record.version
    return form


def correction_page(*, heading: str, case, form, action: str, back: str, delete_form=None,
                    delete_action: str | None = None, history_url: str | None = None, help: dict | None = None,
                    status: int = 200):
    """The correction form, and beside it the deletion form (only when the policy allows the user to delete)."""
    return render_template(
        "revisions/correct.html", heading=heading, case=case, form=form, action=action, back=back,
        delete_form=delete_form, delete_action=delete_action, history_url=history_url, help=help or {},
    ), status


def history_page(kind, record, versions, *, back: str | None, case=None):
    """A record's earlier versions; the caller has committed history()'s audit event first."""
    return render_template("revisions/history.html", kind=kind, record=record, versions=versions, back=back,
                           case=case, deleted=getattr(record, "deleted_at", None))


def save_correction(record, form, *, save: Callable[[], bool], refused: type[Exception], shown: str, done: str,
                    conflict: Callable[[versions.EditConflict], dict], invalid: Callable[[], object],
                    before_conflict: Callable[[versions.EditConflict], None] | None = None):
    """The POST of a correction form, the same for every correctable record: save (through `save`, which returns
    whether anything changed), or show the conflict page (`conflict` gives its heading, action, discard...), or the
    feature's refusal on the form again (`invalid`). `before_conflict` audits what the conflict page will show."""
    if form.validate_on_submit():
        try:
            changed = save()
        except versions.EditConflict as clash:
            db.session.rollback()
            submissions.replay_if_used(form)  # the same correction sent twice is not a conflict with itself
            if before_conflict is not None and clash.differences and not clash.deleted:
                before_conflict(clash)
                db.session.commit()
            return versions.conflict_page(clash, form, submit=_("Save the correction"), **conflict(clash))
        except refused as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            submissions.consume(form, shown)
            db.session.commit()
            flash(done if changed else _("Nothing had changed."), "success" if changed else "info")
            return redirect(shown)
    if record.is_deleted:
        raise NotFound()
    return invalid()


def delete_posted(record, *, delete: Callable[[str, int | None], None], refused: type[Exception], listed: str,
                  correct_url: str, done: str):
    """The POST of a deletion with a reason, the same for every correctable record. A refusal or an invalid form
    goes back to the correction page, where the deletion form is; a deletion sent twice finds the first saved."""
    form = DeleteForm()
    if form.validate_on_submit():
        try:
            delete(form.deletion_reason.data, versions.base_of(form.version.data))
        except refused as exc:
            db.session.rollback()
            submissions.replay_if_used(form)  # a deletion sent twice: the first one was saved
            flash(str(exc), "danger")
            return redirect(listed if record.is_deleted else correct_url)
        submissions.consume(form, listed)
        db.session.commit()
        flash(done, "success")
        return redirect(listed)
    if record.is_deleted:
        raise NotFound()
    for name, errors in form.errors.items():
        if name != "submission_token":  # that field flashes its own refusal
            for error in errors:
                flash(str(error), "danger")
    return redirect(correct_url)
