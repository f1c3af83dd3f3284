"""A hotline contact corrected before it joins a case (issue 12, item 6): its earlier version is sealed under the
contact's own key, moves under the case's key when the contact is attached (with the contact's own text), and is
shredded with the case when the case is erased."""

from __future__ import annotations

import json

import pytest

from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.crypto import aead, unseal
from casemgmt.extensions import db
from casemgmt.intake import corrections, operations
from casemgmt.intake.models import Contact
from casemgmt.revisions import operations as revisions
from casemgmt.revisions.models import RecordRevision
from tests import factories
from tests.intake.conftest import contact


def _values(found: Contact, **changes) -> dict:
    values = {**corrections.snapshot(found), **changes}
    values["occurred_at"] = found.occurred_at
    return values


def test_an_earlier_version_follows_the_contact_under_its_case_key_and_is_shredded_with_it(ctx, w):
    hotline = db.session.merge(w.hotline)
    found = contact(hotline, summary="Sister held in a workshop in Gamarra.", caller_type="FamilyOrFriend")
    corrections.correct_contact(hotline, found, _values(found, summary="Sister held in a garment workshop."),
                                found.version, "Misheard the place.")
    db.session.commit()
    (revision,) = db.session.query(RecordRevision).all()
    assert revision.case_id is None  # no case yet: sealed under the contact's own key
    assert "Gamarra" in json.loads(corrections.KIND.unseal(found, revision, "content"))["summary"]
    with pytest.raises(aead.DecryptionError):
        unseal(revision, "content")  # not under any case's key

    case = factories.case(db.session.merge(w.caseworker))
    operations.attach_contact(db.session.merge(w.caseworker), found, case.reference)
    db.session.commit()
    db.session.expire_all()
    revision = db.session.get(RecordRevision, revision.id)
    assert revision.case_id == case.id
    shown = revisions.history(db.session.merge(w.supervisor), corrections.KIND, db.session.get(Contact, found.id))
    assert "Sister held in a workshop in Gamarra." in dict(shown[0].fields).values()
    assert shown[0].reason == "Misheard the place."

    cases.erase_case(db.session.merge(w.supervisor), db.session.get(Case, case.id))
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(aead.DecryptionError):
        unseal(db.session.get(RecordRevision, revision.id), "content")


def test_a_correction_keeps_the_police_report_rule(ctx, w):
    hotline = db.session.merge(w.hotline)
    found = contact(hotline, actions=["police_report"], consent_to_share=True)
    with pytest.raises(operations.IntakeError) as refused:
        corrections.correct_contact(hotline, found, _values(found, consent_to_share=False), found.version)
    assert "needs the caller's consent" in str(refused.value)
    db.session.rollback()
    corrections.correct_contact(hotline, found, _values(found, consent_to_share=False, immediate_danger=True),
                                found.version)
    db.session.commit()
    assert db.session.get(Contact, found.id).police_report_basis == "imminent_danger"


def test_a_deleted_contact_cannot_be_attached_or_opened_as_a_case(app, w):
    from tests.conftest import signed_in

    with app.test_request_context():
        hotline = db.session.merge(w.hotline)
        found = contact(hotline, call_type="crisis")
        corrections.delete_contact(hotline, found, "A test call.", found.version)
        db.session.commit()
        contact_id = found.id
    web = signed_in(app, "hotline")
    assert web.get(f"/intake/contacts/{contact_id}").status_code == 404
    assert web.get(f"/intake/contacts/{contact_id}/open-case").status_code == 404
    assert web.post(f"/intake/contacts/{contact_id}/attach", {"reference": "C-XXXX"}).status_code == 404
    history = web.get(f"/intake/contacts/{contact_id}/history").get_data(as_text=True)
    assert "A test call." in history
