"""The supervisor's page of duplicate checks: other organisations' strong matches of their cases (matching.crossorg),
their colleagues' checks and searches, and the limits in force (matching.limits). Counts and names only: never what
anyone looked for."""

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from casemgmt.access import Action, authorize
from casemgmt.access.guard import requires
from casemgmt.matching import crossorg, limits

bp = Blueprint("matching", __name__, url_prefix="/matching")


@bp.get("/")
@requires(Action.REPORT_VIEW)
def index():
    # The page is about the supervisor's own organisation only: the reports' policy (a supervisor, of it).
    authorize(current_user, Action.REPORT_VIEW, current_user.organisation)
    return render_template(
        "matching/index.html", told=crossorg.told(current_user), activity=limits.activity(current_user.organisation_id),
        limits=limits.limits_in_force(), enabled=current_app.config["SETTINGS"].ratelimit_enabled,
        in_words=limits.in_words,
    )
