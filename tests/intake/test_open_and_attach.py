"""A contact opens a new case (after a duplicate check) or is attached to an existing one."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select, text

from casemgmt.accounts.models import Organisation
from casemgmt.cases import operations as case_ops
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.intake import sealing
from casemgmt.intake.models import Contact
from tests import factories
from tests.intake.conftest import contact, events

PERSON = {"given_name": "maría josé", "family_name": "QUISPE  mamani", "birth_year": "1999"}


def _cases(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case))


def _contact_of(app, actor, **values) -> str:
    with app.app_context():
        return contact(actor, **values).id


def test_a_contact_with_no_known_person_opens_a_case_at_once(app, web, w):
    contact_id = _contact_of(app, w.hotline, caller_type="PotentialVictim", caller_name="Yessenia",
                             caller_phone="+51 900 100 200", language="qu", summary="Escaped from the Puno mine")
    web.login("hotline")
    form = web.get(f"/intake/contacts/{contact_id}/open-case").get_data(as_text=True)
    assert 'value="Yessenia"' in form and 'value="+51 900 100 200"' in form  # the caller was the person
    response = web.post(f"/intake/contacts/{contact_id}/open-case", {
        "given_name": "Yessenia", "family_name": "Mamani Ccori", "birth_year": "2001", "phone": "+51 900 100 200",
        "languages": ["qu"],
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        case = db.session.scalars(select(Case)).one()
        case_id = case.id
        assert response.headers["Location"] == f"/cases/{case_id}"
        snap = case_ops.snapshot(case)
        assert (snap["given_name"], snap["family_name"], snap["phone"]) == ("Yessenia", "Mamani Ccori",
                                                                              "+51 900 100 200")
        assert case.person.age_band is not None and case.person.languages == "qu"
        assert case.created_by_id == w.hotline.id and case.organisation_id == w.ngo.id
        linked = db.session.get(Contact, contact_id)
        assert (linked.case_id, linked.linked_as) == (case.id, "opened")
        # The contact's text moved under the case's data key: erasing the case will shred it too.
        assert linked.wrapped_key is None and linked.key_version is None
        assert sealing.unseal_contact(linked, "summary") == "Escaped from the Puno mine"
        opened = events("intake.case_opened")
        assert json.loads(opened[0].details) == {"created_anyway": False, "possible_duplicates": 0}
        check = events("intake.duplicate_check")
        assert json.loads(check[0].details) == {"own_organisation_not_open": False, "searched": True, "shown": 0}
    page = web.get(f"/intake/contacts/{contact_id}").get_data(as_text=True)
    assert "Escaped from the Puno mine" in page and f"/cases/{case_id}/contacts" in page
    listing = web.get(f"/cases/{case_id}/contacts").get_data(as_text=True)
    assert "Opened this case" in listing
    # A linked contact cannot open a second case or be attached elsewhere.
    assert web.get(f"/intake/contacts/{contact_id}/open-case").headers["Location"] == f"/intake/contacts/{contact_id}"
    again = web.post(f"/intake/contacts/{contact_id}/open-case", {"given_name": "Otra"})
    assert again.status_code == 422 and "already linked to a case" in again.get_data(as_text=True)
    assert _cases(app) == 1


def test_a_possible_duplicate_in_a_case_the_user_may_open_is_shown_and_can_be_attached(app, web, w):
    with app.app_context():
        existing = factories.case(w.caseworker)
        ref, existing_id = existing.reference, existing.id
    contact_id = _contact_of(app, w.caseworker, caller_type="FamilyOrFriend", caller_name="Tía Elena")
    web.login("caseworker")
    response = web.post(f"/intake/contacts/{contact_id}/open-case", {**PERSON, "document_number": "pe 1234567"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This person may already be known" in page
    assert ref in page and "María José Quispe Mamani" in page
    assert "Name, Year of birth, Identity document number" in page  # what agreed
    assert "Create a new case anyway" in page
    assert _cases(app) == 1
    with app.app_context():
        assert json.loads(events("intake.duplicate_check")[0].details) == {
            "own_organisation_not_open": False, "searched": True, "shown": 1}
        assert "Quispe" not in events("intake.duplicate_check")[0].details
    attached = web.post(f"/intake/contacts/{contact_id}/attach", {"reference": ref})
    assert attached.status_code == 302 and attached.headers["Location"] == f"/cases/{existing_id}/contacts"
    with app.app_context():
        linked = db.session.get(Contact, contact_id)
        assert (linked.case_id, linked.linked_as) == (existing_id, "attached")
        assert sealing.unseal_contact(linked, "caller_name") == "Tía Elena"
        assert len(events("intake.contact_attach")) == 1
    assert _cases(app) == 1


def test_the_exact_date_of_birth_is_reported_when_it_matches(app, web, w):
    with app.app_context():
        factories.case(w.caseworker)
    contact_id = _contact_of(app, w.caseworker)
    web.login("caseworker")
    page = web.post(f"/intake/contacts/{contact_id}/open-case", {
        "given_name": "María José", "family_name": "Quispe Mamani", "date_of_birth": "1999-04-12",
    }).get_data(as_text=True)
    assert "Name, Date of birth" in page  # what agreed


def test_a_match_in_another_organisation_is_not_looked_at(app, web, w):
    """Issue 10, finding 2: naming the organisation that holds a match made the check an oracle; now it answers as for
    a person nobody holds (tests/security/test_duplicate_oracle.py compares the two byte for byte)."""
    with app.app_context():
        theirs = factories.case(w.caseworker2, given_name="Zoila", family_name="Ticona Pari", phone="+57 300 555 0101",
                                address="Calle 10 # 4-21, Bogotá")
        their_ref = theirs.reference
        org = db.session.get(Organisation, w.ngo2.id)
        org.contact = "+57 1 555 0199, casos@caminoseguro.example"
        db.session.commit()
    contact_id = _contact_of(app, w.caseworker)
    web.login("caseworker")
    response = web.post(f"/intake/contacts/{contact_id}/open-case",
                        {"given_name": "Desconocida", "document_number": "PE-1234567"})
    assert response.status_code == 302
    assert _cases(app) == 2
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    for secret in (their_ref, "Zoila", "Ticona", "300 555", "Bogotá", "Camino Seguro", "555 0199",
                   "possible match", "duplicate-report"):
        assert secret not in page, secret
    with app.app_context():
        assert json.loads(events("intake.duplicate_check")[-1].details) == {
            "own_organisation_not_open": False, "searched": True, "shown": 0}
        opened = json.loads(events("intake.case_opened")[0].details)
        assert opened == {"created_anyway": False, "possible_duplicates": 0}


def test_a_hotline_operator_learns_only_that_a_colleague_may_know_the_person(app, web, w):
    with app.app_context():
        colleague = factories.case(w.caseworker)  # same organisation, but not a case the operator may open
        ref = colleague.reference
    contact_id = _contact_of(app, w.hotline)
    web.login("hotline")
    page = web.post(f"/intake/contacts/{contact_id}/open-case", PERSON).get_data(as_text=True)
    assert "A possible match exists in a case of your organisation that you may not open." in page
    assert "Ask your supervisor whether it is the same person." in page
    assert ref not in page and "PE-1234567" not in page
    # Nor can the operator attach the contact to it by guessing the reference.
    refused = web.post(f"/intake/contacts/{contact_id}/attach", {"reference": ref})
    assert refused.status_code == 422
    assert f"No case you may open has the reference {ref}." in refused.get_data(as_text=True)


def test_attaching_needs_a_case_the_user_may_open(app, web, w):
    with app.app_context():
        theirs = factories.case(w.caseworker2).reference
        mine = factories.case(w.caseworker).reference
    contact_id = _contact_of(app, w.caseworker)
    web.login("caseworker")
    for reference, message in [(theirs, f"No case you may open has the reference {theirs}."),
                               ("C-NOPE2345", "No case you may open has the reference C-NOPE2345."),
                               ("<b>bad</b>", "A case reference looks like C-ABCD2345."),
                               ("", "This field is required.")]:
        response = web.post(f"/intake/contacts/{contact_id}/attach", {"reference": reference})
        assert response.status_code == 422, reference
        assert message in response.get_data(as_text=True), reference
    with app.app_context():
        assert db.session.get(Contact, contact_id).case_id is None
    ok = web.post(f"/intake/contacts/{contact_id}/attach", {"reference": mine.lower()})
    assert ok.status_code == 302
    twice = web.post(f"/intake/contacts/{contact_id}/attach", {"reference": mine})
    assert twice.status_code == 422 and "already linked to a case" in twice.get_data(as_text=True)


def test_the_open_case_form_validates(app, web, w):
    contact_id = _contact_of(app, w.caseworker)
    web.login("caseworker")
    for data, message in [({}, "This field is required."),
                          ({"given_name": "Ana", "birth_year": "1850"}, "Give a year of birth between"),
                          ({"given_name": "Ana", "estimated_age": "200"},
                           "An estimated age is between 0 and 120 years."),
                          ({"given_name": "Ana", "birth_year": "2000", "date_of_birth": "1999-01-01"},
                           "The year of birth does not match the date of birth."),
                          ({"given_name": "Ana", "date_of_birth": "2999-01-01"}, "This date is in the future."),
                          ({"given_name": "Ana", "gender": "Robot"}, "Not a valid choice")]:
        response = web.post(f"/intake/contacts/{contact_id}/open-case", data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert _cases(app) == 0


def test_an_erased_case_hides_its_contacts_text(app, web, w):
    with app.app_context():
        case = factories.case(w.caseworker)
        contact_id = contact(w.caseworker, summary="Will be shredded").id
        from casemgmt.intake import operations

        operations.attach_contact(w.caseworker, db.session.get(Contact, contact_id), case.reference)
        db.session.commit()
        case_ops.erase_case(w.supervisor, db.session.get(Case, case.id))
        db.session.commit()
        blob = db.session.execute(text("SELECT summary FROM contacts")).scalar_one()
        assert b"shredded" not in bytes(blob)
    web.login("supervisor")
    page = web.get(f"/intake/contacts/{contact_id}")
    assert page.status_code == 200
    assert "has been erased" in page.get_data(as_text=True)
    with app.app_context():
        # An erased case is never offered as a duplicate.
        from casemgmt.intake import duplicates

        report = duplicates.find_candidates(w.supervisor, "María José", "Quispe Mamani", None, 1999)
        assert report.empty


def test_the_queue_and_contact_links_do_not_leak_references_of_cases_the_user_may_not_open(app, web, w):
    with app.app_context():
        case = factories.case(w.caseworker)
        contact_id = contact(w.hotline).id
        from casemgmt.intake import operations

        operations.attach_contact(w.caseworker, db.session.get(Contact, contact_id), case.reference)
        db.session.commit()
        ref = case.reference
    web.login("hotline")
    page = web.get(f"/intake/contacts/{contact_id}").get_data(as_text=True)
    assert "linked to a case you may not open" in page and ref not in page
    assert ref not in web.get("/intake/").get_data(as_text=True)
    assert re.search(r"linked to a case", web.get("/intake/").get_data(as_text=True))
