from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.access.roles import Role
from casemgmt.accounts.models import User
from casemgmt.audit import queries as audit_queries
from casemgmt.cases import age, operations, queries, stages
from casemgmt.cases.forms import CaseForm, NewCaseForm, SearchForm, StageForm
from casemgmt.cases.header import case_header
from casemgmt.core import params, submissions
from casemgmt.core.pagination import paginate
from casemgmt.extensions import db
from casemgmt.intake.duplicates import find_candidates
from casemgmt.intake.vocabulary import MATCHED_FIELDS
from casemgmt.reports.drilldown import report_figure

bp = Blueprint("cases", __name__, url_prefix="/cases")
# The age and child marker every tab of a case shows (templates/cases/_case_header.html).
bp.add_app_template_global(case_header, "case_header")


def _assignees() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(User.id, User.display_name)
        .where(
            User.organisation_id == current_user.organisation_id,
            User.active.is_(True),
            User.role.in_([Role.CASEWORKER, Role.SUPERVISOR, Role.MISSION]),
        )
        .order_by(User.display_name)
    )
    return [(uid, name) for uid, name in rows]


def _commit_keeping_loaded() -> None:
    """Commit a read page's audit event before rendering, without expiring what the request has loaded: a plain
    commit expires every object, and the template's first look at the case, the person, the codes and the user would
    read them all again. Nothing was changed but the event, so what was read is what was committed."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _filters() -> queries.CaseFilters:
    stage = request.args.get("stage") or None
    status = request.args.get("status") or None
    return queries.CaseFilters(
        stage=stage if stage in htcds.STAGES else None,
        status=status if status in htcds.CASE_STATUS else None,
        assignee=params.int_arg("assignee"),
    )


@bp.get("/")
@requires(Action.CASE_LIST)
def index():
    filters = _filters()
    assignees = _assignees()
    figure = report_figure(current_user, request.args)
    list_args = {"stage": filters.stage or "", "status": filters.status or "", "assignee": filters.assignee or ""}
    if figure is not None:
        filters.report_conditions = figure.conditions
        list_args.update(figure.args)
    page = queries.case_list_page(current_user, filters, current_app.config["SETTINGS"].page_size)
    return render_template(
        "cases/list.html", page=page, filters=filters, names=queries.names_for(current_user, page.items),
        assignees=assignees, stages=htcds.STAGES, statuses=htcds.CASE_STATUS, search_form=SearchForm(),
        can_create=allowed(current_user, Action.CASE_CREATE), figure=figure, list_args=list_args,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Action.CASE_CREATE)
def create():
    form = NewCaseForm(assignees=_assignees())
    if request.method == "GET":
        form.status.data = "Active"
    report = None
    if form.validate_on_submit():
        values = form.values()
        if request.form.get("create_anyway") != "yes":
            # Before a new case exists, look for the same person (intake.duplicates: blind indexes, no leaks).
            report = find_candidates(current_user, values.get("given_name"), values.get("family_name"),
                                     values.get("date_of_birth"), values.get("birth_year"),
                                     values.get("document_number"),
                                     values.get("phone"))
            db.session.commit()  # the check's audit event
            if not report.empty:
                return render_template("cases/form.html", form=form, case=None, report=report,
                                       matched_labels=MATCHED_FIELDS), 409
        try:
            case = operations.create_case(current_user, values)
        except operations.CaseError as exc:
            flash(str(exc), "danger")
        else:
            shown = url_for("cases.view", case_id=case.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Case %(ref)s created.", ref=case.reference), "success")
            return redirect(shown)
    return render_template("cases/form.html", form=form, case=None, report=report), (
        200 if request.method == "GET" else 422
    )


@bp.get("/<case_id>")
@requires(Action.CASE_VIEW)
def view(case_id):
    case = operations.open_case(current_user, case_id)
    show_identity = allowed(current_user, Action.CASE_VIEW_IDENTITY, case)
    data = operations.snapshot(case) if show_identity else None
    history = operations.stage_history(case, reveal_reasons=show_identity)
    _commit_keeping_loaded()  # the view event, saved before anything is shown
    stage_form = StageForm()
    # No stage is preselected: one click must never close a case by accident.
    stage_form.to_stage.choices = [("", _("— choose —"))] + [
        (s, htcds.STAGES.label(s)) for s in stages.allowed_next(case.stage)
    ]
    return render_template(
        "cases/view.html", case=case, data=data, history=history, stage_form=stage_form, htcds=htcds,
        age_bases=age.BASES,
        can_edit=allowed(current_user, Action.CASE_EDIT, case),
        can_change_stage=allowed(current_user, Action.CASE_CHANGE_STAGE, case),
        can_see_access_log=allowed(current_user, Action.CASE_ACCESS_LOG, case),
    )


@bp.route("/<case_id>/edit", methods=["GET", "POST"])
@requires(Action.CASE_EDIT)
def edit(case_id):
    case = operations.load_for_edit(current_user, case_id)
    form = CaseForm(assignees=_assignees(), data=operations.snapshot(case) if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = case.version
    if not allowed(current_user, Action.CASE_ASSIGN, case):
        del form.assigned_to_id
    if form.validate_on_submit():
        try:
            base = int(form.version.data or 0)
        except ValueError:
            base = 0
        try:
            changed = operations.update_case(current_user, case, form.values(), base)
        except operations.EditConflict as conflict:
            db.session.rollback()
            form.version.data = conflict.case.version
            return render_template("cases/conflict.html", form=form, conflict=conflict, case=conflict.case,
                                   labels={name: field.label.text for name, field in form._fields.items()}), 409
        except operations.CaseError as exc:
            flash(str(exc), "danger")
        else:
            db.session.commit()
            if changed:
                flash(_("Saved."), "success")
            else:
                flash(_("Nothing had changed."), "info")
            return redirect(url_for("cases.view", case_id=case.id))
    status = 200 if request.method == "GET" else 422
    return render_template("cases/form.html", form=form, case=case), status


@bp.post("/<case_id>/stage")
@requires(Action.CASE_CHANGE_STAGE)
def change_stage(case_id):
    case = operations.load_for_stage_change(current_user, case_id)
    form = StageForm()
    form.to_stage.choices = [(s, s) for s in stages.allowed_next(case.stage)]
    if not form.validate_on_submit():
        flash(_("Choose one of the stages offered."), "danger")
        return redirect(url_for("cases.view", case_id=case.id))
    try:
        operations.change_stage(current_user, case, form.to_stage.data, form.reason.data)
    except operations.CaseError as exc:
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Stage changed to %(stage)s.", stage=htcds.STAGES.label(form.to_stage.data)), "success")
    return redirect(url_for("cases.view", case_id=case.id))


@bp.route("/search", methods=["GET", "POST"])
@requires(Action.CASE_SEARCH)
def search():
    # Terms and the page number travel in the POST body only: a URL ends up in logs, history and Referer headers.
    form = SearchForm()
    results = None
    if form.validate_on_submit():
        results = queries.search_cases(current_user, form.term.data, form.date_of_birth.data, form.birth_year.data,
                                       form.page.data or 1)
        _commit_keeping_loaded()  # the search event
    status = 422 if request.method == "POST" and results is None else 200
    return render_template("cases/search.html", form=form, results=results, stages=htcds.STAGES), status


@bp.get("/<case_id>/access-log")
@requires(Action.CASE_ACCESS_LOG)
def access_log(case_id):
    case = operations.open_case_metadata(current_user, case_id)
    page = paginate(queries.access_log_query(current_user, case), 50)
    return render_template("cases/access_log.html", case=case, page=page,
                           lines=audit_queries.describe(current_user, page.items))
