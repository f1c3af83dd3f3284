"""Named verbs of the stay in the destination country: protection status records and family reunification. Each
checks its policy on the object it touches, validates, changes the record, writes its audit event (ids and codes,
never names or free text) and leaves the commit to the caller. A refusal is a ResidenceError naming the form field
it is about, so the page shows the sentence next to that field.

Protection status (record_status, update_status):
- the country (ISO code), the kind (STATUS_KINDS) and the state (STATUS_STATES) are required;
- "applied" needs the application date and has no decision date yet; "granted" and "refused" need the decision
  date; no date is in the future, and the decision never comes before the application;
- only a granted (or since expired) status has an end date (valid_until), and it comes after the decision;
- the certifying agency is an agency, never a person: plaintext, at most 120 characters (refused, never cut);
- the reference (a receipt or case number: it identifies the person) and the notes are encrypted.

Family reunification (one open per case: uq_reunifications_case_open):
- a member joins only from the case's live family members, and never one who may not learn where the person is
  (possibly involved in the trafficking, no agreement of the person, deceased): joining tells them where she lives;
- T-4 (parent) and T-5 (unmarried sibling under 18) follow only a victim surely under 21 on the day of her own T visa
  application (the earliest recorded; cases.age decides, counting an uncertain age as not under 21);
- documents: "none" has no dates; "applied" needs the application date and has no issue date; "issued" needs the issue
  date (not before the application); "refused" has no issue date. No document date is in the future;
- travel is recorded only once the documents are issued, not before the issue date; a planned journey may be in the
  future (up to two years ahead);
- the fund request paying the travel is one of this case's requests in the family_reunification_travel category
  that can still pay (queries.travel_requests); any other is refused;
- arrival needs the travel date, is not before it and not in the future;
- while any member's documents or travel are under way the reunification is "in progress"; when every member has
  arrived it is "reunified", on the day of the last arrival;
- services are recorded once someone has arrived, not before the first arrival (nor before the arrival of the member
  they are for), never in the future;
- an open reunification can be cancelled with a reason (encrypted); a reunified or cancelled one no longer changes.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import format_date, gettext
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core import versions
from casemgmt.core.invariants import insert_or_refuse, lock_row, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db
from casemgmt.families.models import FamilyMember
from casemgmt.htcds import country_codes
from casemgmt.residence import queries
from casemgmt.residence.models import (
    DERIVATIVE_KINDS,
    DOCUMENT_STATUSES,
    REUNIFICATION_OPEN,
    SERVICE_KINDS,
    STATUS_KINDS,
    STATUS_STATES,
    ProtectionStatus,
    Reunification,
    ReunificationMember,
    ReunificationService,
)

AGENCY_MAX = 120
REFERENCE_MAX = 100
NOTES_MAX = 5000
REASON_MAX = 2000
# A journey planned further ahead than this is a typing error, not a plan.
TRAVEL_HORIZON = timedelta(days=730)

STATUS_FIELDS = ("country", "kind", "state", "applied_on", "decided_on", "valid_until", "certifying_agency",
                 "work_authorisation", "reference", "notes")
MEMBER_FIELDS = ("derivative_kind", "document_status", "document_applied_on", "document_issued_on", "travel_on",
                 "fund_request_id", "arrived_on")


class ResidenceError(ValueError):
    """A refusal shown to the user (already translated); `field` names the form field it is about, if one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _clean(value) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    return value or None


def _date(values: dict, name: str) -> date | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, date):
        raise ResidenceError(gettext("Give this date as a date."), name)
    return value


def _not_in_future(day: date | None, field: str) -> None:
    if day is not None and day > date.today():
        raise ResidenceError(gettext("This date cannot be in the future."), field)


def _too_long(text: str | None, limit: int, field: str) -> None:
    if text is not None and len(text) > limit:
        raise ResidenceError(gettext("At most %(limit)d characters, please (this has %(n)d).", limit=limit,
                                     n=len(text)), field)


def _check_case_open(case: Case) -> None:
    if case.stage == "closed":
        raise ResidenceError(gettext("This case is closed: reopen it before changing its status or reunification."))


def _event(action: str, actor, object_type: str, object_id: str, case_id: str, **details) -> None:
    record_event(action, object_type=object_type, object_id=object_id, case_id=case_id, actor=actor,
                 details=details or None)


# Loading ---------------------------------------------------------------------------------------------------------

def open_case_page(actor, case_id: str) -> Case:
    """The case whose "Stay and status" page is shown (another organisation's answers 404); the view is audited."""
    case = queries.case_or_404(case_id)
    authorize(actor, Action.RESIDENCE_VIEW, case)
    record_event("residence.view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case


def load_case(actor, case_id: str, action: Action = Action.RESIDENCE_MANAGE) -> Case:
    case = queries.case_or_404(case_id)
    authorize(actor, action, case)
    return case


def load_status(actor, case_id: str, status_id: str) -> ProtectionStatus:
    case = load_case(actor, case_id)  # the case first: another organisation's answers 404 before the record does
    status = queries.status_or_404(case.id, status_id)
    authorize(actor, Action.RESIDENCE_MANAGE, status)
    return status


def load_reunification(actor, reunification_id: str, action: Action = Action.RESIDENCE_MANAGE) -> Reunification:
    reunification = queries.reunification_or_404(reunification_id)
    authorize(actor, action, reunification)
    return reunification


def open_reunification_page(actor, reunification_id: str) -> Reunification:
    reunification = load_reunification(actor, reunification_id, Action.RESIDENCE_VIEW)
    record_event("reunification.view", object_type="reunification", object_id=reunification.id,
                 case_id=reunification.case_id, actor=actor)
    return reunification


# Protection status -----------------------------------------------------------------------------------------------

def status_snapshot(status: ProtectionStatus) -> dict:
    """The record as its edit form shows it (the encrypted fields decrypted)."""
    data = {name: getattr(status, name) for name in STATUS_FIELDS if name not in ("reference", "notes")}
    data.update(queries.reveal_status(status))
    return data


def clean_status(values: dict) -> dict:
    """The status's values checked against the rules of the module docstring; ResidenceError names the field."""
    country = values.get("country")
    if country not in country_codes():
        raise ResidenceError(gettext("Choose the country that grants the status."), "country")
    kind = values.get("kind")
    if kind not in STATUS_KINDS:
        raise ResidenceError(gettext("Choose the kind of status."), "kind")
    state = values.get("state")
    if state not in STATUS_STATES:
        raise ResidenceError(gettext("Choose where the application stands."), "state")
    applied_on, decided_on, valid_until = (_date(values, n) for n in ("applied_on", "decided_on", "valid_until"))
    _not_in_future(applied_on, "applied_on")
    _not_in_future(decided_on, "decided_on")
    if state == "applied":
        if applied_on is None:
            raise ResidenceError(gettext("Give the date of the application."), "applied_on")
        if decided_on is not None:
            raise ResidenceError(gettext("An application still waiting for a decision has no decision date: leave "
                                         "it empty, or choose the decision."), "decided_on")
    if state in ("granted", "refused") and decided_on is None:
        raise ResidenceError(gettext("Give the date of the decision."), "decided_on")
    if applied_on and decided_on and decided_on < applied_on:
        raise ResidenceError(gettext("The decision cannot come before the application (%(day)s).",
                                     day=format_date(applied_on)), "decided_on")
    if valid_until is not None:
        if state not in ("granted", "expired"):
            raise ResidenceError(gettext("Only a granted (or since expired) status has an end date."), "valid_until")
        if decided_on is not None and valid_until <= decided_on:
            raise ResidenceError(gettext("The status must end after the decision (%(day)s).",
                                         day=format_date(decided_on)), "valid_until")
    agency = _clean(values.get("certifying_agency"))
    if agency is not None and len(agency) > AGENCY_MAX:
        raise ResidenceError(gettext("Name the certifying agency in at most %(limit)d characters (this has %(n)d): "
                                     "an agency, not a person.", limit=AGENCY_MAX, n=len(agency)),
                             "certifying_agency")
    reference, notes = _clean(values.get("reference")), _clean(values.get("notes"))
    _too_long(reference, REFERENCE_MAX, "reference")
    _too_long(notes, NOTES_MAX, "notes")
    return {"country": country, "kind": kind, "state": state, "applied_on": applied_on, "decided_on": decided_on,
            "valid_until": valid_until, "certifying_agency": agency,
            "work_authorisation": bool(values.get("work_authorisation")), "reference": reference, "notes": notes}


def _apply_status(status: ProtectionStatus, clean: dict) -> None:
    for name in STATUS_FIELDS:
        if name in ("reference", "notes"):
            seal(status, name, clean[name])
        else:
            setattr(status, name, clean[name])


def record_status(actor, case: Case, values: dict) -> ProtectionStatus:
    authorize(actor, Action.RESIDENCE_MANAGE, case)
    _check_case_open(case)
    clean = clean_status(values)
    now = utcnow()
    status = ProtectionStatus(id=new_uuid(), case_id=case.id, organisation_id=case.organisation_id,
                              recorded_by_id=actor.id, created_at=now, updated_at=now)
    status.case = case
    _apply_status(status, clean)
    db.session.add(status)
    db.session.flush()
    _event("status.record", actor, "protection_status", status.id, case.id, kind=status.kind, state=status.state,
           fields=sorted(k for k, v in clean.items() if v not in (None, False)))
    return status


def update_status(actor, status: ProtectionStatus, values: dict, base: int | None = None) -> list[str]:
    """Save an edit made from version `base` of the record (core/versions.py): EditConflict instead of writing over
    a colleague's newer save. Returns the fields that changed."""
    authorize(actor, Action.RESIDENCE_MANAGE, status)
    _check_case_open(status.case)
    clean = clean_status(values)
    before = status_snapshot(status)
    fields = list(STATUS_FIELDS)
    versions.check(status, "protection_status", base, lambda: status_snapshot(status), clean, fields)
    changed = versions.differences(before, clean, fields)
    if not changed:
        return []
    _apply_status(status, clean)
    status.updated_at = utcnow()
    versions.flush(status, "protection_status", status_snapshot, clean, fields)
    _event("status.update", actor, "protection_status", status.id, status.case_id, kind=status.kind,
           state=status.state, fields=changed)
    return changed


# Opening a reunification -----------------------------------------------------------------------------------------

def _already_open() -> ResidenceError:
    return ResidenceError(gettext("This case already has a family reunification under way: follow that one, or "
                                  "cancel it before opening another."))


def open_reunification(actor, case: Case, notes: str | None = None) -> Reunification:
    authorize(actor, Action.RESIDENCE_MANAGE, case)
    _check_case_open(case)
    if queries.open_reunification(case.id) is not None:
        raise _already_open()
    notes = _clean(notes)
    _too_long(notes, NOTES_MAX, "notes")
    now = utcnow()
    reunification = Reunification(id=new_uuid(), case_id=case.id, organisation_id=case.organisation_id,
                                  status="planning", opened_on=date.today(), opened_by_id=actor.id, created_at=now,
                                  updated_at=now)
    reunification.case = case
    seal(reunification, "notes", notes)
    # The check above reads, then this writes: of two requests at the same instant the unique index keeps one.
    insert_or_refuse(reunification, "uq_reunifications_case_open", _already_open())
    _event("reunification.open", actor, "reunification", reunification.id, case.id,
           fields=["notes"] if notes else [])
    return reunification


def _check_open(reunification: Reunification) -> None:
    _check_case_open(reunification.case)
    if not reunification.is_open:
        raise ResidenceError(gettext("This reunification is finished (reunified or cancelled): it no longer "
                                     "changes."))


# Members -----------------------------------------------------------------------------------------------------------

def joinable(case_id: str, member_id) -> FamilyMember:
    """A live family member of this case who may join (ResidenceError otherwise, naming the field)."""
    member = db.session.get(FamilyMember, member_id) if isinstance(member_id, str) and member_id else None
    if member is None or member.case_id != case_id or member.deleted_at is not None:
        raise ResidenceError(gettext("Choose one of the case's family members."), "family_member_id")
    refusal = queries.join_refusal(member)
    if refusal:
        raise ResidenceError(gettext("This family member cannot join the person: joining tells them where the "
                                     "person lives. %(reason)s", reason=refusal), "family_member_id")
    return member


def check_derivative(case: Case, kind: str | None) -> None:
    if kind is None:
        return
    if kind not in DERIVATIVE_KINDS:
        raise ResidenceError(gettext("Choose the kind of family document."), "derivative_kind")
    if kind not in ("t4", "t5"):
        return
    under, day = queries.under_21_at_application(case)
    if day is None:
        raise ResidenceError(gettext("T-4 and T-5 are only for the family of a victim under 21 on the day of her "
                                     "T visa application: record the person's T visa application, with its date, "
                                     "first."), "derivative_kind")
    if not under:
        raise ResidenceError(gettext("T-4 and T-5 are only for the family of a victim under 21 on the day of her "
                                     "T visa application, and the person was not surely under 21 on %(day)s.",
                                     day=format_date(day)), "derivative_kind")


def _member_exists() -> ResidenceError:
    return ResidenceError(gettext("This family member is already part of this reunification."), "family_member_id")


def add_member(actor, reunification: Reunification, values: dict) -> ReunificationMember:
    authorize(actor, Action.RESIDENCE_MANAGE, reunification)
    _check_open(reunification)
    member = joinable(reunification.case_id, values.get("family_member_id"))
    kind = values.get("derivative_kind") or None
    check_derivative(reunification.case, kind)
    if any(m.family_member_id == member.id for m in reunification.members):
        raise _member_exists()
    joined = ReunificationMember(id=new_uuid(), reunification_id=reunification.id, case_id=reunification.case_id,
                                 family_member_id=member.id, derivative_kind=kind, document_status="none",
                                 created_at=utcnow())
    joined.reunification = reunification
    insert_or_refuse(joined, "uq_reunification_members_member", _member_exists())
    _event("reunification.member_add", actor, "reunification", reunification.id, reunification.case_id,
           member_id=joined.id, family_member_id=member.id, derivative_kind=kind)
    return joined


def member_snapshot(member: ReunificationMember) -> dict:
    return {name: getattr(member, name) for name in MEMBER_FIELDS}


def clean_member(case: Case, values: dict) -> dict:
    """A member's documents, travel and arrival checked against the rules of the module docstring."""
    kind = values.get("derivative_kind") or None
    check_derivative(case, kind)
    status = values.get("document_status") or "none"
    if status not in DOCUMENT_STATUSES:
        raise ResidenceError(gettext("Choose where the documents stand."), "document_status")
    applied_on, issued_on, travel_on, arrived_on = (
        _date(values, n) for n in ("document_applied_on", "document_issued_on", "travel_on", "arrived_on"))
    _not_in_future(applied_on, "document_applied_on")
    _not_in_future(issued_on, "document_issued_on")
    if status == "none" and (applied_on or issued_on):
        raise ResidenceError(gettext("Documents not applied for yet have no dates: choose where they stand, or "
                                     "leave the dates empty."), "document_status")
    if status == "applied" and applied_on is None:
        raise ResidenceError(gettext("Give the date the documents were applied for."), "document_applied_on")
    if status in ("applied", "refused") and issued_on is not None:
        raise ResidenceError(gettext("Documents that were not issued have no issue date."), "document_issued_on")
    if status == "issued" and issued_on is None:
        raise ResidenceError(gettext("Give the date the documents were issued."), "document_issued_on")
    if applied_on and issued_on and issued_on < applied_on:
        raise ResidenceError(gettext("The documents cannot be issued before they were applied for (%(day)s).",
                                     day=format_date(applied_on)), "document_issued_on")
    if travel_on is not None:
        if status != "issued":
            raise ResidenceError(gettext("Travel is recorded once the documents are issued."), "travel_on")
        if travel_on < issued_on:
            raise ResidenceError(gettext("The journey cannot come before the documents were issued (%(day)s).",
                                         day=format_date(issued_on)), "travel_on")
        if travel_on > date.today() + TRAVEL_HORIZON:
            raise ResidenceError(gettext("This travel date is too far ahead: check it."), "travel_on")
    fund_request_id = values.get("fund_request_id") or None
    if fund_request_id is not None and fund_request_id not in {r.id for r in queries.travel_requests(case.id)}:
        raise ResidenceError(gettext("Choose one of this case's fund requests for family reunification travel."),
                             "fund_request_id")
    if arrived_on is not None:
        if travel_on is None:
            raise ResidenceError(gettext("Give the travel date before the arrival."), "travel_on")
        _not_in_future(arrived_on, "arrived_on")
        if arrived_on < travel_on:
            raise ResidenceError(gettext("The arrival cannot come before the journey (%(day)s).",
                                         day=format_date(travel_on)), "arrived_on")
    return {"derivative_kind": kind, "document_status": status, "document_applied_on": applied_on,
            "document_issued_on": issued_on, "travel_on": travel_on, "fund_request_id": fund_request_id,
            "arrived_on": arrived_on}


def update_member(actor, reunification: Reunification, member: ReunificationMember, values: dict,
                  base: int | None = None) -> list[str]:
    """Save a member's documents, travel and arrival (from version `base`: EditConflict over a newer save), and move
    the reunification along: in progress once something is under way, reunified when the last member arrives."""
    authorize(actor, Action.RESIDENCE_MANAGE, reunification)
    if member.reunification_id != reunification.id:
        raise NotFound()
    _check_open(reunification)
    clean = clean_member(reunification.case, values)
    before = member_snapshot(member)
    fields = list(MEMBER_FIELDS)
    versions.check(member, "reunification_member", base, lambda: member_snapshot(member), clean, fields)
    changed = versions.differences(before, clean, fields)
    if not changed:
        return []
    # Two members' arrivals recorded at once must not each see the other still travelling: the reunification's row
    # is held until commit, so the second request counts the first one's arrival.
    lock_row(Reunification, reunification.id, Reunification.updated_at)
    for name in MEMBER_FIELDS:
        setattr(member, name, clean[name])
    versions.flush(member, "reunification_member", member_snapshot, clean, fields)
    _event("reunification.member_update", actor, "reunification", reunification.id, reunification.case_id,
           member_id=member.id, fields=changed)
    if "arrived_on" in changed and clean["arrived_on"] is not None:
        _event("reunification.arrived", actor, "reunification", reunification.id, reunification.case_id,
               member_id=member.id)
    _advance(reunification)
    return changed


def _advance(reunification: Reunification) -> None:
    """Planning -> in progress once any member's documents or travel are under way; -> reunified when every member
    has arrived, on the last arrival."""
    rows = db.session.execute(
        db.select(ReunificationMember.document_status, ReunificationMember.travel_on, ReunificationMember.arrived_on)
        .where(ReunificationMember.reunification_id == reunification.id)
    ).all()
    if not rows:
        return
    if all(arrived is not None for _s, _t, arrived in rows):
        last = max(arrived for _s, _t, arrived in rows)
        if not transition(reunification, Reunification.status.in_(REUNIFICATION_OPEN), status="reunified",
                          reunified_on=last, updated_at=utcnow()):
            raise ResidenceError(gettext("Someone else changed this reunification just now. Look at it again "
                                         "before repeating your change."))
        return
    under_way = any(status != "none" or travel is not None for status, travel, _a in rows)
    if under_way and reunification.status == "planning":
        transition(reunification, Reunification.status == "planning", status="in_progress", updated_at=utcnow())


# Services and cancellation -----------------------------------------------------------------------------------------

def record_service(actor, reunification: Reunification, values: dict) -> ReunificationService:
    authorize(actor, Action.RESIDENCE_MANAGE, reunification)
    _check_case_open(reunification.case)
    if reunification.status == "cancelled":
        raise ResidenceError(gettext("This reunification was cancelled: it receives no services."))
    kind = values.get("kind")
    if kind not in SERVICE_KINDS:
        raise ResidenceError(gettext("Choose the kind of service."), "kind")
    provided_on = _date(values, "provided_on")
    if provided_on is None:
        raise ResidenceError(gettext("Give the date of the service."), "provided_on")
    _not_in_future(provided_on, "provided_on")
    arrivals = {m.family_member_id: m.arrived_on for m in reunification.members if m.arrived_on is not None}
    if not arrivals:
        raise ResidenceError(gettext("Services are recorded once the family arrives: nobody has arrived yet."))
    first = min(arrivals.values())
    if provided_on < first:
        raise ResidenceError(gettext("A service after arrival cannot come before the first arrival (%(day)s).",
                                     day=format_date(first)), "provided_on")
    family_member_id = values.get("family_member_id") or None
    if family_member_id is not None:
        if family_member_id not in arrivals:
            raise ResidenceError(gettext("Choose a member of this reunification who has arrived, or the whole "
                                         "family."), "family_member_id")
        if provided_on < arrivals[family_member_id]:
            raise ResidenceError(gettext("This member arrived on %(day)s: the service cannot come before.",
                                         day=format_date(arrivals[family_member_id])), "provided_on")
    notes = _clean(values.get("notes"))
    _too_long(notes, NOTES_MAX, "notes")
    service = ReunificationService(id=new_uuid(), reunification_id=reunification.id, case_id=reunification.case_id,
                                   family_member_id=family_member_id, kind=kind, provided_on=provided_on,
                                   recorded_by_id=actor.id, created_at=utcnow())
    seal(service, "notes", notes)
    db.session.add(service)
    db.session.flush()
    _event("reunification.service", actor, "reunification", reunification.id, reunification.case_id,
           service_id=service.id, kind=kind, family_member_id=family_member_id)
    return service


def cancel_reunification(actor, reunification: Reunification, reason: str | None) -> None:
    authorize(actor, Action.RESIDENCE_MANAGE, reunification)
    _check_open(reunification)
    reason = _clean(reason)
    if reason is None:
        raise ResidenceError(gettext("Say why the reunification is cancelled."), "cancellation_reason")
    _too_long(reason, REASON_MAX, "cancellation_reason")
    seen = reunification.status
    # The reason is written with the object (flushed before the conditional UPDATE below, as a version of its own).
    seal(reunification, "cancellation_reason", reason)
    if not transition(reunification, Reunification.status == seen, status="cancelled", cancelled_on=date.today(),
                      cancelled_by_id=actor.id, updated_at=utcnow()):
        raise ResidenceError(gettext("Someone else changed this reunification just now. Look at it again before "
                                     "repeating your change."))
    _event("reunification.cancel", actor, "reunification", reunification.id, reunification.case_id,
           **{"from": seen})


def reveal_reunification(reunification: Reunification) -> dict[str, str | None]:
    return {"notes": unseal(reunification, "notes"),
            "cancellation_reason": unseal(reunification, "cancellation_reason")}
