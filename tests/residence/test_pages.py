"""The pages: every refusal answers 422 with the form as typed, the sentence next to its field and nothing saved;
the reunification page offers only the family members who may join and says why the others may not."""

from __future__ import annotations

import re

import pytest

from casemgmt.extensions import db
from casemgmt.residence import operations
from casemgmt.residence.models import ProtectionStatus, Reunification, ReunificationMember, ReunificationService
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

GOOD = {"country": "US", "kind": "t_visa", "state": "granted", "applied_on": str(TODAY - 300 * DAYS),
        "decided_on": str(TODAY - 10 * DAYS), "valid_until": str(TODAY + 1400 * DAYS),
        "certifying_agency": "USCIS Vermont Service Center", "work_authorisation": "y",
        "reference": "EAC-999-KEEP", "notes": "Bona fide determination first."}


def _case(app, w, **overrides) -> str:
    with app.app_context():
        return factories.case(w.caseworker, **overrides).id


def _count(app, model) -> int:
    with app.app_context():
        return count(model)


@pytest.mark.parametrize(("changes", "sentence"), [
    ({"country": ""}, "This field is required."),
    ({"kind": "z_visa"}, "Not a valid choice"),
    ({"decided_on": ""}, "Give the date of the decision."),
    ({"state": "refused", "decided_on": "", "valid_until": ""}, "Give the date of the decision."),
    ({"decided_on": str(TODAY - 400 * DAYS)}, "The decision cannot come before the application"),
    ({"decided_on": str(TODAY + DAYS)}, "This date cannot be in the future."),
    ({"applied_on": str(TODAY + 3 * DAYS), "decided_on": "", "state": "applied", "valid_until": ""},
     "This date cannot be in the future."),
    ({"valid_until": str(TODAY - 20 * DAYS)}, "The status must end after the decision"),
    ({"state": "applied", "decided_on": "", "valid_until": str(TODAY + 9 * DAYS)}, "Only a granted"),
    ({"state": "applied", "decided_on": "", "valid_until": "", "applied_on": ""},
     "Give the date of the application."),
    ({"state": "applied", "valid_until": ""}, "has no decision date"),
    ({"certifying_agency": "A" * 121}, "at most 120 characters"),
    ({"applied_on": "2025-13-45"}, "Not a valid date value"),
    ({"reference": "R" * 101}, "At most 100 characters"),
])
def test_every_bad_status_is_refused_with_the_form_kept_and_nothing_saved(app, web, w, changes, sentence):
    case_id = _case(app, w)
    web.login("caseworker")
    data = {**GOOD, **changes}
    if "reference" not in changes:
        data["reference"] = "EAC-999-KEEP"
    response = web.post(f"/cases/{case_id}/stay/status/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    assert sentence in html
    assert 'is-invalid' in html
    if "reference" not in changes:
        assert 'value="EAC-999-KEEP"' in html  # the form as typed
    assert _count(app, ProtectionStatus) == 0


def test_a_status_recorded_and_edited_through_the_pages(app, web, w):
    case_id = _case(app, w)
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/stay")
    assert page.status_code == 200 and "Record a status" in page.get_data(as_text=True)
    assert web.get(f"/cases/{case_id}/stay/status/new").status_code == 200
    assert web.post(f"/cases/{case_id}/stay/status/new", GOOD).status_code == 302
    shown = web.get(f"/cases/{case_id}/stay").get_data(as_text=True)
    assert "EAC-999-KEEP" in shown and "USCIS Vermont Service Center" in shown
    with app.app_context():
        record = db.session.query(ProtectionStatus).one()
        status_id, version = record.id, record.version
    edit = f"/cases/{case_id}/stay/status/{status_id}/edit"
    form = web.get(edit).get_data(as_text=True)
    assert re.search(rf'name="version"[^>]*value="{version}"', form)
    saved = web.post(edit, {**GOOD, "certifying_agency": "FBI Houston Field Office", "version": str(version)})
    assert saved.status_code == 302
    # A second edit from the version the first one replaced is shown the conflict page.
    stale = web.post(edit, {**GOOD, "certifying_agency": "ICE HSI", "version": str(version)})
    assert stale.status_code == 409
    with app.app_context():
        assert db.session.get(ProtectionStatus, status_id).certifying_agency == "FBI Houston Field Office"
    # A bad edit: 422, the form kept, nothing changed.
    bad = web.post(edit, {**GOOD, "decided_on": "", "certifying_agency": "Somebody", "version": str(version + 1)})
    assert bad.status_code == 422 and 'value="Somebody"' in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ProtectionStatus, status_id).certifying_agency == "FBI Houston Field Office"


def _member_post(web, reunification_id, member_id, values: dict, version: int):
    prefix = f"m{member_id[:8]}"
    token = web.token("/account")
    data = {f"{prefix}-{k}": ("" if v is None else str(v)) for k, v in values.items()}
    data.update({f"{prefix}-version": str(version), f"{prefix}-csrf_token": token, "csrf_token": token})
    return web.post(f"/reunifications/{reunification_id}/members/{member_id}", data)


def test_the_reunification_through_the_pages(app, web, w):
    with app.app_context():
        case = factories.case(w.caseworker)
        child = family_member(case, given="Lucía")
        father = family_member(case, "father", given="Mario", involved=True)
        db.session.commit()
        case_id, child_id, father_id = case.id, child.id, father.id
    web.login("caseworker")
    opened = web.post(f"/cases/{case_id}/stay/reunification/new", {"notes": "Two children in Huancayo."})
    assert opened.status_code == 302
    url = opened.headers["Location"]
    reunification_id = url.rsplit("/", 1)[1]
    again = web.post(f"/cases/{case_id}/stay/reunification/new", {"notes": ""})
    assert again.status_code == 422 and "already has a family reunification" in again.get_data(as_text=True)
    assert _count(app, Reunification) == 1
    page = web.get(url).get_data(as_text=True)
    # The father, possibly involved, is not offered, and the page says why.
    assert f'value="{child_id}"' in page and f'value="{father_id}"' not in page
    assert "Mario" in page and "May be involved in the trafficking" in page
    refused = web.post(f"{url}/members", {"family_member_id": father_id, "derivative_kind": "t2"})
    assert refused.status_code == 422 and "May be involved in the trafficking" in refused.get_data(as_text=True)
    assert _count(app, ReunificationMember) == 0
    assert web.post(f"{url}/members", {"family_member_id": child_id, "derivative_kind": "t3"}).status_code == 302
    with app.app_context():
        member = db.session.query(ReunificationMember).one()
        member_id, version = member.id, member.version
    # Travel before the documents are issued: 422, the dates kept, nothing saved.
    bad = _member_post(web, reunification_id, member_id, {
        "derivative_kind": "t3", "document_status": "applied", "document_applied_on": TODAY - 30 * DAYS,
        "travel_on": TODAY - 2 * DAYS}, version)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Travel is recorded once the documents are issued." in html
    assert str(TODAY - 2 * DAYS) in html
    with app.app_context():
        assert db.session.get(ReunificationMember, member_id).document_status == "none"
    done = _member_post(web, reunification_id, member_id, {
        "derivative_kind": "t3", "document_status": "issued", "document_applied_on": TODAY - 30 * DAYS,
        "document_issued_on": TODAY - 10 * DAYS, "travel_on": TODAY - 2 * DAYS,
        "arrived_on": TODAY - DAYS}, version)
    assert done.status_code == 302
    shown = web.get(url).get_data(as_text=True)
    assert "Reunified" in shown and "Record a service" in shown
    service = web.post(f"{url}/services/new", {"kind": "reception", "provided_on": str(TODAY),
                                               "family_member_id": "", "notes": "Met at the airport."})
    assert service.status_code == 302
    too_early = web.post(f"{url}/services/new", {"kind": "school", "provided_on": str(TODAY - 5 * DAYS),
                                                 "family_member_id": child_id, "notes": "KEPT NOTE"})
    html = too_early.get_data(as_text=True)
    assert too_early.status_code == 422 and "before the first arrival" in html and "KEPT NOTE" in html
    assert _count(app, ReunificationService) == 1


def test_a_fund_request_of_another_case_is_refused_on_the_page(app, web, w):
    with app.app_context():
        case, other = factories.case(w.caseworker), factories.case(w.caseworker)
        own, prj = travel_request(w.caseworker, case, w.ngo)
        foreign, _ = travel_request(w.caseworker, other, w.ngo, prj)
        made, (member,) = reunification_with(w.caseworker, case, family_member(case))
        db.session.commit()
        ids = made.id, member.id, member.version, own.id, foreign.id
    reunification_id, member_id, version, own_id, foreign_id = ids
    web.login("caseworker")
    page = web.get(f"/reunifications/{reunification_id}").get_data(as_text=True)
    assert f'value="{own_id}"' in page and f'value="{foreign_id}"' not in page
    assert f"/cases/{made.case_id}/fund" in page  # the link to ask the fund
    values = {"derivative_kind": "t3", "document_status": "issued", "document_applied_on": TODAY - 30 * DAYS,
              "document_issued_on": TODAY - 10 * DAYS, "travel_on": TODAY - 2 * DAYS}
    refused = _member_post(web, reunification_id, member_id, {**values, "fund_request_id": foreign_id}, version)
    assert refused.status_code == 422
    assert "fund requests for family reunification travel" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ReunificationMember, member_id).fund_request_id is None
    paid = _member_post(web, reunification_id, member_id, {**values, "fund_request_id": own_id}, version)
    assert paid.status_code == 302
    with app.app_context():
        assert db.session.get(ReunificationMember, member_id).fund_request_id == own_id


def test_cancelling_on_the_page_needs_a_reason(app, web, w):
    with app.app_context():
        made = operations.open_reunification(w.caseworker, factories.case(w.caseworker))
        db.session.commit()
        reunification_id = made.id
    web.login("caseworker")
    url = f"/reunifications/{reunification_id}"
    assert web.post(f"{url}/cancel", {"cancellation_reason": ""}).status_code == 422
    assert web.post(f"{url}/cancel", {"cancellation_reason": "The family chose to stay."}).status_code == 302
    with app.app_context():
        assert db.session.get(Reunification, reunification_id).status == "cancelled"


def test_the_worklist_and_timeline_tell_of_the_stay(app, web, w):
    with app.app_context():
        case = factories.case(w.caseworker, assigned_to_id=w.caseworker.id)
        t_visa(w.caseworker, case, state="granted", decided_on=TODAY - 1400 * DAYS,
               applied_on=TODAY - 1500 * DAYS, valid_until=TODAY + 30 * DAYS, work_authorisation=True)
        made, (member,) = reunification_with(w.caseworker, case, family_member(case))
        operations.update_member(w.caseworker, made, member, journey(member, travel_on=TODAY - 3 * DAYS,
                                                                    arrived_on=TODAY - 2 * DAYS))
        db.session.commit()
        case_id, ref = case.id, case.reference
    web.login("caseworker")
    home = web.get("/").get_data(as_text=True)
    assert f"T visa (T-1, United States) of case {ref} expires on" in home
    timeline = web.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    assert "Family reunified" in timeline and "A family member arrived" in timeline
    assert "Applied for T visa" in timeline
    # A renewal applied for takes the warning away.
    with app.app_context():
        t_visa(w.caseworker, factories_case(case_id), applied_on=TODAY - DAYS)
        db.session.commit()
    assert f"of case {ref} expires on" not in web.get("/").get_data(as_text=True)


def factories_case(case_id: str):
    from casemgmt.cases.models import Case

    return db.session.get(Case, case_id)
