from datetime import date

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.audit import record_event
from casemgmt.cases.age import GUARDIAN_RELATIONSHIPS
from casemgmt.consent import operations, queries
from casemgmt.consent.forms import ConsentForm, WithdrawForm
from casemgmt.consent.models import SEVEN_POINTS
from casemgmt.core import submissions
from casemgmt.extensions import db

bp = Blueprint("consent", __name__)


def _new_form(case) -> ConsentForm:
    form = ConsentForm(formdata=None)
    form.obtained_on.data = date.today()
    languages = (case.person.languages or "").split(",") if case.person is not None else []
    form.language.data = languages[0] if languages and languages[0] else ""
    return form


def _page(case, form: ConsentForm, status: int = 200, withdrawing: tuple[str, WithdrawForm] | None = None):
    records = queries.records_of(case.id)
    texts = queries.revealed(records)
    record_event("consent.view", object_type="case", object_id=case.id, case_id=case.id, actor=current_user)
    db.session.commit()  # the view event
    return render_template(
        "consent/case_index.html", case=case, records=records, texts=texts, form=form, htcds=htcds,
        points=SEVEN_POINTS, purposes=operations.PURPOSE_FIELDS,
        labels={name: f.label.text for name, f in form._fields.items()},
        can_record=allowed(current_user, Action.CONSENT_RECORD, case),
        withdrawing=withdrawing, withdraw_form=WithdrawForm(formdata=None),
        # The child's assent and the guardian's consent, asked for when the person may be a child on the day.
        asks_for_guardian=queries.asks_for_guardian(case, form.obtained_on.data),
        guardian_relationships=GUARDIAN_RELATIONSHIPS,
    ), status


@bp.get("/cases/<case_id>/consent")
@requires(Action.CONSENT_VIEW)
def case_index(case_id):
    case = queries.case_for(current_user, case_id, Action.CONSENT_VIEW)
    return _page(case, _new_form(case))


@bp.post("/cases/<case_id>/consent/new")
@requires(Action.CONSENT_RECORD)
def record(case_id):
    case = queries.case_for(current_user, case_id, Action.CONSENT_RECORD)
    form = ConsentForm()
    if form.validate_on_submit():
        try:
            operations.record_consent(current_user, case, form.values())
        except operations.ConsentError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("consent.case_index", case_id=case.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Consent recorded."), "success")
            return redirect(shown)
    return _page(case, form, status=422)


@bp.post("/cases/<case_id>/consent/<record_id>/withdraw")
@requires(Action.CONSENT_RECORD)
def withdraw(case_id, record_id):
    record_ = queries.record_for(current_user, case_id, record_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            operations.withdraw_consent(current_user, record_, form.reason.data)
        except operations.ConsentError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("Consent withdrawn. It stays on record, marked as withdrawn."), "success")
            return redirect(url_for("consent.case_index", case_id=case_id))
    case = record_.case
    return _page(case, _new_form(case), status=422, withdrawing=(record_.id, form))
