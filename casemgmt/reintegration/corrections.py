"""Correcting a reintegration service or a monitoring visit, or deleting one recorded by mistake, with a reason
(issue 12, item 6).

Reintegration is in the referral scope: the receiving organisation that runs it corrects what it recorded
(access.policies: the author, the assigned caseworker, a supervisor of either organisation working on it). The same
checks as recording apply, and a closed case is reopened first, as for every change to its reintegration. Deleting or
correcting a visit takes the next visit due from the visits that remain. The version replaced is kept, encrypted, in
record_revisions (casemgmt/revisions).
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db
from casemgmt.reintegration import operations
from casemgmt.reintegration.forms import ServiceForm, VisitForm
from casemgmt.reintegration.models import SCORE_DIMENSIONS, MonitoringVisit, ServiceDelivered
from casemgmt.reintegration.operations import ReintegrationError
from casemgmt.reintegration.queries import user_names
from casemgmt.revisions import operations as revisions

SERVICE_FIELDS = ("service_type", "provider", "amount", "currency", "delivered_on", "implemented", "note")
VISIT_FIELDS = ("visited_on", "visited_by_id", *SCORE_DIMENSIONS, "next_visit_due", "observations")


def service_snapshot(service: ServiceDelivered) -> dict:
    data = {name: getattr(service, name) for name in SERVICE_FIELDS if name != "note"}
    data["note"] = unseal(service, "note")
    return data


def visit_snapshot(visit: MonitoringVisit) -> dict:
    data = {name: getattr(visit, name) for name in VISIT_FIELDS if name != "observations"}
    data["observations"] = unseal(visit, "observations")
    return data


def _describe_visit(content: dict) -> list[tuple[str, str]]:
    visitor = content.get("visited_by_id")
    names = user_names({visitor}) if isinstance(visitor, int) else {}
    return revisions.describe(content, VisitForm(formdata=None, visitors=list(names.items())), VISIT_FIELDS)


SERVICE_KIND = revisions.Kind(
    name="reintegration_service", title=lambda: str(_l("Reintegration service")),
    read_action=Action.REINTEGRATION_MANAGE, fields=SERVICE_FIELDS,
    events=("reintegration.service_correct", "reintegration.service_delete"), snapshot=service_snapshot,
    describe=lambda content: revisions.describe(content, ServiceForm(formdata=None), SERVICE_FIELDS),
)
VISIT_KIND = revisions.Kind(
    name="monitoring_visit", title=lambda: str(_l("Monitoring visit")), read_action=Action.REINTEGRATION_MANAGE,
    fields=VISIT_FIELDS, events=("reintegration.visit_correct", "reintegration.visit_delete"),
    snapshot=visit_snapshot, describe=_describe_visit,
)


def _load(model, actor, case_id: str, record_id: str, action: Action, deleted: bool):
    record = db.session.get(model, record_id) if record_id and len(record_id) <= 36 else None
    if record is None or record.case_id != case_id or (record.is_deleted and not deleted):
        raise NotFound()
    authorize(actor, action, record)
    return record


def load_service(actor, case_id: str, service_id: str, action: Action, deleted: bool = False) -> ServiceDelivered:
    """A service of the case the actor may act on; a deleted one answers 404 unless `deleted` asks for it."""
    return _load(ServiceDelivered, actor, case_id, service_id, action, deleted)


def load_visit(actor, case_id: str, visit_id: str, action: Action, deleted: bool = False) -> MonitoringVisit:
    """A visit of the case the actor may act on; a deleted one answers 404 unless `deleted` asks for it."""
    return _load(MonitoringVisit, actor, case_id, visit_id, action, deleted)


def _apply(record, cleaned: dict, sealed: str):
    def apply(changed: list[str]) -> None:
        for name in changed:
            if name == sealed:
                seal(record, sealed, cleaned[sealed])
            else:
                setattr(record, name, cleaned[name])

    return apply


def correct_service(actor, service: ServiceDelivered, values: dict, base: int | None,
                    reason: str | None = None) -> list[str]:
    authorize(actor, Action.SERVICE_CORRECT, service)
    operations.check_case_open(service.case)
    cleaned = operations.clean_service(values)
    return revisions.correct(actor, SERVICE_KIND, service, cleaned, base, reason,
                             _apply(service, cleaned, "note"))


def delete_service(actor, service: ServiceDelivered, reason: str | None, base: int | None) -> None:
    authorize(actor, Action.SERVICE_DELETE, service)
    operations.check_case_open(service.case)
    reason = revisions.clean_reason(reason)
    if reason is None:
        raise ReintegrationError(gettext("Say why the service is deleted."))
    revisions.delete(actor, SERVICE_KIND, service, reason, base, ReintegrationError(gettext(
        "Someone else changed or deleted this service after you opened it. Look at it again before deleting it.")))


def correct_visit(actor, visit: MonitoringVisit, values: dict, base: int | None,
                  reason: str | None = None) -> list[str]:
    authorize(actor, Action.VISIT_CORRECT, visit)
    case = visit.case
    operations.check_case_open(case)
    cleaned = operations.clean_visit(actor, values, visitor_before=visit.visited_by_id)
    operations.lock(case)  # the next visit due is read from the case's visits: ordered with other writers
    changed = revisions.correct(actor, VISIT_KIND, visit, cleaned, base, reason,
                                _apply(visit, cleaned, "observations"))
    if changed:
        operations.refresh_next_visit(case)
    return changed


def delete_visit(actor, visit: MonitoringVisit, reason: str | None, base: int | None) -> None:
    authorize(actor, Action.VISIT_DELETE, visit)
    case = visit.case
    operations.check_case_open(case)
    reason = revisions.clean_reason(reason)
    if reason is None:
        raise ReintegrationError(gettext("Say why the visit is deleted."))
    operations.lock(case)
    revisions.delete(actor, VISIT_KIND, visit, reason, base, ReintegrationError(gettext(
        "Someone else changed or deleted this visit after you opened it. Look at it again before deleting it.")))
    operations.refresh_next_visit(case)
