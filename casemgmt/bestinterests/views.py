"""The case's "Best interests" tab and its forms: assessments, the panel's determinations, guardians and care
arrangements. Thin: the operations hold the rules; a refusal rolls back, says why and shows the form again (422)
with what was typed."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.guard import requires
from casemgmt.bestinterests import forms, operations, queries
from casemgmt.bestinterests.models import (
    BIA_SECTIONS,
    BID_STATUSES,
    CARE_KINDS,
    DECISIONS,
    GUARDIAN_KINDS,
    PANEL_VOTES,
    RECOMMENDATIONS,
    RECOMMENDED_FOR,
)
from casemgmt.bestinterests.operations import BestInterestsError
from casemgmt.core import submissions, versions
from casemgmt.extensions import db
from casemgmt.families.models import ASSESSMENT_RECOMMENDATIONS, ASSESSMENT_SAFETY

bp = Blueprint("bestinterests", __name__)

# What each durable step needs, as the page says it (the guards check the same: RECOMMENDED_FOR).
STEPS = ("return", "stay", "placement", "reunification")


def _step_needs() -> dict[str, str]:
    return {
        "return": _("A return needs a determination recommending return."),
        "stay": _("Staying in the destination country needs a determination recommending it."),
        "placement": _("A long-term placement needs a determination recommending it."),
        "reunification": _("A family reunification needs a determination recommending it."),
    }


def _labels() -> dict:
    return {"decisions": DECISIONS, "recommendations": RECOMMENDATIONS, "statuses": BID_STATUSES,
            "votes": PANEL_VOTES, "guardian_kinds": GUARDIAN_KINDS, "care_kinds": CARE_KINDS,
            "visit_safety": ASSESSMENT_SAFETY, "visit_recommendations": ASSESSMENT_RECOMMENDATIONS}


def _back(case_id: str):
    return redirect(url_for("bestinterests.case_index", case_id=case_id))


def _not_offered(case) -> bool:
    """The forms are offered for a child's open case only (the tab says why otherwise); a form reached by its
    address for anyone else sends the user back to the tab, since the operation would refuse it."""
    return not queries.is_child(case) or case.stage == "closed"


# The tab -----------------------------------------------------------------------------------------------------------

@bp.get("/cases/<case_id>/best-interests")
@requires(Action.BEST_INTERESTS_VIEW)
def case_index(case_id):
    case = operations.open_page(current_user, case_id)
    db.session.commit()  # the view event
    child = queries.is_child(case)
    assessments = queries.assessments_of(case.id)
    determinations = queries.determinations_of(case.id)
    guardians = queries.guardians_of(case.id)
    care = queries.care_of(case.id)
    standing = queries.latest_determined(case.id)
    ids = {a.recorded_by_id for a in assessments} | {d.proposed_by_id for d in determinations}
    ids |= {m.user_id for d in determinations for m in d.panel}
    ids |= {g.recorded_by_id for g in guardians} | {c.recorded_by_id for c in care}
    can_record = child and case.stage != "closed" and allowed(current_user, Action.BEST_INTERESTS_RECORD, case)
    return render_template(
        "bestinterests/case_index.html", case=case, child=child, assessments=assessments,
        revealed={a.id: queries.reveal_assessment(a) for a in assessments},
        determinations=determinations, texts={d.id: operations.reasons_of(d) for d in determinations},
        guardians=guardians, guardian_texts={g.id: queries.reveal(g, ("name", "contact", "appointed_by"))
                                             for g in guardians},
        care=care, care_texts={c.id: queries.reveal(c, ("carer", "notes")) for c in care},
        members=queries.member_names(case.id, {g.family_member_id for g in guardians}
                                     | {c.family_member_id for c in care}),
        standing=standing, steps=STEPS, step_needs=_step_needs(), recommended_for=RECOMMENDED_FOR,
        names=queries.user_names(ids), visit=queries.latest_visit(case.id) if child or assessments else None,
        can_record=can_record, can_sign={d.id: allowed(current_user, Action.BID_SIGN, d) for d in determinations},
        not_a_child=operations.not_a_child_message(), sections=BIA_SECTIONS, section_labels=_section_labels(),
        # One form per open record: each carries its own single-use token (core/submissions.py).
        end_forms={r.id: forms.EndForm(formdata=None) for r in [*guardians, *care] if r.ended_on is None}
        if can_record else {}, today=date.today(), **_labels(),
    )


def _section_labels() -> dict[str, str]:
    form = forms.AssessmentForm(formdata=None)
    return {name: str(getattr(form, name).label.text) for name in BIA_SECTIONS}


# The assessment ----------------------------------------------------------------------------------------------------

def _assessment_page(case, form, assessment=None, status: int = 200):
    return render_template("bestinterests/assessment.html", case=case, form=form, assessment=assessment,
                           visit=queries.latest_visit(case.id), **_labels()), status


def _refused(exc: Exception | None):
    db.session.rollback()
    if exc is not None:
        flash(str(exc), "danger")


@bp.route("/cases/<case_id>/best-interests/assessments/new", methods=["GET", "POST"])
@requires(Action.BEST_INTERESTS_RECORD)
def new_assessment(case_id):
    case = operations.load_case(current_user, case_id)
    if request.method == "GET" and _not_offered(case):
        return _back(case.id)
    if request.method == "GET":
        return _assessment_page(case, forms.AssessmentForm(formdata=None, data={"assessed_on": date.today()}))
    form = forms.AssessmentForm()
    if not form.validate_on_submit():
        return _assessment_page(case, form, status=422)
    try:
        operations.record_assessment(current_user, case, forms.values_of(form))
    except BestInterestsError as exc:
        _refused(exc)
        return _assessment_page(case, form, status=422)
    submissions.consume(form, url_for("bestinterests.case_index", case_id=case.id))
    db.session.commit()
    flash(_("Best-interests assessment saved."), "success")
    return _back(case.id)


@bp.route("/cases/<case_id>/best-interests/assessments/<assessment_id>/edit", methods=["GET", "POST"])
@requires(Action.BEST_INTERESTS_RECORD)
def edit_assessment(case_id, assessment_id):
    case = operations.load_case(current_user, case_id)
    assessment = queries.assessment_or_404(case.id, assessment_id)
    if request.method == "GET" and _not_offered(case):
        return _back(case.id)
    if request.method == "GET":
        data = {"assessed_on": assessment.assessed_on, "version": assessment.version,
                **queries.reveal_assessment(assessment)}
        return _assessment_page(case, forms.AssessmentForm(formdata=None, data=data), assessment)
    form = forms.AssessmentForm()
    if not form.validate_on_submit():
        return _assessment_page(case, form, assessment, status=422)
    try:
        operations.update_assessment(current_user, assessment, forms.values_of(form))
    except versions.EditConflict as conflict:
        db.session.rollback()
        submissions.replay_if_used(form)
        return versions.conflict_page(
            conflict, form, heading=_("Someone else saved this assessment while you were editing it"),
            action=url_for("bestinterests.edit_assessment", case_id=case_id, assessment_id=assessment_id),
            submit=_("Save"), discard=url_for("bestinterests.case_index", case_id=case_id), case=case)
    except BestInterestsError as exc:
        _refused(exc)
        return _assessment_page(case, form, assessment, status=422)
    submissions.consume(form, url_for("bestinterests.case_index", case_id=case.id))
    db.session.commit()
    flash(_("Best-interests assessment saved."), "success")
    return _back(case.id)


# The determination -------------------------------------------------------------------------------------------------

def _determination_form(case, posted: bool = False):
    assessments = [(a.id, _("Assessment of %(day)s", day=format_date(a.assessed_on)))
                   for a in queries.assessments_of(case.id)]
    candidates = [(u.id, u.display_name) for u in queries.panel_candidates(case)]
    if posted:
        return forms.DeterminationForm(assessments=assessments, candidates=candidates)
    return forms.DeterminationForm(formdata=None, assessments=assessments, candidates=candidates,
                                   data={"assessment_id": assessments[0][0] if assessments else None})


def _determination_page(case, form, status: int = 200):
    return render_template("bestinterests/determination_new.html", case=case, form=form,
                           has_assessment=bool(form.assessment_id.choices), visit=queries.latest_visit(case.id),
                           assigned_id=case.assigned_to_id, **_labels()), status


@bp.route("/cases/<case_id>/best-interests/determinations/new", methods=["GET", "POST"])
@requires(Action.BEST_INTERESTS_RECORD)
def new_determination(case_id):
    case = operations.load_case(current_user, case_id)
    if request.method == "GET" and _not_offered(case):
        return _back(case.id)
    if request.method == "GET":
        return _determination_page(case, _determination_form(case))
    form = _determination_form(case, posted=True)
    if not form.assessment_id.choices:
        flash(operations.no_assessment_message(), "danger")
        return _determination_page(case, form, status=422)
    if not form.validate_on_submit():
        return _determination_page(case, form, status=422)
    try:
        made = operations.convene(current_user, case, forms.values_of(form))
    except BestInterestsError as exc:
        _refused(exc)
        return _determination_page(case, form, status=422)
    shown = url_for("bestinterests.determination", determination_id=made.id)
    submissions.consume(form, shown)
    db.session.commit()
    flash(_("The panel is convened: each member signs the determination."), "success")
    return redirect(shown)


def _determination_view(determination, posted: dict | None = None, status: int = 200):
    posted = posted or {}
    case = determination.case
    ids = {determination.proposed_by_id} | determination.member_ids
    return render_template(
        "bestinterests/determination.html", case=case, d=determination, texts=operations.reasons_of(determination),
        names=queries.user_names(ids), assessment=queries.assessment_of(determination),
        visit=queries.latest_visit(case.id),
        can_sign=allowed(current_user, Action.BID_SIGN, determination),
        can_withdraw=operations.may_withdraw(current_user, determination)
        and allowed(current_user, Action.BEST_INTERESTS_RECORD, case),
        sign_form=posted.get("sign") or forms.SignForm(formdata=None),
        withdraw_form=posted.get("withdraw") or forms.WithdrawForm(formdata=None), **_labels(),
    ), status


@bp.get("/best-interests/determinations/<determination_id>")
@requires(Action.BEST_INTERESTS_VIEW)
def determination(determination_id):
    found = operations.open_determination(current_user, determination_id)
    db.session.commit()  # the view event
    return _determination_view(found)


def _after(determination_id: str):
    return redirect(url_for("bestinterests.determination", determination_id=determination_id))


@bp.post("/best-interests/determinations/<determination_id>/sign")
@requires(Action.BID_SIGN)
def sign(determination_id):
    found = operations.load_determination(current_user, determination_id, Action.BID_SIGN)
    form = forms.SignForm()
    if not form.validate_on_submit():
        return _determination_view(found, {"sign": form}, status=422)
    try:
        outcome = operations.sign(current_user, found, form.vote.data, form.dissent_reason.data)
    except BestInterestsError as exc:
        _refused(exc)
        return _determination_view(operations.load_determination(current_user, determination_id,
                                                                 Action.BEST_INTERESTS_VIEW), {"sign": form}, 422)
    submissions.consume(form, url_for("bestinterests.determination", determination_id=found.id))
    db.session.commit()
    if outcome == "determined":
        flash(_("Every member has concurred: the determination stands."), "success")
    elif outcome == "not_agreed":
        flash(_("You dissented: the panel did not agree. A new determination must be convened."), "warning")
    else:
        flash(_("Your signature was saved."), "success")
    return _after(found.id)


@bp.post("/best-interests/determinations/<determination_id>/withdraw")
@requires(Action.BEST_INTERESTS_RECORD)
def withdraw(determination_id):
    found = operations.load_determination(current_user, determination_id, Action.BEST_INTERESTS_VIEW)
    authorize(current_user, Action.BEST_INTERESTS_RECORD, found.case)
    form = forms.WithdrawForm()
    if not form.validate_on_submit():
        return _determination_view(found, {"withdraw": form}, status=422)
    try:
        operations.withdraw(current_user, found, form.withdrawal_reason.data)
    except BestInterestsError as exc:
        _refused(exc)
        return _determination_view(operations.load_determination(current_user, determination_id,
                                                                 Action.BEST_INTERESTS_VIEW), {"withdraw": form}, 422)
    submissions.consume(form, url_for("bestinterests.determination", determination_id=found.id))
    db.session.commit()
    flash(_("The determination was withdrawn."), "success")
    return _after(found.id)


# Guardians and care arrangements -------------------------------------------------------------------------------------

def _record_page(template: str, case, form, status: int = 200):
    return render_template(template, case=case, form=form, long_term_refusal=operations.long_term_refusal(case),
                           **_labels()), status


def _new_record(case_id: str, template: str, form_class, operation, done: str):
    case = operations.load_case(current_user, case_id)
    if request.method == "GET" and _not_offered(case):
        return _back(case.id)
    members = queries.member_choices(case.id)
    if request.method == "GET":
        return _record_page(template, case, form_class(formdata=None, members=members,
                                                       data={"started_on": date.today()}))
    form = form_class(members=members)
    if not form.validate_on_submit():
        return _record_page(template, case, form, status=422)
    try:
        operation(current_user, case, forms.values_of(form))
    except BestInterestsError as exc:
        _refused(exc)
        return _record_page(template, case, form, status=422)
    submissions.consume(form, url_for("bestinterests.case_index", case_id=case.id))
    db.session.commit()
    flash(done, "success")
    return _back(case.id)


@bp.route("/cases/<case_id>/best-interests/guardians/new", methods=["GET", "POST"])
@requires(Action.BEST_INTERESTS_RECORD)
def new_guardian(case_id):
    return _new_record(case_id, "bestinterests/guardian_new.html", forms.GuardianForm, operations.add_guardian,
                       _("Guardian saved."))


@bp.route("/cases/<case_id>/best-interests/care/new", methods=["GET", "POST"])
@requires(Action.BEST_INTERESTS_RECORD)
def new_care(case_id):
    return _new_record(case_id, "bestinterests/care_new.html", forms.CareForm, operations.add_care,
                       _("Care arrangement saved."))


def _end(case_id: str, record, operation, done: str):
    form = forms.EndForm()
    if not form.validate_on_submit():
        db.session.rollback()
        flash(_("Give the end date (not in the future)."), "danger")
        return _end_refused(case_id, form)
    try:
        operation(current_user, record, form.ended_on.data)
    except BestInterestsError as exc:
        _refused(exc)
        return _end_refused(case_id, form)
    submissions.consume(form, url_for("bestinterests.case_index", case_id=case_id))
    db.session.commit()
    flash(done, "success")
    return _back(case_id)


def _end_refused(case_id: str, form):
    """The tab again, answered 422, with the refusal flashed (the end forms sit in its lists)."""
    response = case_index(case_id)
    return response, 422


@bp.post("/cases/<case_id>/best-interests/guardians/<guardian_id>/end")
@requires(Action.BEST_INTERESTS_RECORD)
def end_guardian(case_id, guardian_id):
    case = operations.load_case(current_user, case_id)
    return _end(case.id, queries.guardian_or_404(case.id, guardian_id), operations.end_guardian,
                _("The guardian's appointment has ended."))


@bp.post("/cases/<case_id>/best-interests/care/<care_id>/end")
@requires(Action.BEST_INTERESTS_RECORD)
def end_care(case_id, care_id):
    case = operations.load_case(current_user, case_id)
    return _end(case.id, queries.care_or_404(case.id, care_id), operations.end_care,
                _("The care arrangement has ended."))
