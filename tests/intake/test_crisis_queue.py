"""A crisis contact leaves the crisis queue once someone acts on it: marked handled, or linked to a case (opened from
it or attached to one); the contact page then links the case."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.extensions import db
from casemgmt.intake import operations, queries, worklist
from casemgmt.intake.models import Contact
from tests import factories
from tests.intake.conftest import contact

PERSON = {"given_name": "Ana", "family_name": "Huamán", "birth_year": "2009", "unaccompanied_or_separated": False}


def _crisis_titles(app, username: str) -> list[str]:
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return [i.url for i in worklist.items(user) if i.section == "crisis"]


def _queue_order(app, username: str) -> list[tuple[str, bool]]:
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return [(c.id, c.waiting) for c in db.session.scalars(queries.queue_query(user))]


def test_a_crisis_contact_that_opened_or_joined_a_case_leaves_the_crisis_queue(app, web, w):
    with app.app_context():
        opened = contact(w.hotline, call_type="crisis", minor_involved=True).id
        attached = contact(w.hotline, call_type="crisis").id
        waiting = contact(w.hotline, call_type="crisis").id
        existing = factories.case(w.caseworker)
        db.session.commit()
        reference = existing.reference
    with app.test_request_context():
        urls = {url_for("intake.contact", contact_id=c): c for c in (opened, attached, waiting)}
    assert {urls[u] for u in _crisis_titles(app, "caseworker")} == {opened, attached, waiting}

    with app.app_context():
        hotline = db.session.get(User, w.hotline.id)
        case = operations.open_case_from_contact(hotline, db.session.get(Contact, opened), PERSON)
        caseworker = db.session.get(User, w.caseworker.id)
        operations.attach_contact(caseworker, db.session.get(Contact, attached), reference)
        db.session.commit()
        opened_reference, case_id = case.reference, case.id

    # Neither on the home page's crisis list...
    assert {urls[u] for u in _crisis_titles(app, "caseworker")} == {waiting}
    web.login("caseworker")
    home = web.get("/").get_data(as_text=True)
    assert home.count("Crisis contact of") == 1
    # ...nor waiting on top of the intake queue; the one nobody has acted on still is.
    order = _queue_order(app, "caseworker")
    assert order[0] == (waiting, True)
    assert dict(order)[opened] is False and dict(order)[attached] is False
    queue = web.get("/intake/").get_data(as_text=True)
    assert queue.count("contact-waiting") == 1

    # The contact page says which case it opened, and links it (for whoever may open that case: here the operator
    # who opened it).
    joined = web.get(f"/intake/contacts/{attached}").get_data(as_text=True)
    assert "This contact was attached to the case:" in joined and reference in joined
    web.logout()
    web.login("hotline")
    page = web.get(f"/intake/contacts/{opened}").get_data(as_text=True)
    assert "Crisis: waiting" not in page and "This contact opened the case:" in page
    assert f'href="/cases/{case_id}"' in page and opened_reference in page
