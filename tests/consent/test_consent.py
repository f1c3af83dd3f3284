"""Consent records: HTCDS's seven points, validation, child assent, withdrawal, has_consent(), who may do what."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case
from casemgmt.consent import operations
from casemgmt.consent.models import SEVEN_POINTS, ConsentRecord
from casemgmt.consent.queries import has_consent
from casemgmt.extensions import db
from tests import factories

FULL = {
    "obtained_on": date.today().isoformat(), "language": "ht", "interpreter_used": "y",
    "interpreter_name": "Wiltrude Fénelon", "notes": "Asked about Gonaïves relatives",
    **{p: "y" for p in SEVEN_POINTS}, "consents_to_share": "y", "consents_to_return": "y",
}


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _records(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ConsentRecord))


def _values(**overrides) -> dict:
    return {"obtained_on": date.today(), "language": "es", "point_interview": True, **overrides}


@pytest.fixture
def case_id(app, w):
    with app.app_context():
        return factories.case(w.caseworker).id


def test_recording_and_withdrawing_consent_through_the_page(app, web, w, case_id):
    web.login("caseworker")
    empty = web.get(f"/cases/{case_id}/consent")
    assert empty.status_code == 200 and "No consent has been recorded" in empty.get_data(as_text=True)
    response = web.post(f"/cases/{case_id}/consent/new", FULL)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = web.get(f"/cases/{case_id}/consent").get_data(as_text=True)
    for shown in ("Active", "Wiltrude Fénelon", "Haitian Creole", "Gonaïves", "Consents to assisted voluntary return",
                  "Withdraw consent"):
        assert shown in page, shown
    with app.app_context():
        record = db.session.scalars(select(ConsentRecord)).one()
        record_id = record.id
        assert record.obtained_by_id == w.caseworker.id and all(getattr(record, p) for p in SEVEN_POINTS)
        assert has_consent(case_id, "share") and has_consent(case_id, "return")
        assert not has_consent(case_id, "police_report")
        details = json.loads(_events("consent.record")[0].details)
        assert "consents_to_return" in details["fields"] and "notes" in details["fields"]
        raw = db.session.execute(text("SELECT * FROM consent_records")).one()
        stored = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in raw if v)
        assert b"Wiltrude" not in stored and b"Gona" not in stored
    # A reason is required to withdraw.
    missing = web.post(f"/cases/{case_id}/consent/{record_id}/withdraw", {"reason": "  "})
    assert missing.status_code == 422 and "This field is required." in missing.get_data(as_text=True)
    withdrawn = web.post(f"/cases/{case_id}/consent/{record_id}/withdraw", {"reason": "Fears for her son in Jérémie"})
    assert withdrawn.status_code == 302
    page = web.get(f"/cases/{case_id}/consent").get_data(as_text=True)
    assert "Withdrawn" in page and "Fears for her son in Jérémie" in page and "Withdraw consent" not in page
    with app.app_context():
        assert not has_consent(case_id, "share") and not has_consent(case_id, "return")
        record = db.session.get(ConsentRecord, record_id)
        assert record.withdrawn_by_id == w.caseworker.id and record.withdrawn_at is not None
        assert json.loads(_events("consent.withdraw")[0].details) == {
            "withdrawn": ["consents_to_return", "consents_to_share"]}
        reason = db.session.execute(text("SELECT withdrawal_reason FROM consent_records")).scalar_one()
        assert "Jérémie".encode() not in bytes(reason) and b"son in" not in bytes(reason)
        assert len(_events("consent.view")) == 4  # every page shown, the refused withdrawal's too
    again = web.post(f"/cases/{case_id}/consent/{record_id}/withdraw", {"reason": "Twice"})
    assert again.status_code == 422 and "already been withdrawn" in again.get_data(as_text=True)
    with app.app_context():
        assert len(_events("consent.withdraw")) == 1


def test_bad_consent_is_refused_with_a_message_and_nothing_is_saved(app, web, w, case_id):
    web.login("caseworker")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for change, message in [
        ({"obtained_on": tomorrow}, "This date is in the future."),
        ({"obtained_on": ""}, "This field is required."),
        ({"obtained_on": "12/04/2024"}, "Not a valid date value."),
        ({"language": ""}, "This field is required."),
        ({"language": "xx"}, "Not a valid choice"),
        ({"interpreter_name": ""}, "Give the interpreter's name."),
        ({"interpreter_used": ""}, "or leave the name empty."),
        ({"point_interview": ""}, "A consent record needs at least the consent (or assent) to the interview."),
        ({"notes": "x" * 5001}, "Field cannot be longer than 5000 characters."),
    ]:
        response = web.post(f"/cases/{case_id}/consent/new", {**FULL, **change})
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
    assert _records(app) == 0


def test_the_operation_enforces_the_same_rules(ctx, world):
    case = factories.case(world.caseworker)
    for bad, message in [
        ({"obtained_on": date.today() + timedelta(days=1)}, "future"),
        ({"obtained_on": None}, "which day"),
        ({"obtained_on": date(1850, 1, 1)}, "too far in the past"),
        ({"language": "klingon"}, "language"),
        ({"interpreter_used": True}, "interpreter's name"),
        ({"interpreter_name": "Ana"}, "no interpreter is marked"),
        ({"point_interview": False}, "at least the consent"),
        ({"notes": "x" * 5001}, "too long"),
    ]:
        with pytest.raises(operations.ConsentError, match=message):
            operations.record_consent(world.caseworker, case, _values(**bad))
    assert db.session.scalar(select(func.count()).select_from(ConsentRecord)) == 0


def test_a_child_needs_assent_and_a_guardians_consent(app, web, w):
    """A child by the date of birth alone (no "unaccompanied or separated" box): the form asks for the child's
    assent and who consented for the child, and refuses the record without both (issue 12)."""
    with app.app_context():
        minor = factories.case(w.caseworker, date_of_birth=date.today().replace(
            year=date.today().year - 15) - timedelta(days=3)).id
    web.login("caseworker")
    page = web.get(f"/cases/{minor}/consent").get_data(as_text=True)
    assert "Who gave consent for the child (name)" in page and "The child assents" in page
    refused = web.post(f"/cases/{minor}/consent/new", FULL)
    assert refused.status_code == 422
    assert "This person is a child (under 18) on" in refused.get_data(as_text=True)
    only_assent = web.post(f"/cases/{minor}/consent/new", {**FULL, "is_child_assent": "y"})
    assert only_assent.status_code == 422
    assert "assent goes with the consent of a parent, legal guardian or representative" in \
        only_assent.get_data(as_text=True)
    no_relationship = web.post(f"/cases/{minor}/consent/new", {**FULL, "is_child_assent": "y",
                                                               "guardian_name": "María Quispe"})
    assert no_relationship.status_code == 422
    assert "Say how they are related to the child." in no_relationship.get_data(as_text=True)
    assert _records(app) == 0
    accepted = web.post(f"/cases/{minor}/consent/new", {**FULL, "is_child_assent": "y",
                                                        "guardian_name": "María Quispe", "guardian_relationship":
                                                        "parent"})
    assert accepted.status_code == 302
    page = web.get(f"/cases/{minor}/consent").get_data(as_text=True)
    assert "· Child's assent" in page and "Consent for the child given by María Quispe (Parent)." in page
    with app.app_context():
        raw = db.session.execute(text("SELECT guardian_name, guardian_relationship FROM consent_records")).one()
        assert all(b"Quispe" not in bytes(blob) and b"parent" not in bytes(blob) for blob in raw)


def test_an_adult_consents_alone_and_the_form_does_not_ask_for_a_guardian(app, web, w):
    with app.app_context():
        adult = factories.case(w.caseworker).id  # born 1999
    web.login("caseworker")
    assert "Who gave consent for the child" not in web.get(f"/cases/{adult}/consent").get_data(as_text=True)
    refused = web.post(f"/cases/{adult}/consent/new", {**FULL, "is_child_assent": "y", "guardian_name": "Ana",
                                                       "guardian_relationship": "parent"})
    assert refused.status_code == 422
    assert "is 18 or older on" in refused.get_data(as_text=True)
    assert _records(app) == 0


def test_has_consent_follows_active_records_only(ctx, world):
    case = factories.case(world.caseworker)
    assert not has_consent(case.id, "share")
    first = operations.record_consent(world.caseworker, case, _values(consents_to_share=True))
    second = operations.record_consent(world.caseworker, case, _values(consents_to_share=True,
                                                                        consents_to_police_report=True))
    db.session.commit()
    assert has_consent(case.id, "share") and has_consent(case.id, "police_report")
    operations.withdraw_consent(world.caseworker, second, "Changed her mind about the police")
    db.session.commit()
    assert has_consent(case.id, "share") and not has_consent(case.id, "police_report")
    operations.withdraw_consent(world.caseworker, first, "No more sharing")
    db.session.commit()
    assert not has_consent(case.id, "share")
    other = factories.case(world.caseworker, given_name="Otra")
    assert not has_consent(other.id, "share")
    with pytest.raises(ValueError, match="unknown consent purpose"):
        has_consent(case.id, "marketing")
    with pytest.raises(operations.ConsentError, match="already been withdrawn"):
        operations.withdraw_consent(world.caseworker, first, "Again")
    third = operations.record_consent(world.caseworker, case, _values())
    with pytest.raises(operations.ConsentError, match="Say why"):
        operations.withdraw_consent(world.caseworker, third, "   ")


def test_another_organisations_consent_answers_404(app, web, w, case_id):
    with app.app_context():
        case = db.session.get(Case, case_id)
        record_id = operations.record_consent(w.caseworker, case, _values(consents_to_share=True)).id
        db.session.commit()
        mine = factories.case(w.caseworker2).id
    web.login("caseworker2")
    assert web.get(f"/cases/{case_id}/consent").status_code == 404
    assert web.post(f"/cases/{case_id}/consent/new", FULL).status_code == 404
    assert web.post(f"/cases/{case_id}/consent/{record_id}/withdraw", {"reason": "x"}).status_code == 404
    # A record reached through one's own case id is still not one's own.
    assert web.post(f"/cases/{mine}/consent/{record_id}/withdraw", {"reason": "x"}).status_code == 404
    assert web.get("/cases/00000000-0000-4000-8000-000000000000/consent").status_code == 404
    web.logout()
    web.login("admin")
    assert web.get(f"/cases/{case_id}/consent").status_code == 403
    with app.app_context():
        assert has_consent(case_id, "share")
        assert _records(app) == 1


def test_who_may_record_consent(app, web, w, case_id):
    with app.app_context():
        by_hotline = factories.case(w.hotline).id
        factories.accepted_referral(db.session.get(Case, case_id), w.mission_org)
        db.session.commit()
    web.login("hotline")
    assert web.post(f"/cases/{by_hotline}/consent/new", FULL).status_code == 302
    assert web.get(f"/cases/{case_id}/consent").status_code == 403  # same organisation, not the operator's case
    web.logout()
    # The receiving mission documents the consent to return.
    web.login("mission")
    assert web.post(f"/cases/{case_id}/consent/new", FULL).status_code == 302
    web.logout()
    web.login("caseworkerb")  # a colleague who does not work on the case
    assert web.get(f"/cases/{case_id}/consent").status_code == 403
    assert _records(app) == 2


def test_timeline_shows_recorded_and_withdrawn_without_free_text(ctx, world):
    from casemgmt.consent import timeline

    case = factories.case(world.caseworker)
    record = operations.record_consent(world.caseworker, case, _values(
        consents_to_share=True, notes="Secret note", interpreter_used=True, interpreter_name="Secret Interpreter"))
    db.session.commit()
    operations.withdraw_consent(world.supervisor, record, "Secret reason")
    db.session.commit()
    found = timeline.entries(world.caseworker, case)
    assert [e.title for e in sorted(found, key=lambda e: e.at)] == ["Consent recorded", "Consent withdrawn"]
    assert {e.actor for e in found} == {"Caseworker", "Supervisor"}
    assert "sharing with other organisations" in found[0].detail
    assert "Secret" not in " ".join(f"{e.title} {e.detail}" for e in found)
    assert timeline.entries(world.caseworker2, case) == []
    assert timeline.entries(world.admin, case) == []
