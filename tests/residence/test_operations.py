"""The rules of the stay, on the operations: who may join a reunification, T-4/T-5, the fund request, the order of
documents, travel and arrival, reunified on the last arrival, one open reunification, services, cancellation."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from casemgmt.audit.models import AuditEvent
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.residence import operations
from casemgmt.residence.models import ProtectionStatus, Reunification, ReunificationMember
from casemgmt.residence.operations import ResidenceError
from tests import factories
from tests.residence.support import (
    DAYS,
    TODAY,
    count,
    family_member,
    journey,
    reunification_with,
    t_visa,
    travel_request,
)


def test_a_possibly_involved_member_or_one_not_to_be_told_never_joins(world):
    case = factories.case(world.caseworker)
    involved = family_member(case, "father", "Mario", involved=True)
    untold = family_member(case, "sibling", "Rosa", told=False)
    dead = family_member(case, "mother", "Ana", whereabouts="deceased")
    made = operations.open_reunification(world.caseworker, case)
    for member, sentence in ((involved, "May be involved in the trafficking"),
                             (untold, "has not agreed"), (dead, "deceased")):
        with pytest.raises(ResidenceError) as refused:
            operations.add_member(world.caseworker, made, {"family_member_id": member.id})
        assert sentence in str(refused.value) and refused.value.field == "family_member_id"
        assert "tells them where the person lives" in str(refused.value)
    assert count(ReunificationMember) == 0


def test_a_member_of_another_case_or_removed_cannot_join(world):
    case, other = factories.case(world.caseworker), factories.case(world.caseworker)
    stranger = family_member(other)
    made = operations.open_reunification(world.caseworker, case)
    with pytest.raises(ResidenceError, match="one of the case's family members"):
        operations.add_member(world.caseworker, made, {"family_member_id": stranger.id})
    removed = family_member(case)
    removed.deleted_at = removed.created_at
    with pytest.raises(ResidenceError, match="one of the case's family members"):
        operations.add_member(world.caseworker, made, {"family_member_id": removed.id})


def test_a_member_joins_once(world):
    case = factories.case(world.caseworker)
    child = family_member(case)
    made, _ = reunification_with(world.caseworker, case, child)
    with pytest.raises(ResidenceError, match="already part"):
        operations.add_member(world.caseworker, made, {"family_member_id": child.id})


def test_t4_and_t5_only_for_a_victim_under_21_at_her_application(world):
    adult = factories.case(world.caseworker, date_of_birth=TODAY.replace(year=TODAY.year - 30))
    parent = family_member(adult, "mother")
    made = operations.open_reunification(world.caseworker, adult)
    with pytest.raises(ResidenceError, match="record the person's T visa application"):
        operations.add_member(world.caseworker, made, {"family_member_id": parent.id, "derivative_kind": "t4"})
    t_visa(world.caseworker, adult, applied_on=TODAY - 100 * DAYS)
    with pytest.raises(ResidenceError, match="not surely under 21") as refused:
        operations.add_member(world.caseworker, made, {"family_member_id": parent.id, "derivative_kind": "t5"})
    assert refused.value.field == "derivative_kind"
    # 22 today, 20 when she applied two years ago: her parents may follow as T-4.
    young = factories.case(world.caseworker, date_of_birth=TODAY.replace(year=TODAY.year - 22) - 10 * DAYS)
    t_visa(world.caseworker, young, applied_on=TODAY - 730 * DAYS)
    mother = family_member(young, "mother")
    joined = operations.add_member(world.caseworker, operations.open_reunification(world.caseworker, young),
                                   {"family_member_id": mother.id, "derivative_kind": "t4"})
    assert joined.derivative_kind == "t4"
    # The rule also holds when the kind is changed later.
    adult_child = family_member(adult)
    member = operations.add_member(world.caseworker, made, {"family_member_id": adult_child.id,
                                                             "derivative_kind": "t3"})
    with pytest.raises(ResidenceError, match="not surely under 21"):
        operations.update_member(world.caseworker, made, member, journey(member, derivative_kind="t4"))


def test_the_travel_is_paid_only_by_a_request_of_this_case_for_reunification_travel(world):
    case, other = factories.case(world.caseworker), factories.case(world.caseworker)
    own, prj = travel_request(world.caseworker, case, world.ngo)
    foreign, _ = travel_request(world.caseworker, other, world.ngo, prj)
    made, (member,) = reunification_with(world.caseworker, case, family_member(case))
    db.session.commit()
    with pytest.raises(ResidenceError, match="fund requests for family reunification travel") as refused:
        operations.update_member(world.caseworker, made, member,
                                 journey(member, travel_on=TODAY - 2 * DAYS, fund_request_id=foreign.id))
    assert refused.value.field == "fund_request_id"
    db.session.rollback()
    assert db.session.get(ReunificationMember, member.id).fund_request_id is None
    made, member = db.session.get(Reunification, made.id), db.session.get(ReunificationMember, member.id)
    operations.update_member(world.caseworker, made, member,
                             journey(member, travel_on=TODAY - 2 * DAYS, fund_request_id=own.id))
    assert member.fund_request_id == own.id


@pytest.mark.parametrize(("values", "field", "sentence"), [
    ({"document_status": "none", "document_issued_on": None}, "document_status", "no dates"),
    ({"document_status": "applied", "document_applied_on": None, "document_issued_on": None},
     "document_applied_on", "applied for"),
    ({"document_status": "applied", "document_issued_on": TODAY}, "document_issued_on", "no issue date"),
    ({"document_issued_on": None}, "document_issued_on", "were issued"),
    ({"document_issued_on": TODAY - 90 * DAYS}, "document_issued_on", "before they were applied for"),
    ({"document_issued_on": TODAY + DAYS}, "document_issued_on", "future"),
    ({"document_status": "applied", "document_issued_on": None, "travel_on": TODAY}, "travel_on",
     "once the documents are issued"),
    ({"travel_on": TODAY - 30 * DAYS}, "travel_on", "before the documents were issued"),
    ({"arrived_on": TODAY - 5 * DAYS}, "travel_on", "travel date before the arrival"),
    ({"travel_on": TODAY - 5 * DAYS, "arrived_on": TODAY - 6 * DAYS}, "arrived_on", "before the journey"),
    ({"travel_on": TODAY, "arrived_on": TODAY + DAYS}, "arrived_on", "future"),
    ({"travel_on": TODAY + 1000 * DAYS}, "travel_on", "too far ahead"),
])
def test_documents_travel_and_arrival_come_in_order(world, values, field, sentence):
    case = factories.case(world.caseworker)
    made, (member,) = reunification_with(world.caseworker, case, family_member(case))
    with pytest.raises(ResidenceError, match=sentence) as refused:
        operations.update_member(world.caseworker, made, member, journey(member, **values))
    assert refused.value.field == field


def test_reunified_when_the_last_member_arrives(world):
    case = factories.case(world.caseworker)
    made, (first, second) = reunification_with(world.caseworker, case, family_member(case, given="Lucía"),
                                               family_member(case, given="Mateo"))
    assert made.status == "planning"
    operations.update_member(world.caseworker, made, first, journey(first))
    assert made.status == "in_progress"
    operations.update_member(world.caseworker, made, first,
                             journey(first, travel_on=TODAY - 10 * DAYS, arrived_on=TODAY - 9 * DAYS))
    assert (made.status, made.reunified_on) == ("in_progress", None)
    operations.update_member(world.caseworker, made, second,
                             journey(second, travel_on=TODAY - 4 * DAYS, arrived_on=TODAY - 3 * DAYS))
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Reunification, made.id)
    assert (stored.status, stored.reunified_on) == ("reunified", TODAY - 3 * DAYS)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("reunification.%")).order_by(AuditEvent.seq))]
    assert actions.count("reunification.arrived") == 2
    # Reunified: nothing changes any more, and no new member joins.
    with pytest.raises(ResidenceError, match="no longer changes"):
        operations.add_member(world.caseworker, stored, {"family_member_id": family_member(case).id})


def test_one_open_reunification_per_case(world):
    case = factories.case(world.caseworker)
    made = operations.open_reunification(world.caseworker, case)
    with pytest.raises(ResidenceError, match="already has a family reunification"):
        operations.open_reunification(world.caseworker, case)
    operations.cancel_reunification(world.caseworker, made, "The children's father refused to sign the consent.")
    again = operations.open_reunification(world.caseworker, case)
    assert again.status == "planning" and count(Reunification) == 2


def test_the_unique_index_keeps_one_open_reunification_when_the_check_is_passed(world, monkeypatch):
    """Two requests at the same instant both pass the read-then-write check; the index refuses the second."""
    case = factories.case(world.caseworker)
    operations.open_reunification(world.caseworker, case)
    db.session.commit()
    monkeypatch.setattr(operations.queries, "open_reunification", lambda case_id: None)
    with pytest.raises(ResidenceError, match="already has a family reunification"):
        operations.open_reunification(world.caseworker, case)
    assert count(Reunification) == 1


def test_cancelling_needs_a_reason_which_is_encrypted(world):
    case = factories.case(world.caseworker)
    made = operations.open_reunification(world.caseworker, case)
    with pytest.raises(ResidenceError, match="Say why"):
        operations.cancel_reunification(world.caseworker, made, "  ")
    operations.cancel_reunification(world.caseworker, made, "Her husband threatened the children's aunt.")
    db.session.commit()
    raw = db.session.execute(text("SELECT cancellation_reason FROM reunifications WHERE id = :id"),
                             {"id": made.id}).scalar()
    assert raw is not None and b"threatened" not in bytes(raw)
    assert "threatened" in unseal(db.session.get(Reunification, made.id), "cancellation_reason")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "reunification.cancel"))
    assert "threatened" not in str(event.details)


def test_services_come_after_an_arrival(world):
    case = factories.case(world.caseworker)
    child = family_member(case)
    made, (member,) = reunification_with(world.caseworker, case, child)
    with pytest.raises(ResidenceError, match="nobody has arrived"):
        operations.record_service(world.caseworker, made, {"kind": "reception", "provided_on": TODAY})
    operations.update_member(world.caseworker, made, member,
                             journey(member, travel_on=TODAY - 5 * DAYS, arrived_on=TODAY - 4 * DAYS))
    with pytest.raises(ResidenceError, match="before the first arrival"):
        operations.record_service(world.caseworker, made, {"kind": "reception", "provided_on": TODAY - 6 * DAYS})
    with pytest.raises(ResidenceError, match="future"):
        operations.record_service(world.caseworker, made, {"kind": "school", "provided_on": TODAY + DAYS})
    service = operations.record_service(world.caseworker, made, {"kind": "school", "provided_on": TODAY,
                                                                 "family_member_id": child.id,
                                                                 "notes": "Enrolled in 3rd grade at PS 12."})
    assert unseal(service, "notes") == "Enrolled in 3rd grade at PS 12."


def test_the_status_reference_and_notes_are_encrypted_and_the_audit_names_no_value(world):
    case = factories.case(world.caseworker)
    status = t_visa(world.caseworker, case, notes="Interview with the FBI agent in Houston.")
    db.session.commit()
    row = db.session.execute(text("SELECT reference, notes, certifying_agency FROM protection_statuses")).one()
    assert b"EAC-26" not in bytes(row[0]) and b"Houston" not in bytes(row[1])
    assert row[2] == "HHS Office on Trafficking in Persons"  # an agency: plaintext, on purpose
    assert unseal(db.session.get(ProtectionStatus, status.id), "reference") == "EAC-26-123-45678"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "status.record"))
    assert "EAC" not in str(event.details) and "Houston" not in str(event.details)
    assert json.loads(event.details)["kind"] == "t_visa" and event.object_id == status.id


def test_a_closed_case_changes_no_status(world):
    case = factories.case(world.caseworker)
    case.stage = "closed"
    with pytest.raises(ResidenceError, match="closed"):
        t_visa(world.caseworker, case)
