"""The landing page after login. The journey issue turns it into each user's work list."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires

bp = Blueprint("home", __name__)


@bp.get("/")
@requires(Action.HOME)
def index():
    if allowed(current_user, Action.CASE_LIST):
        return redirect(url_for("cases.index"))
    if allowed(current_user, Action.USERS_MANAGE):
        return redirect(url_for("admin.users"))
    return render_template("home.html")
