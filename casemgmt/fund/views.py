"""The fund's pages: a case's requests and the request form, one request with its steps, the organisation's list
(the fund report). Thin: the operations hold the rules; a refusal rolls back, says why and shows the form again
(422) with what was typed."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.guard import requires
from casemgmt.access.roles import Role
from casemgmt.audit import record_event
from casemgmt.core import money, params, submissions, versions
from casemgmt.crypto import unseal
from casemgmt.documents import storage
from casemgmt.documents.models import Document
from casemgmt.extensions import db
from casemgmt.fund import budget, corrections, forms, operations, queries, receipts
from casemgmt.fund.models import CATEGORIES, METHODS, PAYEE_KINDS, STATUSES, FundRequest
from casemgmt.fund.operations import FundError
from casemgmt.programmes import queries as programmes
from casemgmt.returns.queries import case_or_404
from casemgmt.revisions.models import RecordRevision

bp = Blueprint("fund", __name__)


def _fmt(amount, currency):
    return money.format_money(amount, currency)


def _has(endpoint: str) -> bool:
    """Whether another feature's page is installed (a link to it is only shown when it is)."""
    return endpoint in current_app.view_functions


# A case's requests and the request form --------------------------------------------------------------------------

def _request_form(case, posted: bool = False):
    projects = programmes.enrolled_projects(case.id, current_user.organisation_id, date.today())
    default = projects[0].currency if projects else None
    if posted:
        return forms.RequestForm(projects=projects), projects
    # Another page may ask for a category (the reunification's "ask the fund for the travel" link).
    category = request.args.get("category")
    data = {"payee_kind": "person", **({"category": category} if category in CATEGORIES else {})}
    form = forms.RequestForm(formdata=None, projects=projects, default_currency=default, data=data)
    return form, projects


def _case_page(case, form=None, projects=None, status: int = 200):
    if form is None:
        form, projects = _request_form(case)
    rows = queries.case_requests(case.id, current_user.organisation_id)
    return render_template(
        "fund/case_index.html", case=case, form=form, projects=projects, rows=rows,
        can_request=case.stage != "closed", has=_has, statuses=STATUSES, categories=CATEGORIES, fmt=_fmt,
        line_names={p.id: {line.category: line.name for line in p.lines if line.category} for p in projects},
    ), status


@bp.route("/cases/<case_id>/fund", methods=["GET", "POST"])
@requires(Action.FUND_REQUEST)
def case_index(case_id):
    case = case_or_404(case_id)
    authorize(current_user, Action.FUND_REQUEST, case)
    if request.method == "GET":
        return _case_page(case)
    form, projects = _request_form(case, posted=True)
    if not projects:
        # The form is not offered; a post from an old page is refused with the page's explanation.
        flash(_("This case is not enrolled in a project of your organisation today: enrol it in a project first."),
              "danger")
        return _case_page(case, status=422)
    if not form.validate_on_submit():
        return _case_page(case, form, projects, status=422)
    try:
        made = operations.request_assistance(current_user, case, forms.values_of(form))
    except FundError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _case_page(case, form, projects, status=422)
    shown = url_for("fund.request_page", request_id=made.id)
    refused = made.status == "refused"
    message = operations.refusal_message(made) if refused else None
    submissions.consume(form, shown)
    db.session.commit()
    if refused:
        flash(message, "danger")
    else:
        flash(_("Request sent for approval."), "success")
    return redirect(shown)


# One request ---------------------------------------------------------------------------------------------------------

def _steps(fund_request: FundRequest, reads: bool) -> dict:
    """Who acted and what the finance officer may see of the receipt (never its content)."""
    disbursement = fund_request.disbursement
    receipt = db.session.get(Document, disbursement.receipt_document_id) \
        if disbursement and disbursement.receipt_document_id else None
    revisions_rows = list(db.session.scalars(
        db.select(RecordRevision)
        .where(RecordRevision.record_id.in_([fund_request.id] + ([disbursement.id] if disbursement else [])),
               RecordRevision.record_type.in_(("fund_request", "fund_disbursement")))
        .order_by(RecordRevision.changed_at)
    ))
    ids = {fund_request.requested_by_id, fund_request.decided_by_id,
           *(a.approver_id for a in fund_request.approvals), *(r.recorded_by_id for r in fund_request.refunds),
           *(r.changed_by_id for r in revisions_rows)}
    if disbursement:
        ids.add(disbursement.recorded_by_id)
    if receipt:
        ids.add(receipt.uploaded_by_id)
    return {"receipt": receipt, "revisions": revisions_rows, "names": queries.user_names(ids)}


def _texts(fund_request: FundRequest, reads: bool) -> dict:
    """The request's free text, decrypted only for those who may read what it says about the person."""
    if not reads:
        payee = unseal(fund_request, "payee_name") if fund_request.payee_kind != "person" else None
        return {"payee_name": payee, "justification": None, "reason": None, "refund_reasons": {},
                "reference": unseal(fund_request.disbursement, "reference") if fund_request.disbursement else None}
    return {
        "payee_name": unseal(fund_request, "payee_name"),
        "justification": unseal(fund_request, "justification"),
        "reason": unseal(fund_request, "reason"),
        "refund_reasons": {r.id: unseal(r, "reason") for r in fund_request.refunds},
        "reference": unseal(fund_request.disbursement, "reference") if fund_request.disbursement else None,
    }


def _request_view(fund_request: FundRequest, posted: dict | None = None, status: int = 200):
    posted = posted or {}
    user = current_user
    reads = corrections.reads_identity(user, fund_request)
    waiting = fund_request.status == "requested"
    can = {
        "approve": allowed(user, Action.FUND_APPROVE, fund_request),
        "decline": allowed(user, Action.FUND_APPROVE, fund_request),
        "disburse": fund_request.status == "approved" and allowed(user, Action.FUND_DISBURSE, fund_request),
        "refund": fund_request.status in ("disbursed", "refunded")
        and fund_request.refunded_amount < fund_request.amount
        and allowed(user, Action.FUND_DISBURSE, fund_request),
        "receipt": fund_request.disbursement is not None and fund_request.disbursement.receipt_document_id is None
        and allowed(user, Action.FUND_DISBURSE, fund_request),
        "cancel": fund_request.status in ("requested", "approved") and allowed(user, Action.FUND_CANCEL, fund_request),
        "correct_request": corrections.may_correct_request(user, fund_request),
        "correct_payment": corrections.may_correct_payment(user, fund_request),
        "download": reads and allowed(user, Action.DOCUMENT_DOWNLOAD, fund_request.case),
        "open_case": allowed(user, Action.CASE_VIEW, fund_request.case),
    }
    # Why someone who may approve in general sees no button here: their own request, or their approval given.
    own = fund_request.requested_by_id == user.id
    approved_by_me = user.id in fund_request.approver_ids
    disburse_form = posted.get("disburse") or forms.DisburseForm(formdata=None, data={"paid_on": date.today()})
    refund_form = posted.get("refund") or forms.RefundForm(formdata=None, data={"refunded_on": date.today()})
    project = fund_request.project
    return render_template(
        "fund/request.html", r=fund_request, project=project, line=fund_request.budget_line, case=fund_request.case,
        reads=reads, texts=_texts(fund_request, reads), can=can, own=own, approved_by_me=approved_by_me,
        waiting=waiting, given=len(fund_request.approvals), steps=_steps(fund_request, reads),
        statuses=STATUSES, categories=CATEGORIES, payee_kinds=PAYEE_KINDS, methods=METHODS, fmt=_fmt,
        approve_form=forms.ApproveForm(formdata=None),
        decline_form=posted.get("decline") or forms.DeclineForm(formdata=None),
        cancel_form=posted.get("cancel") or forms.CancelForm(formdata=None), format_rate=money.format_rate,
        disburse_form=disburse_form, refund_form=refund_form,
        receipt_form=posted.get("receipt") or forms.ReceiptForm(formdata=None),
        max_mib=storage.max_upload_bytes() / (1024 * 1024), finance=user.role == Role.FINANCE,
    ), status


@bp.get("/fund/<request_id>")
@requires(Action.FUND_VIEW)
def request_page(request_id):
    fund_request = operations.load(current_user, request_id)
    if corrections.reads_identity(current_user, fund_request):
        # The page decrypts the justification and reasons: the reading is audited (codes only).
        record_event("fund.view", object_type="fund_request", object_id=fund_request.id,
                     case_id=fund_request.case_id, actor=current_user)
        db.session.commit()
    return _request_view(fund_request)


def _back(fund_request_id: str):
    return redirect(url_for("fund.request_page", request_id=fund_request_id))


def _refused(request_id: str, name: str | None, form, exc: Exception | None):
    db.session.rollback()
    if exc is not None:
        flash(str(exc), "danger")
    fund_request = operations.load(current_user, request_id)
    return _request_view(fund_request, {name: form} if name else None, status=422)


@bp.post("/fund/<request_id>/approve")
@requires(Action.FUND_APPROVE)
def approve(request_id):
    fund_request = operations.load(current_user, request_id, Action.FUND_APPROVE)
    form = forms.ApproveForm()
    if not form.validate_on_submit():
        return _refused(request_id, None, form, None)
    try:
        done = operations.approve(current_user, fund_request)
    except FundError as exc:
        return _refused(request_id, None, form, exc)
    needed, given = fund_request.approvals_needed, operations.approval_count(fund_request.id)
    submissions.consume(form, url_for("fund.request_page", request_id=request_id))
    db.session.commit()
    if done:
        flash(_("Approved. It can now be paid."), "success")
    else:
        flash(_("Your approval is recorded (%(given)d of %(needed)d): it waits for a second approver.",
                given=given, needed=needed), "success")
    return _back(request_id)


@bp.post("/fund/<request_id>/decline")
@requires(Action.FUND_APPROVE)
def decline(request_id):
    return _close(request_id, "decline", Action.FUND_APPROVE, forms.DeclineForm, operations.decline,
                  lambda form: form.decline_reason.data, _("Request declined."))


@bp.post("/fund/<request_id>/cancel")
@requires(Action.FUND_CANCEL)
def cancel(request_id):
    return _close(request_id, "cancel", Action.FUND_CANCEL, forms.CancelForm, operations.cancel,
                  lambda form: form.cancel_reason.data, _("Request cancelled: its amount is back on the budget line."))


def _close(request_id, step: str, action: Action, form_class, operation, reason, done: str):
    """Decline or cancel, with the reason the form gives: the two ends of a request that is not paid."""
    fund_request = operations.load(current_user, request_id, action)
    form = form_class()
    if not form.validate_on_submit():
        return _refused(request_id, step, form, None)
    try:
        operation(current_user, fund_request, reason(form))
    except FundError as exc:
        return _refused(request_id, step, form, exc)
    submissions.consume(form, url_for("fund.request_page", request_id=request_id))
    db.session.commit()
    flash(done, "success")
    return _back(request_id)


def _upload(field) -> tuple[str | None, bytes] | None:
    file = field.data
    if file is None or not getattr(file, "filename", None):
        return None
    limit = storage.max_upload_bytes()
    data = file.stream.read(limit + 1)  # one byte past the limit tells it is too large without holding more
    if len(data) > limit:
        abort(413)
    return file.filename, data


def _commit_with_receipt(form, shown: str, case_id: str, document_id: str | None) -> None:
    """Commit; a failed commit (or a replay found at the last moment) leaves no receipt file behind."""
    try:
        submissions.consume(form, shown)
        db.session.commit()
    except BaseException:
        receipts.discard(case_id, document_id)
        raise


@bp.post("/fund/<request_id>/disburse")
@requires(Action.FUND_DISBURSE)
def disburse(request_id):
    fund_request = operations.load(current_user, request_id, Action.FUND_DISBURSE)
    form = forms.DisburseForm()
    if not form.validate_on_submit():
        return _refused(request_id, "disburse", form, None)
    try:
        paid = operations.disburse(current_user, fund_request, forms.values_of(form), _upload(form.receipt))
    except FundError as exc:
        return _refused(request_id, "disburse", form, exc)
    _commit_with_receipt(form, url_for("fund.request_page", request_id=request_id), paid.case_id,
                         paid.receipt_document_id)
    flash(_("Payment recorded.") if paid.receipt_document_id else
          _("Payment recorded. Its receipt is missing: add it when you have it."),
          "success" if paid.receipt_document_id else "warning")
    return _back(request_id)


@bp.post("/fund/<request_id>/receipt")
@requires(Action.FUND_DISBURSE)
def receipt(request_id):
    fund_request = operations.load(current_user, request_id, Action.FUND_DISBURSE)
    form = forms.ReceiptForm()
    if not form.validate_on_submit():
        return _refused(request_id, "receipt", form, None)
    upload = _upload(form.receipt)
    try:
        paid = operations.attach_receipt(current_user, fund_request, *(upload or (None, b"")))
    except FundError as exc:
        return _refused(request_id, "receipt", form, exc)
    _commit_with_receipt(form, url_for("fund.request_page", request_id=request_id), paid.case_id,
                         paid.receipt_document_id)
    flash(_("Receipt added."), "success")
    return _back(request_id)


@bp.post("/fund/<request_id>/refund")
@requires(Action.FUND_DISBURSE)
def refund(request_id):
    fund_request = operations.load(current_user, request_id, Action.FUND_DISBURSE)
    form = forms.RefundForm()
    if not form.validate_on_submit():
        return _refused(request_id, "refund", form, None)
    try:
        operations.refund(current_user, fund_request, forms.values_of(form))
    except FundError as exc:
        return _refused(request_id, "refund", form, exc)
    submissions.consume(form, url_for("fund.request_page", request_id=request_id))
    db.session.commit()
    flash(_("Refund recorded."), "success")
    return _back(request_id)


# Corrections -------------------------------------------------------------------------------------------------------

def _correction_page(fund_request, form, what: str, status: int = 200):
    return render_template("fund/correct.html", r=fund_request, form=form, what=what, status_code=status,
                           action=url_for(f"fund.correct_{what}", request_id=fund_request.id),
                           back=url_for("fund.request_page", request_id=fund_request.id)), status


def _correct(request_id: str, what: str):
    fund_request = operations.load(current_user, request_id, Action.FUND_CORRECT)
    posted = request.method == "POST"
    if what == "request":
        if not corrections.may_correct_request(current_user, fund_request):
            # A finance officer, or a request no longer waiting: the form would show what they may not read.
            authorize(current_user, Action.CASE_VIEW_IDENTITY, fund_request.case)
            flash(_("Only a request waiting for approval can be corrected."), "warning")
            return _back(request_id)
        record, form_class, snapshot = fund_request, forms.CorrectRequestForm, corrections.request_snapshot
    else:
        if fund_request.disbursement is None:
            abort(404)
        record, form_class, snapshot = (fund_request.disbursement, forms.CorrectDisbursementForm,
                                        corrections.payment_snapshot)
    if not posted:
        data = {**snapshot(record), "version": record.version}
        if what == "request":
            data["amount"] = str(record.amount)
        return _correction_page(fund_request, form_class(formdata=None, data=data), what)
    form = form_class()
    if not form.validate_on_submit():
        return _correction_page(fund_request, form, what, 422)
    base = versions.base_of(form.version.data)
    values = forms.values_of(form)
    dropped = False
    try:
        if what == "request":
            changed, dropped = corrections.correct_request(current_user, fund_request, values, base,
                                                           form.correction_reason.data)
        else:
            changed = corrections.correct_payment(current_user, fund_request, values, base,
                                                  form.correction_reason.data)
    except versions.EditConflict as clash:
        db.session.rollback()
        submissions.replay_if_used(form)
        return versions.conflict_page(
            clash, form, heading=_("Someone else changed this request while you were correcting it"),
            action=url_for(f"fund.correct_{what}", request_id=request_id), submit=_("Save the correction"),
            discard=url_for("fund.request_page", request_id=request_id))
    except FundError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _correction_page(operations.load(current_user, request_id, Action.FUND_CORRECT), form, what, 422)
    submissions.consume(form, url_for("fund.request_page", request_id=request_id))
    db.session.commit()
    if not changed:
        flash(_("Nothing had changed."), "info")
    else:
        flash(_("Corrected. The earlier version is kept in its history."), "success")
    if dropped:
        flash(_("The amount changed, so the approvals already given were dropped: the request waits for approval "
                "again."), "warning")
    return _back(request_id)


@bp.route("/fund/<request_id>/correct", methods=["GET", "POST"])
@requires(Action.FUND_CORRECT)
def correct_request(request_id):
    return _correct(request_id, "request")


@bp.route("/fund/<request_id>/payment/correct", methods=["GET", "POST"])
@requires(Action.FUND_CORRECT)
def correct_payment(request_id):
    return _correct(request_id, "payment")


@bp.get("/fund/<request_id>/history/<what>")
@requires(Action.FUND_VIEW)
def history(request_id, what):
    fund_request = operations.load(current_user, request_id)
    kinds = {"request": corrections.REQUEST_KIND, "payment": corrections.PAYMENT_KIND}
    if what not in kinds or (what == "payment" and fund_request.disbursement is None):
        abort(404)
    kind, record = kinds[what], (fund_request if what == "request" else fund_request.disbursement)
    shown = corrections.history(current_user, kind, fund_request)
    db.session.commit()  # the reading's audit event
    return render_template("revisions/history.html", kind=kind, record=record, versions=shown,
                           back=url_for("fund.request_page", request_id=request_id), case=None, deleted=None)


# The organisation's list: the fund report ------------------------------------------------------------------------

@bp.get("/fund/")
@requires(Action.FUND_LIST)
def index():
    authorize(current_user, Action.FUND_LIST)
    f = queries.filters_from(request.args, params.parse_id)
    projects = queries.visible_projects(current_user)
    project = next((p for p in projects if p.id == f.project), None)
    # With a project the totals count the listed rows too: the pager uses that count instead of counting again.
    totals = queries.totals(current_user, f, project) if project is not None else None
    page = queries.page_of(current_user, f, total=totals.count if totals is not None else None)
    figures = None
    if project is not None and f.line:
        figures = next((x for x in budget.line_figures(project) if x.line.id == f.line), None)
    lines = list(project.lines) if project is not None else []
    return render_template(
        "fund/index.html", page=page, f=f, projects=projects, project=project, lines=lines, totals=totals,
        figures=figures, has=_has, statuses=STATUSES, categories=CATEGORIES, fmt=_fmt, figure_of=queries.figure_of,
        names=queries.user_names({row[0].requested_by_id for row in page.items}),
    )

