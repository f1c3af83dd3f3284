from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action
from casemgmt.access.guard import must_enrol_2fa, requires
from casemgmt.access.roles import TWO_FACTOR_ROLES
from casemgmt.accounts import operations as accounts
from casemgmt.audit import record_event
from casemgmt.auth import totp
from casemgmt.auth.forms import ChangePasswordForm, LoginForm, TotpConfirmForm, TotpDisableForm
from casemgmt.auth.login import LoginFailed, authenticate
from casemgmt.auth.sessions import end_other_sessions, end_session, start_session
from casemgmt.core.redirects import safe_next
from casemgmt.extensions import db

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data, form.code.data)
        except LoginFailed:
            form.password.errors.append(_("The username, passphrase or code is not correct, "
                                          "or the account is locked for a while."))
        else:
            start_session(user)
            db.session.commit()
            if must_enrol_2fa(user):
                return redirect(url_for("auth.totp_enrol"))
            return redirect(safe_next(form.next.data) or url_for("home.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@requires(Action.ACCOUNT_SELF)
def logout():
    # Logging out ends the user's sessions everywhere: a phone left logged in at a shelter is closed too.
    ended = end_other_sessions(current_user)
    record_event("logout", object_type="user", object_id=current_user.id, details={"ended_other_sessions": ended})
    end_session(current_user)
    db.session.commit()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET"])
@requires(Action.ACCOUNT_SELF)
def account():
    return render_template("auth/account.html", password_form=ChangePasswordForm(), disable_form=TotpDisableForm(),
                           totp_required=current_user.role_enum in TWO_FACTOR_ROLES
                           and current_app.config["SETTINGS"].require_2fa)


@bp.route("/account/password", methods=["GET", "POST"])
@requires(Action.ACCOUNT_SELF)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(current_user, form.current.data, form.new.data)
        except accounts.AccountError as exc:
            db.session.commit()  # keeps a failed passphrase re-check counted towards the lock
            form.new.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your passphrase has been changed. Your other sessions have been ended."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@requires(Action.ACCOUNT_SELF)
def totp_enrol():
    if current_user.has_totp:
        # Replacing the second factor must not be possible with a session alone (ASVS 3.7.1): turning it off needs
        # the passphrase, and an administrator can reset it.
        flash(_("Two-factor login is on."), "info")
        return redirect(url_for("auth.account"))
    form = TotpConfirmForm()
    if form.validate_on_submit():
        try:
            accounts.confirm_totp_enrolment(current_user, form.code.data, form.password.data)
        except accounts.AccountError as exc:
            db.session.commit()  # keeps a failed passphrase re-check counted towards the lock
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Two-factor login is on."), "success")
            return redirect(url_for("home.index"))
    secret = accounts.pending_totp_secret(current_user) if request.method == "POST" else None
    if secret is None:
        secret = accounts.begin_totp_enrolment(current_user)
        db.session.commit()
    uri = totp.provisioning_uri(secret, current_user.username)
    return render_template("auth/totp_enrol.html", form=form, secret=secret, qr=totp.qr_svg_data_uri(uri),
                           required=must_enrol_2fa(current_user))


@bp.post("/account/two-factor/disable")
@requires(Action.ACCOUNT_SELF)
def totp_disable():
    form = TotpDisableForm()
    required = current_user.role_enum in TWO_FACTOR_ROLES and current_app.config["SETTINGS"].require_2fa
    if form.validate_on_submit():
        try:
            accounts.disable_own_totp(current_user, form.password.data, required)
        except accounts.AccountError as exc:
            db.session.commit()  # keeps a failed passphrase re-check counted towards the lock
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(_("Two-factor login is off."), "info")
    else:
        flash(_("Enter your current passphrase."), "danger")
    return redirect(url_for("auth.account"))
