from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.core import submissions
from casemgmt.counseling import operations, queries
from casemgmt.counseling.forms import SessionForm
from casemgmt.counseling.models import SESSION_TYPES
from casemgmt.extensions import db

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
    )
