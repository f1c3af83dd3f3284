from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.access.guard import requires
from casemgmt.cases.queries import names_for_ids
from casemgmt.core.pagination import paginate
from casemgmt.extensions import db
from casemgmt.notifications import (
    derive,  # noqa: F401  (its session listeners make the notices)
    operations,
    queries,
)
from casemgmt.notifications.forms import EmailSettingsForm

bp = Blueprint("notifications", __name__)


@bp.app_template_global("notification_email_settings")
def email_settings_for_account_page() -> dict:
    """The account page's e-mail section (templates/notifications/_account.html), filled with the user's choice."""
    form = EmailSettingsForm(formdata=None, email=current_user.email, notify_by_email=current_user.notify_by_email)
    return {"form": form, "mail_enabled": current_app.config["SETTINGS"].mail.enabled}


def _me():
    return current_user._get_current_object()


@bp.get("/notifications")
@requires(Action.HOME)
def index():
    page = paginate(queries.mine(current_user), current_app.config["SETTINGS"].page_size)
    # Supervisors reach the page of other organisations' matches and colleagues' checks from here (matching.views).
    matching_page = "matching.index" in current_app.view_functions and allowed(current_user, Action.REPORT_VIEW)
    # The person's name beside a notice about their case, for a reader who may see it: this page's cases only.
    names = names_for_ids(current_user, [n.case_id for n in page.items])
    people = {n.id: names[n.case_id] for n in page.items if n.case_id in names}
    return render_template("notifications/list.html", page=page, rows=queries.rows(current_user, page.items),
                           people=people, matching_page=matching_page)


@bp.post("/notifications/<int:notification_id>/open")
@requires(Action.HOME)
def open_notice(notification_id):
    target = operations.open_notice(_me(), operations.load(_me(), notification_id))
    db.session.commit()
    return redirect(target)


@bp.post("/notifications/<int:notification_id>/read")
@requires(Action.HOME)
def read(notification_id):
    operations.mark_read(_me(), operations.load(_me(), notification_id))
    db.session.commit()
    return redirect(url_for("notifications.index", page=request.args.get("page", type=int) or None))


@bp.post("/notifications/read-all")
@requires(Action.HOME)
def read_all():
    operations.mark_all_read(_me())
    db.session.commit()
    flash(_("All your notifications are marked as read."), "success")
    return redirect(url_for("notifications.index"))


@bp.post("/account/notifications")
@requires(Action.ACCOUNT_SELF)
def email_settings():
    form = EmailSettingsForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
        return redirect(url_for("auth.account"))
    try:
        changed = operations.set_email_preferences(_me(), form.email.data, form.notify_by_email.data)
    except operations.NotificationError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        if changed:
            flash(_("Your notification settings are saved."), "success")
    return redirect(url_for("auth.account"))
