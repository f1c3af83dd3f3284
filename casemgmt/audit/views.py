from flask import Blueprint, render_template, request
from flask_login import current_user

from casemgmt.access import Action
from casemgmt.access.guard import requires
from casemgmt.audit import queries

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@requires(Action.AUDIT_VIEW)
def index():
    action = (request.args.get("action") or "").strip()[:64] or None
    denied = request.args.get("denied") == "1"
    page = queries.events_page(current_user, action, denied_only=denied)
    return render_template(
        "audit/list.html", page=page, action=action, denied=denied,
        organisations=queries.organisation_names(page.items),
        denied_recently=queries.denied_attempts_on_organisation(current_user), signal_days=queries.SIGNAL_DAYS,
    )
