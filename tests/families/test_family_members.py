"""Family members on a case: the page, the three flags, the rules of the form (422, form kept, field named), the
database's last line, versions, removal with a reason, encryption and audit."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from casemgmt.cases.models import new_uuid
from casemgmt.extensions import db
from casemgmt.families import operations, queries
from casemgmt.families.models import FamilyMember
from casemgmt.revisions.models import RecordRevision
from tests.families.support import AUNT, FATHER, MOTHER, TODAY, add, as_user, events, form_data, open_request


def _members(app, case_id: str) -> list[FamilyMember]:
    with app.app_context():
        found = queries.live_members(case_id)
        db.session.expunge_all()
        return found


def test_a_caseworker_adds_family_members_and_the_page_shows_the_flags(app, scene):
    web = as_user(app, "caseworker")
    for values in (MOTHER, FATHER, AUNT):
        response = web.post(f"/cases/{scene.case_id}/family/new", form_data(values))
        assert response.status_code == 302, response.get_data(as_text=True)
    page = web.get(f"/cases/{scene.case_id}/family")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Mirlande" in html and "Jean-Louis" in html and "Wilfrid" in html and "Mireille" in html
    # The age from the date of birth, the whereabouts and the flags in words.
    assert f"<td>{TODAY.year - 1985 - ((TODAY.month, TODAY.day) < (3, 2))}</td>" in html
    assert "family-flag-involved" in html and "May be involved in the trafficking" in html
    assert "bg-danger" in html and "table-danger family-involved" in html
    assert "Safe contact" in html and "May be told where the person is." in html
    assert "Must not be told where the person is." in html
    assert [m.relationship_code for m in _members(app, scene.case_id)] == ["mother", "father", "aunt_uncle"]
    # The tab is there for the caseworker.
    assert f'href="/cases/{scene.case_id}/family"' in html


@pytest.mark.parametrize("values, field, message", [
    ({**FATHER, "may_be_told_location": True}, "may_be_told_location", "never told where the person is"),
    ({**FATHER, "safe_contact": True}, "safe_contact", "is not a safe contact"),
    ({**MOTHER, "date_of_birth": date(TODAY.year + 1, 1, 1)}, "date_of_birth", "This date is in the future."),
    ({**MOTHER, "date_of_birth": "31/31/2000"}, "date_of_birth", "Not a valid date value."),
    ({**MOTHER, "relationship_code": "landlord"}, "relationship_code", "Not a valid choice"),
    ({**MOTHER, "relationship_code": ""}, "relationship_code", "Choose the relationship."),
    ({**MOTHER, "given_name": "", "family_name": ""}, "given_name", "Give a name"),
    ({**MOTHER, "country": "XX"}, "country", "Not a valid choice"),
    ({**MOTHER, "whereabouts": "moon"}, "whereabouts", "Not a valid choice"),
    ({**MOTHER, "phone": "call me"}, "phone", "Digits, spaces"),
    ({**MOTHER, "notes": "x" * 6000}, "notes", "Field cannot be longer"),
])
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(app, scene, values, field, message):
    web = as_user(app, "caseworker")
    response = web.post(f"/cases/{scene.case_id}/family/new", form_data(values))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-errors"' in html and message in html
    assert "Rue Capois" in html or "Took her to the recruiter" in html  # the form is kept
    assert _members(app, scene.case_id) == []


def test_the_operation_refuses_the_two_flags_whatever_the_form_sends(app, scene, ctx):
    from tests.families.support import user

    with pytest.raises(operations.FamilyError) as refused:
        add(scene.case_id, {**FATHER, "may_be_told_location": True})
    assert refused.value.field == "may_be_told_location"
    member = add(scene.case_id, FATHER)
    assert not queries.may_learn_location(member)
    assert "involved in the trafficking" in queries.location_refusal(member)
    with pytest.raises(operations.FamilyError):
        operations.edit_member(user("caseworker"), member, {**FATHER, "may_be_told_location": True}, None)


def test_the_database_refuses_the_two_flags_together(app, scene, ctx):
    """The last line: a row written without the operations (a script, a bug) is refused by the check."""
    db.session.add(FamilyMember(id=new_uuid(), case_id=scene.case_id, relationship_code="father",
                                possibly_involved=True, may_be_told_location=True))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    member = add(scene.case_id, FATHER)
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE family_members SET may_be_told_location = :t WHERE id = :id"),
                           {"t": True, "id": member.id})
    db.session.rollback()


def test_may_learn_location(app, scene, ctx):
    aunt = add(scene.case_id, AUNT)
    mother = add(scene.case_id, MOTHER)
    assert queries.may_learn_location(aunt) and queries.location_refusal(aunt) is None
    assert not queries.may_learn_location(mother)
    assert "has not agreed" in queries.location_refusal(mother)
    dead = add(scene.case_id, {**AUNT, "whereabouts": "deceased"})
    assert not queries.may_learn_location(dead) and queries.location_refusal(dead) == "Recorded as deceased."


def test_edit_is_version_checked_and_keeps_the_version_it_replaced(app, scene):
    with app.app_context():
        member_id = add(scene.case_id, MOTHER).id
    web = as_user(app, "caseworker")
    url = f"/cases/{scene.case_id}/family/{member_id}/edit"
    page = web.get(url).get_data(as_text=True)
    assert 'value="Mirlande"' in page and 'name="version" type="hidden" value="1"' in page
    saved = web.post(url, form_data({**MOTHER, "given_name": "Mirlande Rose", "version": "1"}))
    assert saved.status_code == 302
    # A colleague's form, filled from version 1, now meets version 2: the conflict page, nothing overwritten.
    stale = web.post(url, form_data({**MOTHER, "given_name": "Marie", "version": "1"}))
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "Someone else saved this family member" in html and "Mirlande Rose" in html
    with app.app_context():
        member = db.session.get(FamilyMember, member_id)
        assert queries.reveal(member)["given_name"] == "Mirlande Rose" and member.version == 2
        revision = db.session.scalar(select(RecordRevision).where(RecordRevision.record_id == member_id))
        assert revision.change == "correct" and revision.version == 1
        edit = events("family.edit")[-1]
        assert json.loads(edit.details)["fields"] == ["given_name"]
    # Bad input on the edit form: 422, the field named.
    bad = web.post(url, form_data({**MOTHER, "possibly_involved": True, "may_be_told_location": True,
                                   "version": "2"}))
    assert bad.status_code == 422 and 'id="may_be_told_location-errors"' in bad.get_data(as_text=True)


def test_removal_needs_a_reason_and_leaves_the_row_marked(app, scene):
    with app.app_context():
        member_id = add(scene.case_id, MOTHER).id
    web = as_user(app, "caseworker")
    url = f"/cases/{scene.case_id}/family/{member_id}/remove"
    refused = web.post(url, {"removal_reason": " ", "version": "1"})
    assert refused.status_code == 422 and 'id="removal_reason-errors"' in refused.get_data(as_text=True)
    assert web.post(url, {"removal_reason": "Recorded on the wrong case.", "version": "1"}).status_code == 302
    assert "Mirlande" not in web.get(f"/cases/{scene.case_id}/family").get_data(as_text=True)
    assert web.get(f"/cases/{scene.case_id}/family/{member_id}/edit").status_code == 404
    with app.app_context():
        member = db.session.get(FamilyMember, member_id)
        assert member.deleted_at is not None and member.deleted_by_id is not None
        assert queries.live_members(scene.case_id) == []
        revision = db.session.scalar(select(RecordRevision).where(RecordRevision.record_id == member_id))
        assert revision.change == "delete" and b"wrong case" not in bytes(revision.reason.blob)
        assert json.loads(events("family.remove")[-1].details)["revision"] == revision.id


def test_a_member_with_an_open_tracing_request_is_not_removed(app, scene, ctx):
    from tests.families.support import user

    mother = add(scene.case_id, MOTHER)
    open_request(mother)
    with pytest.raises(operations.FamilyError, match="close it first"):
        operations.remove_member(user("caseworker"), mother, "Wrong case", None)


def test_identifying_fields_are_encrypted_in_the_row(app, scene, ctx):
    member = add(scene.case_id, MOTHER)
    row = db.session.execute(text("SELECT * FROM family_members WHERE id = :id"), {"id": member.id}).one()
    raw = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
    for plaintext in ("Mirlande", "Jean-Louis", "1985-03-02", "3456 7890", "Capois", "market"):
        assert plaintext.encode() not in raw
    assert queries.reveal(member)["family_name"] == "Jean-Louis"


def test_audit_events_carry_codes_and_ids_never_names(app, scene):
    with app.app_context():
        member_id = add(scene.case_id, MOTHER).id
    web = as_user(app, "caseworker")
    web.post(f"/cases/{scene.case_id}/family/{member_id}/edit",
             form_data({**MOTHER, "family_name": "Jean-Louis Pierre", "version": "1"}))
    web.post(f"/cases/{scene.case_id}/family/{member_id}/remove", {"removal_reason": "Twice.", "version": "2"})
    assert web.get(f"/cases/{scene.case_id}/family").status_code == 200
    with app.app_context():
        found = events("family.")
        assert {e.action for e in found} >= {"family.add", "family.edit", "family.remove", "family.view"}
        for event in found:
            blob = event.details
            for word in ("Mirlande", "Jean-Louis", "Pierre", "Jacmel", "market", "Twice"):
                assert word not in blob
        added = next(e for e in found if e.action == "family.add")
        assert json.loads(added.details)["relationship"] == "mother" and added.object_id == member_id
