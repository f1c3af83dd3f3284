"""The kinds of work on a case that can be charged to a project (models.RECORD_KINDS), each read from its own
feature's table and shown only to whom that feature's policy shows it.

One entry per kind: the model, the day the work happened (the day that must fall inside an enrolment), a short
description that names no person, and the policy that lets a user see that kind of record on the case. The views
and operations ask this module and know nothing of shelters, sessions, returns or services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext
from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.cases.models import Case
from casemgmt.counseling.models import SESSION_TYPES, CounselingSession
from casemgmt.extensions import db
from casemgmt.htcds import country_name
from casemgmt.i18n import format_date
from casemgmt.programmes.models import RECORD_KINDS
from casemgmt.reintegration.models import SUPPORT_TYPES, ServiceDelivered
from casemgmt.returns.models import ReturnPlan
from casemgmt.shelter.models import Placement


@dataclass(frozen=True)
class Kind:
    code: str              # a RECORD_KINDS code
    model: type
    action: Action         # the policy that shows this kind of record on the case
    day: Callable          # (record) -> the day the work happened
    describe: Callable     # (record) -> a short, translated description that names no person
    listed: Callable       # () -> the conditions that leave out deleted or cancelled records

    @property
    def label(self) -> str:
        return RECORD_KINDS.label(self.code)


def _placement_text(p: Placement) -> str:
    # Where the person stayed is left out: the facility is the shelter feature's to show.
    if p.discharged_on:
        return gettext("Shelter stay until %(end)s", end=format_date(p.discharged_on))
    return gettext("Shelter stay, ongoing")


def _session_text(s: CounselingSession) -> str:
    # Type and provider only: the session's notes are never read here.
    return gettext("%(type)s, %(minutes)d minutes", type=SESSION_TYPES.label(s.session_type),
                   minutes=s.duration_minutes)


def _return_day(r: ReturnPlan) -> date:
    # The departure is the return; before it, the planned departure, and before that the day the plan was made.
    return r.departed_on or r.planned_departure_on or r.created_at.date()


def _return_text(r: ReturnPlan) -> str:
    if r.departed_on:
        return gettext("Return to %(country)s, departed", country=country_name(r.destination_country))
    return gettext("Return to %(country)s, planned", country=country_name(r.destination_country))


def _service_text(s: ServiceDelivered) -> str:
    return gettext("%(type)s by %(provider)s", type=SUPPORT_TYPES.label(s.service_type), provider=s.provider)


KINDS: dict[str, Kind] = {
    "placement": Kind("placement", Placement, Action.PLACEMENT_MANAGE, lambda p: p.admitted_on, _placement_text,
                      lambda: [Placement.live()]),
    "counseling": Kind("counseling", CounselingSession, Action.COUNSELING_VIEW, lambda s: s.held_on, _session_text,
                       lambda: [CounselingSession.live()]),
    "return": Kind("return", ReturnPlan, Action.RETURN_VIEW, _return_day, _return_text,
                   lambda: [ReturnPlan.status != "cancelled"]),
    "reintegration_service": Kind("reintegration_service", ServiceDelivered, Action.REINTEGRATION_MANAGE,
                                  lambda s: s.delivered_on, _service_text, lambda: [ServiceDelivered.live()]),
}
if set(KINDS) != set(RECORD_KINDS):  # every RECORD_KINDS code needs its entry here
    raise RuntimeError("programmes.attributable.KINDS and models.RECORD_KINDS disagree")


@dataclass(frozen=True)
class Record:
    kind: Kind
    id: str
    day: date
    text: str


def visible_kinds(actor, case: Case) -> list[Kind]:
    return [kind for kind in KINDS.values() if allowed(actor, kind.action, case)]


def records_of(actor, case: Case) -> list[Record]:
    """The case's records of every kind the actor may see, newest first; one query per kind."""
    out = []
    for kind in visible_kinds(actor, case):
        rows = db.session.scalars(select(kind.model).where(kind.model.case_id == case.id, *kind.listed()))
        out.extend(Record(kind, row.id, kind.day(row), kind.describe(row)) for row in rows)
    return sorted(out, key=lambda r: (r.day, r.kind.code, r.id), reverse=True)


def record(actor, case: Case, code: str, record_id: str) -> Record | None:
    """One record of the case, if it is of a kind the actor may see and neither deleted nor cancelled."""
    kind = KINDS.get(code)
    if kind is None or not record_id or len(record_id) > 36 or not allowed(actor, kind.action, case):
        return None
    row = db.session.scalar(select(kind.model).where(kind.model.id == record_id, kind.model.case_id == case.id,
                                                     *kind.listed()))
    return Record(kind, row.id, kind.day(row), kind.describe(row)) if row is not None else None


def days_of(charged: list) -> dict[tuple[str, str], date]:
    """{(kind, record id): the record's day} for attributions, whoever may see the records: one query per kind."""
    out = {}
    for code, kind in KINDS.items():
        ids = [a.record_id for a in charged if a.record_kind == code]
        if ids:
            for row in db.session.scalars(select(kind.model).where(kind.model.id.in_(ids))):
                out[(code, row.id)] = kind.day(row)
    return out
