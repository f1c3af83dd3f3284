from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casemgmt.access import Action, allowed, authorize
from casemgmt.access.guard import requires
from casemgmt.accounts import approvals, enrolment, queries
from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import AccountRequest, Organisation, User
from casemgmt.admin.forms import OrganisationForm, ReauthForm, RoleForm, TimeZoneForm, UserCreateForm
from casemgmt.audit import record_event
from casemgmt.auth.login import recheck_passphrase
from casemgmt.core import submissions
from casemgmt.core.pagination import paginate
from casemgmt.crypto.usage import key_versions_usage
from casemgmt.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _reauthenticated(form) -> bool:
    if recheck_passphrase(current_user._get_current_object(), form.admin_password.data or ""):
        return True
    record_event("reauth.failure", object_type="user", object_id=current_user.id, outcome="failure")
    db.session.commit()
    form.admin_password.errors.append(_("Your passphrase is not correct."))
    return False


def _visible_user_or_404(user_id: int) -> User:
    target = db.get_or_404(User, user_id)
    authorize(current_user, Action.USERS_LIST, target)  # another organisation's account answers 404
    return target


def _link_page(user: User, token: str, purpose: str):
    """Show a new enrolment or reset link once. It is never stored, flashed or put in a redirect."""
    url = url_for("auth.enrol", token=token, _external=True)
    return render_template("admin/link.html", target=user, url=url, purpose=purpose,
                           hours=enrolment.link_hours())


def _after(outcome: approvals.Outcome, done: str, purpose: str):
    if outcome.token:
        db.session.commit()
        return _link_page(outcome.user, outcome.token, purpose)
    db.session.commit()
    if outcome.request is not None:
        flash(_("The request waits for a supervisor of the organisation, who will hand the link to the person."),
              "info")
    else:
        flash(done, "success")
    return redirect(url_for("admin.user", user_id=outcome.user.id))


@bp.get("/users")
@requires(Action.USERS_LIST)
def users():
    page = paginate(queries.visible_users(current_user), 50)
    return render_template("admin/users.html", page=page,
                           can_create=allowed(current_user, Action.USERS_MANAGE))


def _create_form():
    organisations = queries.organisation_choices(current_user)
    return UserCreateForm(organisations=organisations,
                          roles=queries.assignable_roles(current_user, current_user.organisation_id))


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Action.USERS_MANAGE)
def create_user():
    form = _create_form()
    if form.validate_on_submit() and _reauthenticated(form):
        # An organisation's administrator has no organisation field: the account is in their own organisation.
        org_id = current_user.organisation_id if form.organisation_id is None else form.organisation_id.data
        try:
            outcome = accounts.add_account(current_user, form.username.data, form.display_name.data, org_id,
                                           form.role.data)
        except accounts.AccountError as exc:
            db.session.rollback()
            form.username.errors.append(str(exc))
        else:
            # A replay lands on the account's page: the enrolment link is shown once, and only to the first.
            submissions.consume(form, url_for("admin.user", user_id=outcome.user.id))
            return _after(outcome, _("User %(name)s created.", name=outcome.user.username), "enrol")
    return render_template("admin/user_new.html", form=form), 200 if request.method == "GET" else 422


@bp.get("/users/<int:user_id>")
@requires(Action.USERS_LIST)
def user(user_id):
    target = _visible_user_or_404(user_id)
    can_manage = allowed(current_user, Action.USERS_MANAGE, target) and target.id != current_user.id
    pending = approvals.pending_request(target)
    # An account waiting for its creation to be approved has nothing to reset and no role to change yet: those
    # requests would be refused (approvals.file_request), so they are not offered.
    awaiting = pending is not None and pending.kind == "create"
    roles = [r for r in queries.assignable_roles(current_user, target.organisation_id) if r != target.role]
    return render_template(
        "admin/user.html", target=target, can_manage=can_manage, awaiting=awaiting,
        role_form=RoleForm(roles=roles) if roles and not awaiting else None, reauth_form=ReauthForm(),
        pending=pending, open_link=enrolment.open_link(target),
    )


def _user_action(user_id, form_class, apply, success, **form_args):
    target = _visible_user_or_404(user_id)
    form = form_class(**form_args)
    if form.validate_on_submit() and _reauthenticated(form):
        try:
            outcome = apply(target, form)
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            if isinstance(outcome, approvals.Outcome):
                return _after(outcome, success, "reset")
            db.session.commit()
            flash(success, "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/role")
@requires(Action.USERS_MANAGE)
def set_role(user_id):
    target = _visible_user_or_404(user_id)
    return _user_action(user_id, RoleForm, lambda u, f: accounts.request_role_change(current_user, u, f.role.data),
                        _("Role changed."), roles=queries.assignable_roles(current_user, target.organisation_id))


@bp.post("/users/<int:user_id>/reset")
@requires(Action.USERS_MANAGE)
def reset(user_id):
    return _user_action(user_id, ReauthForm, lambda u, f: accounts.request_reset(current_user, u),
                        _("Passphrase and two-factor login reset."))


@bp.post("/users/<int:user_id>/export-grant")
@requires(Action.USERS_MANAGE)
def export_grant(user_id):
    granted = request.form.get("grant") == "1"
    return _user_action(user_id, ReauthForm, lambda u, f: accounts.set_export_grant(current_user, u, granted),
                        _("Identified exports allowed.") if granted else _("Identified exports no longer allowed."))


@bp.post("/users/<int:user_id>/disable")
@requires(Action.USERS_MANAGE)
def disable(user_id):
    return _user_action(user_id, ReauthForm, lambda u, f: accounts.set_active(current_user, u, False),
                        _("Account disabled."))


@bp.post("/users/<int:user_id>/enable")
@requires(Action.USERS_MANAGE)
def enable(user_id):
    return _user_action(user_id, ReauthForm, lambda u, f: accounts.set_active(current_user, u, True),
                        _("Account enabled."))


@bp.get("/approvals")
@requires(Action.ACCOUNTS_APPROVE)
def approvals_list():
    waiting = approvals.requests_of_organisation(current_user.organisation_id)
    return render_template(
        "admin/approvals.html", requests=waiting, form=ReauthForm(),
        can_decide={r.id: allowed(current_user, Action.ACCOUNTS_APPROVE, r) for r in waiting},
    )


def _request_or_404(request_id: int) -> AccountRequest:
    found = db.get_or_404(AccountRequest, request_id)
    authorize(current_user, Action.ACCOUNTS_APPROVE, found)  # another organisation's request answers 404
    return found


@bp.post("/approvals/<int:request_id>/approve")
@requires(Action.ACCOUNTS_APPROVE)
def approve(request_id):
    return _decide(request_id, "approve")


@bp.post("/approvals/<int:request_id>/refuse")
@requires(Action.ACCOUNTS_APPROVE)
def refuse(request_id):
    return _decide(request_id, "refuse")


def _decide(request_id: int, decision: str):
    found = _request_or_404(request_id)
    form = ReauthForm()
    if not (form.validate_on_submit() and _reauthenticated(form)):
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
        return redirect(url_for("admin.approvals_list"))
    try:
        if decision == "approve":
            token = approvals.approve(current_user, found)
        else:
            approvals.refuse(current_user, found)
            token = None
    except accounts.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("admin.approvals_list"))
    db.session.commit()
    if token:
        return _link_page(found.user, token, "reset" if found.kind == "reset" else "enrol")
    flash(_("Approved.") if decision == "approve" else _("Refused."), "success")
    return redirect(url_for("admin.approvals_list"))


@bp.get("/account-changes")
@requires(Action.ACCOUNTS_HISTORY)
def account_changes():
    page = paginate(queries.account_changes(current_user.organisation_id), 50)
    return render_template("admin/account_changes.html", page=page)


@bp.route("/organisations", methods=["GET", "POST"])
@requires(Action.ORGS_MANAGE)
def organisations():
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            org = accounts.create_organisation(current_user, form.name.data, form.org_type.data, form.country.data,
                                               form.contact.data, time_zone=form.chosen_time_zone())
        except accounts.AccountError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            shown = url_for("admin.organisations")
            submissions.consume(form, shown)
            db.session.commit()
            flash(_("Organisation %(name)s created.", name=org.name), "success")
            if form.guessed_utc():
                flash(_("Its country has several time zones, so %(name)s reads times in UTC for now: choose its "
                        "time zone below.", name=org.name), "warning")
            return redirect(shown)
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    status = 422 if request.method == "POST" else 200
    zone_form = TimeZoneForm(formdata=None, organisations=orgs, prefix="tz")
    return render_template("admin/organisations.html", form=form, organisations=orgs, zone_form=zone_form), status


@bp.post("/organisations/time-zone")
@requires(Action.ORGS_MANAGE)
def organisation_time_zone():
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    form = TimeZoneForm(organisations=orgs, prefix="tz")
    if not form.validate_on_submit():
        flash(_("Choose an organisation and a time zone from the lists."), "danger")
        return redirect(url_for("admin.organisations"))
    org = db.session.get(Organisation, form.organisation_id.data)
    try:
        changed = accounts.set_organisation_time_zone(current_user, org, form.time_zone.data)
    except accounts.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        if changed:
            flash(_("%(name)s now reads and enters times in %(zone)s.", name=org.name, zone=org.time_zone),
                  "success")
    return redirect(url_for("admin.organisations"))


@bp.get("/keys")
@requires(Action.KEYS_MANAGE)
def keys():
    # The same report as `casemgmt keys status`, so the page and the command cannot disagree.
    return render_template("admin/keys.html", usage=key_versions_usage())
