from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import Organisation, User
from casemgmt.admin.forms import OrganisationForm, ReauthForm, ResetPasswordForm, RoleForm, UserCreateForm
from casemgmt.audit import record_event
from casemgmt.auth.login import recheck_passphrase
from casemgmt.core.pagination import paginate
from casemgmt.crypto import rotation
from casemgmt.crypto.keyring import keyring
from casemgmt.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _reauthenticated(form) -> bool:
    if recheck_passphrase(current_user._get_current_object(), form.admin_password.data or ""):
        return True
    record_event("reauth.failure", object_type="user", object_id=current_user.id, outcome="failure")
    db.session.commit()
    form.admin_password.errors.append(_("Your passphrase is not correct."))
    return False


def _organisation_choices():
    return [(o.id, o.name) for o in db.session.scalars(select(Organisation).order_by(Organisation.name))]


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.get("/users")
@requires(Action.USERS_MANAGE)
def users():
    page = paginate(select(User).order_by(User.username), 50)
    return render_template("admin/users.html", page=page)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Action.USERS_MANAGE)
def create_user():
    form = UserCreateForm(organisations=_organisation_choices())
    if form.validate_on_submit() and _reauthenticated(form):
        try:
            user = accounts.create_user(current_user, form.username.data, form.display_name.data,
                                        form.organisation_id.data, form.role.data, form.password.data)
        except accounts.AccountError as exc:
            db.session.rollback()
            form.username.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_new.html", form=form), 200 if request.method == "GET" else 422


@bp.get("/users/<int:user_id>")
@requires(Action.USERS_MANAGE)
def user(user_id):
    target = _user_or_404(user_id)
    role_form = RoleForm(role=target.role)
    return render_template("admin/user.html", target=target, role_form=role_form,
                           reset_form=ResetPasswordForm(), reauth_form=ReauthForm())


def _user_action(user_id, form_class, apply, success):
    target = _user_or_404(user_id)
    form = form_class()
    if form.validate_on_submit() and _reauthenticated(form):
        try:
            apply(target, form)
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
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
    return _user_action(user_id, RoleForm, lambda u, f: accounts.set_role(current_user, u, f.role.data),
                        _("Role changed."))


@bp.post("/users/<int:user_id>/password")
@requires(Action.USERS_MANAGE)
def reset_password(user_id):
    return _user_action(user_id, ResetPasswordForm,
                        lambda u, f: accounts.reset_password(current_user, u, f.password.data),
                        _("Passphrase reset. The user's sessions have been ended."))


@bp.post("/users/<int:user_id>/two-factor")
@requires(Action.USERS_MANAGE)
def reset_two_factor(user_id):
    return _user_action(user_id, ReauthForm, lambda u, f: accounts.reset_two_factor(current_user, u),
                        _("Two-factor login reset."))


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


@bp.route("/organisations", methods=["GET", "POST"])
@requires(Action.ORGS_MANAGE)
def organisations():
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            org = accounts.create_organisation(current_user, form.name.data, form.org_type.data, form.country.data,
                                               form.contact.data)
        except accounts.AccountError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Organisation %(name)s created.", name=org.name), "success")
            return redirect(url_for("admin.organisations"))
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    status = 422 if request.method == "POST" else 200
    return render_template("admin/organisations.html", form=form, organisations=orgs), status


@bp.get("/keys")
@requires(Action.KEYS_MANAGE)
def keys():
    return render_template("admin/keys.html", ring=keyring(), in_use=rotation.versions_in_use(),
                           pending=rotation.pending_count())
