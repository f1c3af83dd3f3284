"""Counseling corrections (issue 12, item 6): a session deleted by mistake no longer counts as the follow-up of an
earlier one, and the history of a session keeps its notes need-to-know."""

from __future__ import annotations

from datetime import timedelta

from casemgmt.counseling import corrections, worklist
from casemgmt.extensions import db
from tests import factories
from tests.conftest import signed_in
from tests.counseling.support import TODAY, session


def test_a_deleted_later_session_no_longer_counts_as_the_follow_up(ctx, w):
    caseworker = db.session.merge(w.caseworker)
    case = factories.case(caseworker, assigned_to_id=caseworker.id)
    session(caseworker, case, held_on=TODAY - timedelta(days=10), follow_up_on=TODAY + timedelta(days=2))
    later = session(caseworker, case, held_on=TODAY - timedelta(days=1))
    assert worklist.items(caseworker) == []  # followed up by the later session
    corrections.delete_session(caseworker, later, "Recorded on the wrong case.", later.version)
    db.session.commit()
    assert [item.title for item in worklist.items(caseworker)] == [f"Psychosocial follow-up: {case.reference}"]


def test_the_history_of_a_session_is_for_those_who_may_read_its_notes(app, w):
    with app.test_request_context():
        caseworker = db.session.merge(w.caseworker)
        case = factories.case(caseworker, assigned_to_id=caseworker.id)
        made = session(caseworker, case, notes="Habló de la deuda por primera vez.")
        values = {**corrections.snapshot(made), "notes": "Habló de la deuda."}
        corrections.correct_session(caseworker, made, values, made.version, "Too much detail.")
        db.session.commit()
        ids = case.id, made.id
        factories.user(db.session.merge(w.ngo), "mission_staff", "ngomission")
    url = f"/cases/{ids[0]}/counseling/{ids[1]}/history"
    assert "por primera vez" in signed_in(app, "supervisor").get(url).get_data(as_text=True)
    assert signed_in(app, "ngomission").get(url).status_code == 403  # sees that sessions took place, not notes
    page = signed_in(app, "caseworker").get(f"/cases/{ids[0]}/counseling/{ids[1]}").get_data(as_text=True)
    assert url in page
