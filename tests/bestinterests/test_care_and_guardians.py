"""Guardians and care arrangements: with dates; a long-term arrangement needs a determination recommending a
placement; a family member who may be involved in the trafficking is never offered, and refused, as guardian or
carer."""

from __future__ import annotations

from sqlalchemy import select

from casemgmt.bestinterests import operations
from casemgmt.bestinterests.models import CareArrangement, Guardian
from casemgmt.bestinterests.operations import BestInterestsError
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from tests.bestinterests.support import DAYS, TODAY, child_case, determined, events, family_member


def _case_with_members(app, w):
    with app.app_context():
        case = child_case(w)
        safe = family_member(case, given_name="Mireille")
        involved = family_member(case, possibly_involved=True, given_name="Wilfrid", relationship="aunt_uncle")
        return case.id, safe.id, involved.id


def test_a_possibly_involved_family_member_is_never_offered_nor_accepted(app, web, w):
    case_id, safe, involved = _case_with_members(app, w)
    web.login("caseworker")
    for kind in ("guardians", "care"):
        page = web.get(f"/cases/{case_id}/best-interests/{kind}/new").get_data(as_text=True)
        assert f'value="{safe}"' in page and "Mireille" in page
        assert f'value="{involved}"' not in page and "Wilfrid" not in page
    refused = web.post(f"/cases/{case_id}/best-interests/guardians/new", {
        "kind": "legal_guardian", "family_member_id": involved, "started_on": str(TODAY)})
    assert refused.status_code == 422
    refused = web.post(f"/cases/{case_id}/best-interests/care/new", {
        "kind": "kinship", "family_member_id": involved, "started_on": str(TODAY)})
    assert refused.status_code == 422
    with app.app_context():
        case = db.session.get(Case, case_id)
        try:
            operations.add_guardian(db.session.merge(w.caseworker), case, {
                "kind": "parent", "family_member_id": involved, "started_on": TODAY})
        except BestInterestsError as exc:
            assert "may be involved in the trafficking" in str(exc)
        else:
            raise AssertionError("a possibly involved member was accepted as guardian")
        db.session.rollback()
        assert db.session.scalar(select(Guardian)) is None and db.session.scalar(select(CareArrangement)) is None
    ok = web.post(f"/cases/{case_id}/best-interests/guardians/new", {
        "kind": "legal_guardian", "family_member_id": safe, "appointed_by": "Juzgado de Familia 3, exp. 114-2026",
        "started_on": str(TODAY - 5 * DAYS)})
    assert ok.status_code == 302
    with app.app_context():
        guardian = db.session.scalar(select(Guardian))
        assert guardian.family_member_id == safe and b"Juzgado" not in guardian.appointed_by.blob
        assert unseal(guardian, "appointed_by").startswith("Juzgado")
        assert [e.action for e in events("guardian.")] == ["guardian.add"]
        assert "Juzgado" not in (events("guardian.")[0].details or "")


def test_a_long_term_arrangement_needs_a_determination_recommending_a_placement(app, web, w):
    case_id, _, _ = _case_with_members(app, w)
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/best-interests/care/new").get_data(as_text=True)
    assert "A long-term care arrangement needs a best-interests determination" in page
    values = {"kind": "foster", "long_term": "y", "carer": "Famille Pierre, Delmas 33", "started_on": str(TODAY)}
    refused = web.post(f"/cases/{case_id}/best-interests/care/new", values)
    assert refused.status_code == 422 and "none has been determined for this child" in refused.get_data(as_text=True)
    with app.app_context():
        determined(w, db.session.get(Case, case_id), "return_to_family")  # not a placement
    assert web.post(f"/cases/{case_id}/best-interests/care/new", values).status_code == 422
    short = web.post(f"/cases/{case_id}/best-interests/care/new", {**values, "long_term": ""})
    assert short.status_code == 302  # a short-term arrangement needs none
    with app.app_context():
        determined(w, db.session.get(Case, case_id), "alternative_care", "placement")
    page = web.get(f"/cases/{case_id}/best-interests/care/new").get_data(as_text=True)
    assert "recommends a long-term placement for this child" in page
    assert web.post(f"/cases/{case_id}/best-interests/care/new", values).status_code == 302
    with app.app_context():
        kinds = sorted((c.long_term, c.kind) for c in db.session.scalars(select(CareArrangement)))
        assert kinds == [(False, "foster"), (True, "foster")]


def test_a_guardian_and_an_arrangement_end_with_a_date_once(app, web, w):
    case_id, _, _ = _case_with_members(app, w)
    web.login("caseworker")
    web.post(f"/cases/{case_id}/best-interests/guardians/new", {
        "kind": "legal_representative", "name": "Lic. Rosa Huamán", "started_on": str(TODAY - 9 * DAYS)})
    web.post(f"/cases/{case_id}/best-interests/care/new", {
        "kind": "residential", "carer": "Hogar San José", "started_on": str(TODAY - 9 * DAYS)})
    with app.app_context():
        guardian_id = db.session.scalar(select(Guardian.id))
        care_id = db.session.scalar(select(CareArrangement.id))
    page = web.get(f"/cases/{case_id}/best-interests").get_data(as_text=True)
    assert "Lic. Rosa Huamán" in page and "Hogar San José" in page and "End the appointment" in page
    early = web.post(f"/cases/{case_id}/best-interests/guardians/{guardian_id}/end",
                     {"ended_on": str(TODAY - 10 * DAYS)})
    assert early.status_code == 422 and "cannot be before the start date" in early.get_data(as_text=True)
    assert web.post(f"/cases/{case_id}/best-interests/guardians/{guardian_id}/end",
                    {"ended_on": str(TODAY)}).status_code == 302
    assert web.post(f"/cases/{case_id}/best-interests/care/{care_id}/end",
                    {"ended_on": str(TODAY - DAYS)}).status_code == 302
    again = web.post(f"/cases/{case_id}/best-interests/care/{care_id}/end", {"ended_on": str(TODAY)})
    assert again.status_code == 422 and "already ended" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Guardian, guardian_id).ended_on == TODAY
        assert db.session.get(CareArrangement, care_id).ended_on == TODAY - DAYS
        assert [e.action for e in events("care.")] == ["care.add", "care.end"]
