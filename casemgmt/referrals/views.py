from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.core import submissions
from casemgmt.extensions import db
from casemgmt.referrals import operations, queries
from casemgmt.referrals.forms import DecisionForm, DeclineForm, ReferralForm, TransferForm
from casemgmt.referrals.models import (
    CONSENT_BASES,
    REFERRAL_KINDS,
    REFERRAL_REASONS,
    REFERRAL_STATUS_LABELS,
    TRANSFER_STATUS_LABELS,
)

bp = Blueprint("referrals", __name__)

# The referral and transfer forms share a page; the prefix keeps their field names and ids apart.
TRANSFER_PREFIX = "transfer"


def _referral_form(case, **kwargs) -> ReferralForm:
    """The referral form offers only what operations.create_referral() accepts for this case."""
    referred = operations.referred_organisation_ids(case)
    organisations = [(org_id, label) for org_id, label in queries.organisation_choices(current_user, case)
                     if org_id not in referred]
    return ReferralForm(organisations=organisations, withheld_organisations=referred,
                        refused_bases=operations.refused_bases(case), **kwargs)


def _transfer_form(case, **kwargs) -> TransferForm:
    """The transfer form offers only the bases operations.request_transfer() accepts for this case."""
    return TransferForm(prefix=TRANSFER_PREFIX, organisations=queries.organisation_choices(current_user, case),
                        refused_bases=operations.refused_bases(case), **kwargs)


def _render_case(case, referral_form=None, transfer_form=None, status=200):
    can_refer = allowed(current_user, Action.REFERRAL_CREATE, case)
    can_transfer = allowed(current_user, Action.TRANSFER_REQUEST, case)
    refused = operations.refused_bases(case) if can_refer or can_transfer else {}
    # When the operations would refuse every basis, neither form is offered: the page says why instead.
    no_basis = [refused[b] for b in CONSENT_BASES] if all(b in refused for b in CONSENT_BASES) else []
    referral_form = (referral_form or _referral_form(case)) if can_refer and not no_basis else None
    # Only the blank "choose" entry left: every other organisation already has an open referral of the case.
    all_referred = referral_form is not None and len(referral_form.to_organisation_id.choices) <= 1
    if all_referred:
        referral_form = None
    waiting = operations.waiting_transfer(case) if can_transfer else None
    transfer_form = (transfer_form or _transfer_form(case)) if can_transfer and not no_basis and not waiting else None
    return render_template(
        "referrals/case_index.html", case=case,
        referrals=queries.case_referrals(current_user, case), transfers=queries.case_transfers(current_user, case),
        referral_form=referral_form, transfer_form=transfer_form, waiting_transfer=waiting,
        all_referred=all_referred, no_basis=no_basis, consent_refused=refused.get("consent"),
        decision_form=DecisionForm(), reasons=REFERRAL_REASONS, bases=CONSENT_BASES, kinds=REFERRAL_KINDS,
        statuses=REFERRAL_STATUS_LABELS, transfer_statuses=TRANSFER_STATUS_LABELS,
    ), status


@bp.get("/cases/<case_id>/referrals")
@requires(Action.CASE_VIEW)
def case_index(case_id):
    case = operations.load_case(current_user, case_id, Action.CASE_VIEW)
    return _render_case(case)


@bp.post("/cases/<case_id>/referrals")
@requires(Action.REFERRAL_CREATE)
def create(case_id):
    case = operations.load_case(current_user, case_id, Action.REFERRAL_CREATE)
    form = _referral_form(case)
    if form.validate_on_submit():
        try:
            referral = operations.create_referral(
                current_user, case, form.to_organisation_id.data, form.reason.data, form.note.data,
                form.consent_basis.data, form.override_reason.data,
            )
        except operations.ReferralError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("referrals.case_index", case_id=case.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Referral sent to %(org)s.", org=referral.to_organisation.name), "success")
            return redirect(shown)
    return _render_case(case, referral_form=form, status=422)


@bp.post("/cases/<case_id>/referrals/<referral_id>/revoke")
@requires(Action.REFERRAL_REVOKE)
def revoke(case_id, referral_id):
    referral = operations.load_referral(current_user, referral_id, Action.REFERRAL_REVOKE, case_id=case_id)
    if DecisionForm().validate_on_submit():
        try:
            operations.revoke_referral(current_user, referral)
        except operations.ReferralError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("Referral revoked: %(org)s no longer has access.", org=referral.to_organisation.name), "success")
    return redirect(url_for("referrals.case_index", case_id=case_id))


@bp.post("/cases/<case_id>/referrals/<referral_id>/resume")
@requires(Action.REFERRAL_CREATE)
def resume(case_id, referral_id):
    referral = operations.load_referral(current_user, referral_id, Action.REFERRAL_REVOKE, case_id=case_id)
    if DecisionForm().validate_on_submit():
        try:
            operations.resume_referral(current_user, referral)
        except operations.ReferralError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("%(org)s has access to the case again, under the person's new consent.",
                    org=referral.to_organisation.name), "success")
    return redirect(url_for("referrals.case_index", case_id=case_id))


@bp.get("/referrals/")
@requires(Action.REFERRAL_LIST)
def inbox():
    return render_template(
        "referrals/inbox.html", inbox=queries.inbox(current_user), decline_form=DeclineForm(),
        decision_form=DecisionForm(), reasons=REFERRAL_REASONS, statuses=REFERRAL_STATUS_LABELS, kinds=REFERRAL_KINDS,
        bases=CONSENT_BASES, can_respond=allowed(current_user, Action.REFERRAL_RESPOND),
    )


@bp.post("/referrals/<referral_id>/accept")
@requires(Action.REFERRAL_RESPOND)
def accept(referral_id):
    referral = operations.load_referral(current_user, referral_id, Action.REFERRAL_RESPOND)
    if not DecisionForm().validate_on_submit():
        return redirect(url_for("referrals.inbox"))
    try:
        operations.accept_referral(current_user, referral)
    except operations.ReferralError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("referrals.inbox"))
    db.session.commit()
    if referral.kind == "return_handoff":
        flash(_("Hand-off accepted. The case is now in your case list: its return and reintegration are yours to "
                "work on with the sending organisation."), "success")
    else:
        flash(_("Referral accepted. The case is now in your case list."), "success")
    return redirect(url_for("cases.view", case_id=referral.case_id))


@bp.post("/referrals/<referral_id>/decline")
@requires(Action.REFERRAL_RESPOND)
def decline(referral_id):
    referral = operations.load_referral(current_user, referral_id, Action.REFERRAL_RESPOND)
    form = DeclineForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "danger")
        return redirect(url_for("referrals.inbox"))
    try:
        operations.decline_referral(current_user, referral, form.decline_reason.data)
    except operations.ReferralError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Hand-off declined.") if referral.kind == "return_handoff" else _("Referral declined."), "info")
    return redirect(url_for("referrals.inbox"))


@bp.post("/cases/<case_id>/transfers")
@requires(Action.TRANSFER_REQUEST)
def request_transfer(case_id):
    case = operations.load_case(current_user, case_id, Action.TRANSFER_REQUEST)
    form = _transfer_form(case)
    if form.validate_on_submit():
        try:
            operations.request_transfer(
                current_user, case, form.to_organisation_id.data, form.transfer_reason.data,
                form.consent_basis.data, form.override_reason.data, form.keep_access.data,
            )
        except operations.ReferralError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            shown = url_for("referrals.case_index", case_id=case.id)
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Transfer requested. A supervisor of your organisation must approve it, then the receiving "
                    "organisation accepts or declines it."), "success")
            return redirect(shown)
    return _render_case(case, transfer_form=form, status=422)


def _decide(case_id, transfer_id, verb: str):
    action = Action.TRANSFER_REQUEST if verb == "cancel" else Action.TRANSFER_APPROVE
    transfer = operations.load_transfer(current_user, case_id, transfer_id, action)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "danger")
        return redirect(url_for("referrals.case_index", case_id=case_id))
    try:
        if verb == "approve":
            operations.approve_transfer(current_user, transfer, form.decision_note.data)
        elif verb == "reject":
            operations.reject_transfer(current_user, transfer, form.decision_note.data)
        else:
            operations.cancel_transfer(current_user, transfer)
    except operations.ReferralError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("referrals.case_index", case_id=case_id))
    db.session.commit()
    if verb == "approve":
        flash(_("Transfer approved. It now waits for %(org)s to accept or decline it; the case stays yours until "
                "then.", org=transfer.to_organisation.name), "success")
        return redirect(url_for("referrals.case_index", case_id=case_id))
    flash(_("Transfer rejected.") if verb == "reject" else _("Transfer request withdrawn."), "info")
    return redirect(url_for("referrals.case_index", case_id=case_id))


@bp.post("/cases/<case_id>/transfers/<transfer_id>/approve")
@requires(Action.TRANSFER_APPROVE)
def approve_transfer(case_id, transfer_id):
    return _decide(case_id, transfer_id, "approve")


@bp.post("/cases/<case_id>/transfers/<transfer_id>/reject")
@requires(Action.TRANSFER_APPROVE)
def reject_transfer(case_id, transfer_id):
    return _decide(case_id, transfer_id, "reject")


@bp.post("/cases/<case_id>/transfers/<transfer_id>/cancel")
@requires(Action.TRANSFER_REQUEST)
def cancel_transfer(case_id, transfer_id):
    return _decide(case_id, transfer_id, "cancel")


def _answer(case_id, transfer_id, verb: str):
    """The receiving organisation's answer, from its referrals inbox."""
    transfer = operations.load_transfer(current_user, case_id, transfer_id, Action.TRANSFER_ACCEPT)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "danger")
        return redirect(url_for("referrals.inbox"))
    try:
        if verb == "accept":
            operations.accept_transfer(current_user, transfer, form.decision_note.data)
        else:
            operations.decline_transfer(current_user, transfer, form.decision_note.data)
    except operations.ReferralError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("referrals.inbox"))
    db.session.commit()
    if verb == "accept":
        flash(_("Transfer accepted: the case now belongs to your organisation. Assign it to a caseworker."),
              "success")
        return redirect(url_for("cases.view", case_id=case_id))
    flash(_("Transfer declined: the case stays with %(org)s.", org=transfer.from_organisation.name), "info")
    return redirect(url_for("referrals.inbox"))


@bp.post("/cases/<case_id>/transfers/<transfer_id>/accept")
@requires(Action.TRANSFER_ACCEPT)
def accept_transfer(case_id, transfer_id):
    return _answer(case_id, transfer_id, "accept")


@bp.post("/cases/<case_id>/transfers/<transfer_id>/decline")
@requires(Action.TRANSFER_ACCEPT)
def decline_transfer(case_id, transfer_id):
    return _answer(case_id, transfer_id, "decline")
