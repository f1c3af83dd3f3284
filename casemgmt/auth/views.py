from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from casemgmt.access import Action
from casemgmt.access.guard import must_enrol_2fa, requires
from casemgmt.access.roles import TWO_FACTOR_ROLES
from casemgmt.accounts import enrolment, recovery
from casemgmt.accounts import operations as accounts
from casemgmt.audit import record_event
from casemgmt.auth import totp
from casemgmt.auth.forms import (
    ChangePasswordForm,
    EnrolForm,
    LoginForm,
    RecoveryCodesForm,
    TotpConfirmForm,
    TotpDisableForm,
)
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
            if user.recovery_codes_left is not None:
                flash(ngettext("You logged in with a recovery code; it cannot be used again. %(num)d code is left: "
                               "generate new ones on your account page.",
                               "You logged in with a recovery code; it cannot be used again. %(num)d codes are left: "
                               "generate new ones on your account page.", user.recovery_codes_left), "warning")
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


# The enrolment and reset link: public (the token is the credential), single-use, expiring. The page answers
# with Cache-Control: no-store like every page (casemgmt/headers.py), and Referrer-Policy: no-referrer keeps the token
# out of other sites' logs.
UNUSABLE_STATUS = {"unknown": 404}


@bp.route("/enrol/<token>", methods=["GET", "POST"])
def enrol(token):
    state = enrolment.look_up(token)
    if not state.usable:
        return _unusable_link(state.problem)
    user = state.link.user
    form = EnrolForm()
    if form.validate_on_submit():
        problems = enrolment.passphrase_problems(user, form.new.data)
        form.new.errors.extend(problems)
        if not problems:
            try:
                enrolment.complete(token, form.new.data)
            except enrolment.LinkUnusable as exc:
                db.session.rollback()
                return _unusable_link(exc.problem)
            start_session(user)
            db.session.commit()
            flash(_("Your passphrase is set. Welcome, %(name)s.", name=user.display_name), "success")
            if must_enrol_2fa(user):
                return redirect(url_for("auth.totp_enrol"))
            return redirect(url_for("home.index"))
    status = 200 if request.method == "GET" else 422
    return render_template("auth/enrol.html", form=form, target=user, purpose=state.link.purpose), status


def _unusable_link(problem: str):
    response = make_response(render_template("auth/enrol_unusable.html", problem=problem),
                             UNUSABLE_STATUS.get(problem, 410))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account", methods=["GET"])
@requires(Action.ACCOUNT_SELF)
def account():
    return render_template("auth/account.html", password_form=ChangePasswordForm(), disable_form=TotpDisableForm(),
                           totp_required=current_user.role_enum in TWO_FACTOR_ROLES
                           and current_app.config["SETTINGS"].require_2fa,
                           recovery_form=RecoveryCodesForm(),
                           recovery_left=recovery.remaining(current_user) if current_user.has_totp else None)


@bp.post("/account/recovery-codes")
@requires(Action.ACCOUNT_SELF)
def recovery_codes():
    form = RecoveryCodesForm()
    if form.validate_on_submit():
        try:
            codes = accounts.regenerate_recovery_codes(current_user, form.password.data)
        except accounts.AccountError as exc:
            db.session.commit()  # keeps a failed passphrase re-check counted towards the lock
            flash(str(exc), "danger")
        else:
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes)
    else:
        flash(_("Enter your current passphrase."), "danger")
    return redirect(url_for("auth.account"))


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
        # the passphrase, and a reset goes through a reset link.
        flash(_("Two-factor login is on."), "info")
        return redirect(url_for("auth.account"))
    form = TotpConfirmForm()
    if form.validate_on_submit():
        try:
            codes = accounts.confirm_totp_enrolment(current_user, form.code.data, form.password.data)
        except accounts.AccountError as exc:
            db.session.commit()  # keeps a failed passphrase re-check counted towards the lock
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Two-factor login is on."), "success")
            # Shown once, on this response only: the codes are never stored in clear, flashed or redirected.
            return render_template("auth/recovery_codes.html", codes=codes)
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
