from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.core import submissions, versions
from casemgmt.counseling import corrections, operations, queries
from casemgmt.counseling.forms import CorrectSessionForm, SessionForm
from casemgmt.counseling.models import SESSION_TYPES
from casemgmt.extensions import db
from casemgmt.revisions import operations as revisions
from casemgmt.revisions import pages

bp = Blueprint("counseling", __name__, url_prefix="/cases/<case_id>/counseling")


@bp.get("")
@requires(Action.COUNSELING_VIEW)
def case_index(case_id):
    case = operations.load_case(current_user, Action.COUNSELING_VIEW, case_id)
    sessions = queries.sessions_of(case)
    notes = operations.read_notes(current_user, sessions)
    db.session.commit()  # the reading events
    return render_template(
        "counseling/case.html", case=case, sessions=sessions, notes=notes, types=SESSION_TYPES,
        readable={s.id for s in sessions if operations.may_read_notes(current_user, s)},
        can_record=allowed(current_user, Action.COUNSELING_RECORD, case),
        correctable={s.id for s in sessions if allowed(current_user, Action.COUNSELING_CORRECT, s)},
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Action.COUNSELING_RECORD)
def create(case_id):
    case = operations.load_case(current_user, Action.COUNSELING_RECORD, case_id)
    form = SessionForm()
    if request.method == "GET":
        form.held_on.data = date.today()
    if form.validate_on_submit():
        try:
            session = operations.record_session(current_user, case, form.values())
        except operations.CounselingError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("counseling.view", case_id=case_id, session_id=session.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Session recorded."), "success")
            return redirect(shown)
    status = 200 if request.method == "GET" else 422
    return render_template("counseling/form.html", case=case, form=form), status


@bp.get("/<session_id>")
@requires(Action.COUNSELING_VIEW)
def view(case_id, session_id):
    session = operations.load_session(current_user, case_id, session_id)
    may_read = operations.may_read_notes(current_user, session)
    notes = operations.read_notes(current_user, [session]) if may_read else {}
    db.session.commit()  # the reading event
    return render_template(
        "counseling/session.html", case=session.case, session=session, may_read=may_read,
        notes=notes.get(session.id), types=SESSION_TYPES,
        can_correct=allowed(current_user, Action.COUNSELING_CORRECT, session),
        has_history=may_read and bool(revisions.has_revisions(corrections.KIND, [session.id])),
    )


# Corrections (issue 12, item 6) ----------------------------------------------------------------------------------


def _correction_page(session, form, delete_form=None, status: int = 200):
    case = session.case
    return pages.correction_page(
        heading=_("Correct the session of %(day)s", day=format_date(session.held_on)), case=case, form=form,
        action=url_for("counseling.correct", case_id=case.id, session_id=session.id),
        back=url_for("counseling.view", case_id=case.id, session_id=session.id),
        delete_form=(delete_form or pages.delete_form_for(session))
        if allowed(current_user, Action.COUNSELING_DELETE, session) else None,
        delete_action=url_for("counseling.delete", case_id=case.id, session_id=session.id),
        history_url=url_for("counseling.history", case_id=case.id, session_id=session.id)
        if revisions.has_revisions(corrections.KIND, [session.id]) else None,
        help={"notes": _("Encrypted. Readable only by the author, the assigned caseworker and supervisors.")},
        status=status,
    )


@bp.route("/<session_id>/correct", methods=["GET", "POST"])
@requires(Action.COUNSELING_CORRECT)
def correct(case_id, session_id):
    posted = request.method == "POST"
    session = operations.load_session(current_user, case_id, session_id, Action.COUNSELING_CORRECT, deleted=posted)
    if not posted:
        operations.read_notes(current_user, [session])  # the form shows the notes: an audited reading
        form = CorrectSessionForm(formdata=None, data={**corrections.snapshot(session), "version": session.version})
        db.session.commit()
        return _correction_page(session, form)
    form = CorrectSessionForm()
    return pages.save_correction(
        session, form, refused=operations.CounselingError,
        save=lambda: corrections.correct_session(current_user, session, form.values(),
                                                 versions.base_of(form.version.data), form.correction_reason.data),
        shown=url_for("counseling.view", case_id=case_id, session_id=session_id),
        done=_("Session corrected. The earlier version is kept in its history."),
        # the conflict page shows the saved notes: an audited reading
        before_conflict=lambda clash: operations.read_notes(current_user, [clash.record]),
        conflict=lambda clash: {
            "heading": _("Someone else changed this session while you were correcting it"),
            "action": url_for("counseling.correct", case_id=case_id, session_id=session_id),
            "case": clash.record.case, "discard": url_for("counseling.case_index", case_id=case_id)},
        invalid=lambda: _correction_page(session, form, status=422))


@bp.post("/<session_id>/delete")
@requires(Action.COUNSELING_DELETE)
def delete(case_id, session_id):
    session = operations.load_session(current_user, case_id, session_id, Action.COUNSELING_DELETE, deleted=True)
    return pages.delete_posted(
        session, refused=operations.CounselingError,
        delete=lambda reason, base: corrections.delete_session(current_user, session, reason, base),
        listed=url_for("counseling.case_index", case_id=case_id),
        correct_url=url_for("counseling.correct", case_id=case_id, session_id=session_id),
        done=_("Session deleted. It no longer appears anywhere; its history keeps who deleted it and why."))


@bp.get("/<session_id>/history")
@requires(Action.COUNSELING_READ_NOTES)
def history(case_id, session_id):
    session = operations.load_session(current_user, case_id, session_id, Action.COUNSELING_READ_NOTES, deleted=True)
    shown = revisions.history(current_user, corrections.KIND, session)
    db.session.commit()  # the reading's audit event
    back = None if session.is_deleted else url_for("counseling.view", case_id=case_id, session_id=session_id)
    return pages.history_page(corrections.KIND, session, shown, back=back, case=session.case)
