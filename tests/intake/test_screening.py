"""Screening interviews: consent, validation, the finding becoming the case's status, who may record and read."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from casemgmt.cases import operations as case_ops
from casemgmt.cases.models import Case
from casemgmt.consent import operations as consent_ops
from casemgmt.extensions import db
from casemgmt.intake import operations
from casemgmt.intake.models import Screening
from tests import factories
from tests.intake.conftest import events

NOTES = "Describes the Tacna olive farm and the foreman's threats"


def consent(actor, case, **values):
    record = consent_ops.record_consent(actor, case, {
        "obtained_on": date.today(), "language": "es", "point_interview": True, **values,
    })
    db.session.commit()
    return record


def _screenings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Screening))


@pytest.fixture
def screened(app, w):
    """A case of the first NGO's caseworker (possible victim, decided by the NGO) with a consent to the interview."""
    with app.app_context():
        case = factories.case(w.caseworker)
        record = consent(w.caseworker, case)
        return case.id, record.id, case.version


def test_a_screening_sets_the_cases_trafficking_status(app, web, w, screened):
    case_id, consent_id, version = screened
    web.login("caseworker")
    form = web.get(f"/cases/{case_id}/screening/new").get_data(as_text=True)
    assert f'value="{consent_id}"' in form and "The person declined to give consent" in form
    response = web.post(f"/cases/{case_id}/screening/new", {
        "screened_on": date.today().isoformat(), "consent": consent_id, "interpreter_used": "y",
        "interpreter_name": "Wilfredo Ccahuana", "language": "ay", "indicators": ["Threats", "NoPay"],
        "finding": "ActualVictimOfTrafficking", "decided_by": "Police", "notes": NOTES,
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/cases/{case_id}/contacts"
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.trafficking_status, case.status_decided_by) == ("ActualVictimOfTrafficking", "Police")
        assert case.version == version + 1 and case.updated_by_id == w.caseworker.id
        update = events("case.update")
        assert [json.loads(e.details) for e in update] == [{"fields": ["trafficking_status", "status_decided_by"]}]
        recorded = json.loads(events("screening.record")[0].details)
        assert recorded["consent"] == "recorded" and "notes" in recorded["fields"]
        screening = db.session.scalars(select(Screening)).one()
        assert screening.consent_record_id == consent_id and screening.indicators == "NoPay,Threats"
        raw = db.session.execute(text("SELECT notes, interpreter_name FROM screenings")).one()
        assert b"Tacna" not in bytes(raw[0]) and b"Ccahuana" not in bytes(raw[1])
        assert b"Tacna" not in b"".join(str(r).encode() for r in db.session.execute(text("SELECT * FROM audit_events")))
    page = web.get(f"/cases/{case_id}/contacts").get_data(as_text=True)
    for shown in ("Victim of trafficking", "decided by Police", "Wilfredo Ccahuana", "Tacna olive farm",
                  "No pay or very little pay"):
        assert shown in page, shown
    assert "Victim of trafficking (Police)" in web.get(f"/cases/{case_id}").get_data(as_text=True)


def test_the_same_finding_again_changes_nothing_on_the_case(ctx, world):
    case = factories.case(world.caseworker)  # PossibleVictimOfTrafficking, NGO
    record = consent(world.caseworker, case)
    version = case.version
    operations.record_screening(world.caseworker, case, {
        "screened_on": date.today(), "consent": record.id, "finding": "PossibleVictimOfTrafficking",
        "decided_by": "NGO",
    })
    db.session.commit()
    assert case.version == version and events("case.update") == []


def test_bad_screenings_are_refused_and_nothing_is_saved(app, web, w, screened):
    case_id, consent_id, version = screened
    base = {"screened_on": date.today().isoformat(), "consent": consent_id, "finding": "PossibleVictimOfTrafficking",
            "decided_by": "NGO"}
    web.login("caseworker")
    for change, message in [
        ({"consent": ""}, "Link the consent the interview relied on, or record that the person declined."),
        ({"consent": "00000000-0000-4000-8000-000000000000"}, "Not a valid choice"),
        ({"finding": "", "decided_by": ""}, "Record the finding of the screening."),
        ({"finding": ""}, "Choose the finding first."),
        ({"decided_by": ""}, "Say who decided the finding."),
        ({"finding": "Maybe"}, "Not a valid choice"),
        ({"screened_on": (date.today() + timedelta(days=1)).isoformat()}, "This date is in the future."),
        ({"screened_on": ""}, "This field is required."),
        ({"screened_on": "12/04/2024"}, "Not a valid date value."),
        ({"interpreter_used": "y"}, "Give the interpreter's name."),
        ({"interpreter_name": "Someone"}, "or leave the name empty."),
        ({"indicators": "Gossip"}, "is not a valid choice"),
    ]:
        response = web.post(f"/cases/{case_id}/screening/new", {**base, **change})
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
    # Consent comes before the interview.
    early = web.post(f"/cases/{case_id}/screening/new",
                     {**base, "screened_on": (date.today() - timedelta(days=3)).isoformat()})
    assert early.status_code == 422
    assert "The consent was obtained after the interview date" in early.get_data(as_text=True)
    assert _screenings(app) == 0
    with app.app_context():
        assert db.session.get(Case, case_id).version == version


def test_only_an_active_interview_consent_of_the_same_case_will_do(ctx, world):
    case = factories.case(world.caseworker)
    other = factories.case(world.caseworker, given_name="Otra")
    other_consent = consent(world.caseworker, other)
    withdrawn = consent(world.caseworker, case)
    consent_ops.withdraw_consent(world.caseworker, withdrawn, "Changed her mind")
    db.session.commit()
    values = {"screened_on": date.today(), "finding": "PossibleVictimOfTrafficking", "decided_by": "NGO"}
    for choice, message in [(other_consent.id, "Link the consent"), (withdrawn.id, "has been withdrawn"),
                            ("x" * 40, "Link the consent"), (None, "Link the consent")]:
        with pytest.raises(operations.IntakeError, match=message):
            operations.record_screening(world.caseworker, case, {**values, "consent": choice})
    for bad, message in [({"finding": "Maybe"}, "Choose the finding"), ({"decided_by": None}, "needs who decided"),
                         ({"screened_on": date.today() + timedelta(days=1)}, "future"),
                         ({"interpreter_used": True}, "interpreter's name"), ({"language": "zz"}, "language")]:
        with pytest.raises(operations.IntakeError, match=message):
            operations.record_screening(world.caseworker, case, {**values, "consent": "declined", **bad})
    assert db.session.scalar(select(func.count()).select_from(Screening)) == 0


def test_a_person_may_decline_and_the_screening_records_it(ctx, world):
    case = factories.case(world.caseworker, trafficking_status=None, status_decided_by=None)
    screening = operations.record_screening(world.caseworker, case, {
        "screened_on": date.today(), "consent": "declined", "indicators": ["Isolation"],
    })
    db.session.commit()
    assert screening.consent_declined and screening.consent_record_id is None
    assert case.trafficking_status is None and events("case.update") == []
    assert json.loads(events("screening.record")[0].details)["consent"] == "declined"


def test_who_may_record_and_read_screenings(app, web, w):
    with app.app_context():
        by_hotline = factories.case(w.hotline)
        hotline_consent = consent(w.hotline, by_hotline)
        theirs = factories.case(w.caseworker2)
        referred = factories.case(w.caseworker)
        consent_id = consent(w.caseworker, referred).id
        operations.record_screening(w.caseworker, referred, {
            "screened_on": date.today(), "consent": consent_id, "finding": "ActualVictimOfTrafficking",
            "decided_by": "NGO", "notes": NOTES,
        })
        factories.accepted_referral(referred, w.mission_org)
        db.session.commit()
        ids = {"hotline": by_hotline.id, "theirs": theirs.id, "referred": referred.id}
        hotline_consent_id = hotline_consent.id
    data = {"screened_on": date.today().isoformat(), "consent": hotline_consent_id,
            "finding": "PossibleVictimOfTrafficking", "decided_by": "NGO"}
    web.login("hotline")
    # A hotline operator screens during intake, in a case of theirs...
    assert web.post(f"/cases/{ids['hotline']}/screening/new", data).status_code == 302
    # ...not once the case has moved on.
    with app.app_context():
        case_ops.change_stage(w.supervisor, db.session.get(Case, ids["hotline"]), "shelter", None)
        db.session.commit()
    assert web.get(f"/cases/{ids['hotline']}/screening/new").status_code == 403
    assert web.get(f"/cases/{ids['theirs']}/screening/new").status_code == 404
    assert web.get(f"/cases/{ids['theirs']}/contacts").status_code == 404
    web.logout()
    # Screenings are not in the referral scope (access/scope.py): the mission the case was referred to does not
    # learn that a screening happened, nor its finding, nor the notes.
    web.login("mission")
    page = web.get(f"/cases/{ids['referred']}/contacts")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Victim of trafficking" not in html and "Tacna" not in html and "Record a screening" not in html
    assert "Screening interviews" not in html
    assert web.get(f"/cases/{ids['referred']}/screening/new").status_code == 403
    web.logout()
    web.login("admin")
    assert web.get(f"/cases/{ids['referred']}/contacts").status_code == 403
    assert _screenings(app) == 2


def test_timeline_entries_show_what_happened_without_free_text(ctx, world):
    from casemgmt.intake import timeline
    from tests.intake.conftest import contact

    case = factories.case(world.caseworker)
    call = contact(world.hotline, call_type="crisis", indicators=["Debt"], summary="Secret summary text",
                   caller_name="Secret caller")
    operations.mark_handled(world.hotline, call)
    operations.attach_contact(world.caseworker, call, case.reference)
    elsewhere = contact(world.caseworker2, summary="Other organisation's call")
    elsewhere.case_id = case.id  # an unlikely link across organisations: still not shown to this one
    db.session.commit()
    record = consent(world.caseworker, case)
    operations.record_screening(world.caseworker, case, {
        "screened_on": date.today(), "consent": record.id, "finding": "ActualVictimOfTrafficking",
        "decided_by": "NGO", "notes": "Secret interview notes",
    })
    db.session.commit()
    found = timeline.entries(world.caseworker, case)
    assert sorted(e.kind for e in found) == ["contact", "contact", "screening"]
    titles = {e.title for e in found}
    assert "Hotline contact: Crisis (help within 24 hours or imminent danger)" in titles
    assert "Contact handled" in titles and "Screening: Victim of trafficking" in titles
    text_of_all = " ".join(f"{e.title} {e.detail} {e.actor}" for e in found)
    assert "Secret" not in text_of_all and "Other organisation" not in text_of_all
    assert "Debt owed" in text_of_all
    assert timeline.entries(world.caseworker2, case) == []
    assert timeline.entries(world.admin, case) == []


def test_timeline_and_case_page_queries_do_not_grow_with_the_records(app, ctx, world):
    from sqlalchemy import event

    from casemgmt.consent import timeline as consent_timeline
    from casemgmt.intake import timeline
    from tests.intake.conftest import contact

    case = factories.case(world.caseworker)
    record = consent(world.caseworker, case)

    def add(n: int) -> None:
        for _ in range(n):
            call = contact(world.hotline, call_type="crisis")
            operations.mark_handled(world.hotline, call)
            operations.attach_contact(world.caseworker, call, case.reference)
            operations.record_screening(world.caseworker, case, {
                "screened_on": date.today(), "consent": record.id, "finding": "PossibleVictimOfTrafficking",
                "decided_by": "NGO"})
            consent(world.caseworker, case)
        db.session.commit()

    def statements() -> int:
        seen = []
        db.session.expire_all()
        listener = lambda *_args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            found = timeline.entries(world.caseworker, case) + consent_timeline.entries(world.caseworker, case)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert found
        return len(seen)

    add(1)
    few = statements()
    add(5)
    assert statements() == few
