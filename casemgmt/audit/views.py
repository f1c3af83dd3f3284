from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from casemgmt.access import Action, authorize
from casemgmt.access.guard import requires
from casemgmt.access.roles import Role
from casemgmt.audit.models import AuditEvent
from casemgmt.core.pagination import paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")


def audit_query(actor, action: str | None):
    """Administrators see every event; supervisors the events of their own organisation's users."""
    authorize(actor, Action.AUDIT_VIEW)
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if actor.role != Role.ADMIN:
        query = query.where(AuditEvent.organisation_id == actor.organisation_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return query


@bp.get("/")
@requires(Action.AUDIT_VIEW)
def index():
    action = (request.args.get("action") or "").strip()[:64] or None
    page = paginate(audit_query(current_user, action), 50)
    return render_template("audit/list.html", page=page, action=action)
