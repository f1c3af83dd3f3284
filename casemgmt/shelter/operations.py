"""Named verbs for facilities and placements. Each checks its policy, writes its audit event (field names, never
values), and leaves the commit to the caller.

Capacity is checked under a row lock on the facility (core.invariants.lock_row: SELECT ... FOR UPDATE on
PostgreSQL, the database's write lock on SQLite): two caseworkers admitting two people into the last bed at the same
moment queue on the lock, and the second one counts the first one's placement. One open placement per person is the
unique index uq_placements_case_open (docs/invariants.md).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import format_date, gettext
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.cases import age
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core import versions
from casemgmt.core.invariants import flush_or_refuse, insert_or_refuse, lock_row, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.journey.automatic import follow
from casemgmt.shelter.models import AGE_GROUPS, DISCHARGE_REASONS, FACILITY_TYPES, Facility, Placement

FACILITY_FIELDS = ("name", "facility_type", "bed_capacity", "age_group", "active", "address")
MAX_CAPACITY = 10000
# A reflection period is usually 30 to 90 days; more than a year is a typing mistake, not a plan.
MAX_REFLECTION = timedelta(days=366)
EARLIEST = date(1990, 1, 1)


class PlacementError(ValueError):
    """A change that cannot be made; the message is shown to the user (already translated)."""


def open_count(facility_id: int) -> int:
    return db.session.scalar(
        select(func.count(Placement.id)).where(Placement.facility_id == facility_id, Placement.holding_a_bed())
    ) or 0


def _lock_facility(facility_id: int) -> Facility | None:
    lock_row(Facility, facility_id, Facility.updated_at)
    return db.session.scalars(
        select(Facility).where(Facility.id == facility_id).execution_options(populate_existing=True)
    ).one_or_none()


def _clean_facility(values: dict) -> dict:
    cleaned = {field: values.get(field) for field in FACILITY_FIELDS}
    cleaned["name"] = (cleaned["name"] or "").strip()
    cleaned["address"] = (cleaned["address"] or "").strip() or None
    cleaned["active"] = True if cleaned["active"] is None else bool(cleaned["active"])
    if not cleaned["name"]:
        raise PlacementError(gettext("A facility needs a name."))
    if cleaned["facility_type"] not in FACILITY_TYPES:
        raise PlacementError(gettext("Choose one of the facility types offered."))
    # A caller that does not say gets the safe default for a child: adults only (the form always says).
    cleaned["age_group"] = cleaned["age_group"] or "adults"
    if cleaned["age_group"] not in AGE_GROUPS:
        raise PlacementError(gettext("Say whom the facility takes: adults only, children only, or both."))
    capacity = cleaned["bed_capacity"]
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 < capacity <= MAX_CAPACITY:
        raise PlacementError(gettext("The bed capacity must be a whole number of at least 1."))
    return cleaned


def _name_taken() -> PlacementError:
    return PlacementError(gettext("Your organisation already has a facility with this name."))


def _check_name_free(organisation_id: int, name: str, facility_id: int | None) -> None:
    query = select(Facility.id).where(
        Facility.organisation_id == organisation_id, func.lower(Facility.name) == name.lower()
    )
    if facility_id is not None:
        query = query.where(Facility.id != facility_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise _name_taken()


def create_facility(actor, values: dict) -> Facility:
    authorize(actor, Action.FACILITY_MANAGE)
    cleaned = _clean_facility(values)
    _check_name_free(actor.organisation_id, cleaned["name"], None)
    facility = Facility(organisation_id=actor.organisation_id, **cleaned)
    insert_or_refuse(facility, "uq_facilities_org_name", _name_taken())
    record_event("facility.create", object_type="facility", object_id=facility.id, actor=actor,
                 details={"fields": sorted(k for k, v in cleaned.items() if v not in (None, ""))})
    return facility


def facility_snapshot(facility: Facility) -> dict:
    return {f: getattr(facility, f) for f in FACILITY_FIELDS}


def update_facility(actor, facility: Facility, values: dict, base: int | None = None) -> list[str]:
    """Save an edit made from version `base` of the facility (core/versions.py): EditConflict instead of writing
    over a newer version. Checked under the facility's lock, so no other save comes between the check and ours."""
    authorize(actor, Action.FACILITY_MANAGE, facility)
    cleaned = _clean_facility(values)
    _check_name_free(facility.organisation_id, cleaned["name"], facility.id)
    locked = _lock_facility(facility.id)
    if locked is None:
        raise NotFound()
    versions.check(locked, "facility", base, lambda: facility_snapshot(locked), cleaned, FACILITY_FIELDS)
    occupants = open_count(facility.id)
    if cleaned["bed_capacity"] < occupants:
        raise PlacementError(gettext(
            "%(n)d people are placed in this facility now; the capacity cannot be less than that.", n=occupants
        ))
    changed = [f for f in FACILITY_FIELDS if getattr(locked, f) != cleaned[f]]
    if not changed:
        return []
    for field in changed:
        setattr(locked, field, cleaned[field])
    locked.updated_at = utcnow()
    flush_or_refuse("uq_facilities_org_name", _name_taken())
    record_event("facility.update", object_type="facility", object_id=locked.id, actor=actor,
                 details={"fields": changed})
    return changed


def load_facility(actor, action: Action, facility_id: int) -> Facility:
    """A facility the user may see (or manage); another organisation's answers 404."""
    facility = db.session.get(Facility, facility_id)
    if facility is None:
        raise NotFound()
    authorize(actor, action, facility)
    return facility


def load_case(actor, action: Action, case_id: str) -> Case:
    case = db.session.get(Case, case_id) if case_id and len(case_id) <= 36 else None
    if case is None:
        raise NotFound()
    authorize(actor, action, case)
    return case


def load_placement(actor, case_id: str, placement_id: str) -> Placement:
    placement = db.session.get(Placement, placement_id) if placement_id and len(placement_id) <= 36 else None
    if placement is None or placement.case_id != case_id or placement.is_deleted:
        raise NotFound()
    authorize(actor, Action.PLACEMENT_MANAGE, placement)
    return placement


def _check_date(day: date | None, missing: str, future: str, too_old: str) -> date:
    if not isinstance(day, date):
        raise PlacementError(missing)
    if day > date.today():
        raise PlacementError(future)
    if day < EARLIEST:
        raise PlacementError(too_old)
    return day


def check_reflection_period(admitted_on: date, until: date | None) -> None:
    if until is None:
        return
    if until <= admitted_on:
        raise PlacementError(gettext("The reflection period must end after the admission date."))
    if until - admitted_on > MAX_REFLECTION:
        raise PlacementError(gettext("A reflection period of more than a year is not plausible; check the date."))


def age_refusal(case: Case, facility: Facility, day: date) -> str | None:
    """Why the facility cannot take this person on `day` (the admission date), or None. A child is whoever is under
    18 that day, or may be (cases.age.is_child); an adult is whoever is not, so a person whose age is not recorded
    is not taken by a children-only facility either: an adult among children is the risk it exists to avoid."""
    if age.is_child(case, day):
        if not facility.takes_children:
            return gettext("%(facility)s takes adults only, and this person is a child (under 18) on %(date)s. "
                           "Choose a facility that takes children.", facility=facility.name, date=format_date(day))
        return None
    if facility.takes_adults:
        return None
    if age.age_on(case, day).basis is None:
        return gettext("%(facility)s takes children only, and this person's age is not recorded. Record the date "
                       "of birth or an estimated age first, or choose a facility that takes adults.",
                       facility=facility.name)
    return gettext("%(facility)s takes children only, and this person is 18 or older on %(date)s. Choose a "
                   "facility that takes adults.", facility=facility.name, date=format_date(day))


def _check_age_group(case: Case, facility: Facility, day: date) -> None:
    refusal = age_refusal(case, facility, day)
    if refusal:
        raise PlacementError(refusal)


def current_placement(case_id: str) -> Placement | None:
    return db.session.scalars(
        select(Placement).where(Placement.case_id == case_id, Placement.holding_a_bed()).limit(1)
    ).one_or_none()


def _already_placed(current: Placement | None) -> PlacementError:
    if current is None:
        return PlacementError(gettext("This person has just been placed by someone else. Look at the placements "
                                      "again."))
    return PlacementError(gettext(
        "This person is already placed in %(facility)s. Record the discharge before a new admission.",
        facility=current.facility.name,
    ))


def admit(actor, case: Case, facility_id: int | None, admitted_on: date | None,
          reflection_period_until: date | None = None) -> Placement:
    authorize(actor, Action.PLACEMENT_MANAGE, case)
    if case.stage == "closed":
        raise PlacementError(gettext("This case is closed; reopen it before placing the person."))
    admitted_on = _check_date(
        admitted_on, gettext("Give the admission date."), gettext("The admission date cannot be in the future."),
        gettext("The admission date is too far in the past."),
    )
    check_reflection_period(admitted_on, reflection_period_until)
    # Lock order is always case, then facility, so two admissions never wait for each other in a circle.
    lock_row(Case, case.id, Case.updated_at)
    current = current_placement(case.id)
    if current is not None:
        raise _already_placed(current)
    last_discharge = db.session.scalar(select(func.max(Placement.discharged_on)).where(Placement.case_id == case.id,
                                                                                         Placement.live()))
    if last_discharge is not None and admitted_on < last_discharge:
        raise PlacementError(gettext(
            "The admission date overlaps an earlier placement, which ended on %(date)s.",
            date=format_date(last_discharge),
        ))
    facility = _lock_facility(facility_id) if isinstance(facility_id, int) else None
    if facility is None or facility.organisation_id != case.organisation_id:
        raise PlacementError(gettext("Choose one of the facilities of the case's organisation."))
    if not facility.active:
        raise PlacementError(gettext("%(facility)s is not taking admissions.", facility=facility.name))
    _check_age_group(case, facility, admitted_on)
    taken = open_count(facility.id)
    if taken >= facility.bed_capacity:
        raise PlacementError(gettext(
            "%(facility)s is full: %(taken)d of %(capacity)d beds are taken. Choose another facility or record "
            "a discharge first.", facility=facility.name, taken=taken, capacity=facility.bed_capacity,
        ))
    placement = Placement(
        id=new_uuid(), case_id=case.id, facility_id=facility.id, admitted_on=admitted_on,
        reflection_period_until=reflection_period_until, created_by_id=actor.id,
    )
    # The case lock above queues two admissions of one person; the unique index is the backstop for any writer.
    try:
        insert_or_refuse(placement, "uq_placements_case_open", PlacementError(""))
    except PlacementError:
        raise _already_placed(current_placement(case.id)) from None
    fields = ["facility_id", "admitted_on"] + (["reflection_period_until"] if reflection_period_until else [])
    record_event("placement.admit", object_type="placement", object_id=placement.id, case_id=case.id, actor=actor,
                 details={"fields": fields})
    follow(actor, case, "placement.admit", admitted_on)
    return placement


def _check_discharge(admitted_on: date, discharged_on: date | None, reason: str | None, note: str | None):
    discharged_on = _check_date(
        discharged_on, gettext("Give the discharge date."), gettext("The discharge date cannot be in the future."),
        gettext("The discharge date is too far in the past."),
    )
    if discharged_on < admitted_on:
        raise PlacementError(gettext(
            "The discharge date cannot be before the admission date (%(date)s).", date=format_date(admitted_on)
        ))
    if reason not in DISCHARGE_REASONS:
        raise PlacementError(gettext("Choose the reason for the discharge."))
    note = (note or "").strip() or None
    if reason == "other" and not note:
        raise PlacementError(gettext("Say in the note why the person left."))
    return discharged_on, note


def discharge(actor, placement: Placement, discharged_on: date | None, reason: str | None,
              note: str | None = None) -> Placement:
    authorize(actor, Action.PLACEMENT_MANAGE, placement)
    # Locked and re-read, so two people recording the same discharge cannot both write it.
    lock_row(Placement, placement.id, Placement.created_at)
    locked = db.session.scalars(
        select(Placement).where(Placement.id == placement.id).execution_options(populate_existing=True)
    ).one()
    if locked.discharged_on is not None:
        raise PlacementError(gettext("This placement has already ended."))
    if locked.is_deleted:
        raise PlacementError(gettext("This placement has been deleted. Look at the placements again."))
    discharged_on, note = _check_discharge(locked.admitted_on, discharged_on, reason, note)
    locked.discharged_on = discharged_on
    locked.discharge_reason = reason
    seal(locked, "discharge_note", note)
    locked.discharged_by_id = actor.id
    locked.discharged_at = utcnow()
    fields = ["discharged_on", "discharge_reason"] + (["discharge_note"] if note else [])
    record_event("placement.discharge", object_type="placement", object_id=locked.id, case_id=locked.case_id,
                 actor=actor, details={"fields": fields})
    return locked


def end_on_departure(actor, case: Case, departed_on: date) -> Placement | None:
    """The person left for their return: the open placement ends on the departure date (reason "returned_home"),
    which frees the bed. The departure's own policy (RETURN_MANAGE, checked by the caller) covers it: whoever may
    confirm the departure may say the person has gone, and a bed held by someone who has left helps nobody."""
    lock_row(Case, case.id, Case.updated_at)
    current = current_placement(case.id)
    if current is None:
        return None
    lock_row(Placement, current.id, Placement.created_at)
    if departed_on < current.admitted_on:
        raise PlacementError(gettext(
            "The departure date cannot be before the admission to %(facility)s (%(date)s).",
            facility=current.facility.name, date=format_date(current.admitted_on),
        ))
    ended = transition(current, Placement.discharged_on.is_(None), discharged_on=departed_on,
                       discharge_reason="returned_home", discharged_by_id=actor.id, discharged_at=utcnow())
    if not ended:
        raise PlacementError(gettext("This placement has just been ended by someone else. Look at it again."))
    record_event("placement.discharge", object_type="placement", object_id=current.id, case_id=case.id, actor=actor,
                 details={"fields": ["discharged_on", "discharge_reason"], "cause": "return.depart"})
    return current


def record_past_placement(actor, case: Case, facility_id: int | None, admitted_on: date | None,
                          discharged_on: date | None, reason: str | None, note: str | None = None,
                          reflection_period_until: date | None = None) -> Placement:
    """A stay that has already ended (recorded after the fact, or on a closed case). It holds no bed now, so the
    facility's capacity is not checked; it must not overlap another placement of the same person."""
    authorize(actor, Action.PLACEMENT_MANAGE, case)
    admitted_on = _check_date(
        admitted_on, gettext("Give the admission date."), gettext("The admission date cannot be in the future."),
        gettext("The admission date is too far in the past."),
    )
    check_reflection_period(admitted_on, reflection_period_until)
    discharged_on, note = _check_discharge(admitted_on, discharged_on, reason, note)
    facility = db.session.get(Facility, facility_id) if isinstance(facility_id, int) else None
    if facility is None or facility.organisation_id != case.organisation_id:
        raise PlacementError(gettext("Choose one of the facilities of the case's organisation."))
    _check_age_group(case, facility, admitted_on)
    lock_row(Case, case.id, Case.updated_at)
    overlapping = db.session.scalar(
        select(Placement.id).where(
            Placement.case_id == case.id, Placement.admitted_on < discharged_on, Placement.live(),
            (Placement.discharged_on.is_(None)) | (Placement.discharged_on > admitted_on),
        ).limit(1)
    )
    if overlapping is not None:
        raise PlacementError(gettext("These dates overlap another placement of this person."))
    placement = Placement(
        id=new_uuid(), case_id=case.id, facility_id=facility.id, admitted_on=admitted_on,
        reflection_period_until=reflection_period_until, created_by_id=actor.id, discharged_on=discharged_on,
        discharge_reason=reason, discharged_by_id=actor.id, discharged_at=utcnow(),
    )
    seal(placement, "discharge_note", note)
    db.session.add(placement)
    db.session.flush()
    fields = ["facility_id", "admitted_on", "discharged_on", "discharge_reason"]
    fields += (["reflection_period_until"] if reflection_period_until else []) + (["discharge_note"] if note else [])
    record_event("placement.record_past", object_type="placement", object_id=placement.id, case_id=case.id,
                 actor=actor, details={"fields": fields})
    return placement
