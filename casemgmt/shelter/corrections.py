"""Correcting a shelter placement, or deleting one recorded by mistake, with a reason (issue 12, item 6).

The same rules as recording it hold for the corrected version: a facility of the case's organisation that takes the
person at that age, no overlap with the person's other stays, and, while the stay is still going, a facility taking
admissions with a bed free. A stay still going is discharged with the discharge form, not by a correction. A deleted
placement frees its bed at once (every count of beds leaves deleted placements out: Placement.holding_a_bed).
The version replaced is kept, encrypted, in record_revisions (casemgmt/revisions).
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.cases.models import Case
from casemgmt.core import versions
from casemgmt.core.invariants import lock_row
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db
from casemgmt.revisions import operations as revisions
from casemgmt.shelter import operations
from casemgmt.shelter.forms import CorrectPlacementForm
from casemgmt.shelter.models import Facility, Placement
from casemgmt.shelter.operations import PlacementError

FIELDS = ("facility_id", "admitted_on", "reflection_period_until", "discharged_on", "discharge_reason",
          "discharge_note")


def snapshot(placement: Placement) -> dict:
    data = {name: getattr(placement, name) for name in FIELDS if name != "discharge_note"}
    data["discharge_note"] = unseal(placement, "discharge_note")
    return data


def _form():
    return CorrectPlacementForm(formdata=None, facilities=facility_choices(None))


KIND = revisions.Kind(
    name="placement", title=lambda: str(_l("Shelter placement")), read_action=Action.PLACEMENT_MANAGE,
    fields=FIELDS, events=("placement.correct", "placement.delete"), snapshot=snapshot,
    describe=lambda content: revisions.describe(content, _form(), FIELDS),
)


def facility_choices(case_id: str | None) -> list[tuple[int, str]]:
    """Every facility of the case's organisation (a stay may have been in one no longer taking admissions)."""
    case = db.session.get(Case, case_id) if case_id else None
    query = select(Facility.id, Facility.name).order_by(Facility.name)
    if case is not None:
        query = query.where(Facility.organisation_id == case.organisation_id)
    return [(fid, name) for fid, name in db.session.execute(query)]


def load(actor, case_id: str, placement_id: str, action: Action, deleted: bool = False) -> Placement:
    """A placement of the case the actor may act on; a deleted one answers 404 unless `deleted` asks for it (its
    history, and a correction sent after someone deleted it, which the conflict page explains)."""
    placement = db.session.get(Placement, placement_id) if placement_id and len(placement_id) <= 36 else None
    if placement is None or placement.case_id != case_id or (placement.is_deleted and not deleted):
        raise NotFound()
    authorize(actor, action, placement)
    return placement


def _clean(placement: Placement, values: dict) -> dict:
    admitted_on = operations._check_date(
        values.get("admitted_on"), gettext("Give the admission date."),
        gettext("The admission date cannot be in the future."), gettext("The admission date is too far in the past."),
    )
    reflection = values.get("reflection_period_until") or None
    operations.check_reflection_period(admitted_on, reflection)
    facility_id = values.get("facility_id")
    if placement.discharged_on is None:
        # A stay still going ends with the discharge form, which records who discharged and when.
        ending = values.get("discharged_on") or values.get("discharge_reason")
        if ending or (values.get("discharge_note") or "").strip():
            raise PlacementError(gettext("This stay is still going: record its end with the discharge form on the "
                                         "shelter page, not with a correction."))
        discharged_on, reason, note = None, None, None
    else:
        reason = values.get("discharge_reason") or None
        discharged_on, note = operations._check_discharge(admitted_on, values.get("discharged_on"), reason,
                                                          values.get("discharge_note"))
    return {"facility_id": facility_id, "admitted_on": admitted_on, "reflection_period_until": reflection,
            "discharged_on": discharged_on, "discharge_reason": reason, "discharge_note": note}


def _check_place(placement: Placement, cleaned: dict) -> None:
    """The corrected stay must be one the person could have had: checked under the locks admissions take (the case,
    then the facility), so a correction and an admission never both take the last bed."""
    case = placement.case
    lock_row(Case, case.id, Case.updated_at)
    facility_id = cleaned["facility_id"]
    facility = db.session.get(Facility, facility_id) if isinstance(facility_id, int) else None
    if facility is None or facility.organisation_id != case.organisation_id:
        raise PlacementError(gettext("Choose one of the facilities of the case's organisation."))
    still_going = placement.discharged_on is None
    moved = facility.id != placement.facility_id
    if moved or cleaned["admitted_on"] != placement.admitted_on:
        operations._check_age_group(case, facility, cleaned["admitted_on"])
    if still_going and moved:
        facility = operations._lock_facility(facility.id)
        if not facility.active:
            raise PlacementError(gettext("%(facility)s is not taking admissions.", facility=facility.name))
        taken = operations.open_count(facility.id)
        if taken >= facility.bed_capacity:
            raise PlacementError(gettext(
                "%(facility)s is full: %(taken)d of %(capacity)d beds are taken. Choose another facility.",
                facility=facility.name, taken=taken, capacity=facility.bed_capacity))
    end = cleaned["discharged_on"]
    others = select(Placement.id).where(
        Placement.case_id == case.id, Placement.id != placement.id, Placement.live(),
        (Placement.discharged_on.is_(None)) | (Placement.discharged_on > cleaned["admitted_on"]),
    )
    if end is not None:
        others = others.where(Placement.admitted_on < end)
    if db.session.scalar(others.limit(1)) is not None:
        raise PlacementError(gettext("These dates overlap another placement of this person."))


def correct_placement(actor, placement: Placement, values: dict, base: int | None,
                      reason: str | None = None) -> list[str]:
    """Correct a placement from version `base` (core/versions.py: EditConflict instead of overwriting a newer one)."""
    authorize(actor, Action.PLACEMENT_CORRECT, placement)
    # Before the checks: a stay discharged (or deleted) since the form was opened is a newer version, and the
    # editor is shown it, rather than told that the discharge date is missing.
    versions.check(placement, KIND.name, base, lambda: snapshot(placement), values, FIELDS)
    cleaned = _clean(placement, values)

    def apply(changed: list[str]) -> None:
        if {"facility_id", "admitted_on", "discharged_on"} & set(changed):
            _check_place(placement, cleaned)
        for name in changed:
            if name == "discharge_note":
                seal(placement, "discharge_note", cleaned["discharge_note"])
            else:
                setattr(placement, name, cleaned[name])

    return revisions.correct(actor, KIND, placement, cleaned, base, reason, apply)


def delete_placement(actor, placement: Placement, reason: str | None, base: int | None) -> None:
    """Delete a placement recorded by mistake; one still going frees its bed."""
    authorize(actor, Action.PLACEMENT_DELETE, placement)
    reason = revisions.clean_reason(reason)
    if reason is None:
        raise PlacementError(gettext("Say why the placement is deleted."))
    revisions.delete(actor, KIND, placement, reason, base, PlacementError(gettext(
        "Someone else changed or deleted this placement after you opened it. Look at it again before deleting "
        "it.")))
