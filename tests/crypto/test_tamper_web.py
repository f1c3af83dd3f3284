"""ASVS 6.2.1 / 7.4.1: a tampered ciphertext gives a generic error page with a reference, and an audit event."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.audit.verify import verify_chain
from casemgmt.extensions import db
from tests import factories
from tests.cli.support import make_world, request, user
from tests.crypto.conftest import SECRET_VALUES, flip_byte


def _make_case(app) -> tuple[str, str, str]:
    with request(app):
        case = factories.case(user("caseworker"), **SECRET_VALUES)
        return case.id, case.person.id, case.reference


def test_viewing_a_tampered_case_shows_the_decryption_page_and_audits_it(app, web):
    ids = make_world(app)
    case_id, person_id, reference_code = _make_case(app)
    with request(app):
        flip_byte("persons", "given_name", person_id, 30)

    assert web.login("caseworker").status_code == 302
    response = web.get(f"/cases/{case_id}")

    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "This record could not be decrypted" in html
    shown = re.search(r"Reference: ([0-9a-f]{12})", html)
    assert shown, html
    for leak in ("Traceback", "InvalidTag", "DecryptionError", "persons.given_name", person_id,
                 *SECRET_VALUES.values()):
        assert leak not in html, leak
    assert "no-store" in response.headers.get("Cache-Control", "")

    # The handler committed its event in its own transaction: another session sees it.
    with request(app):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "crypto.decrypt_failed")).all()
        assert len(events) == 1
        event = events[0]
        assert (event.actor_id, event.actor_name, event.organisation_id) == (ids.caseworker, "caseworker", ids.ngo)
        assert (event.object_type, event.object_id, event.case_id, event.outcome) == (
            "persons", person_id, case_id, "failure"
        )
        assert json.loads(event.details) == {"column": "given_name", "reference": shown.group(1)}
        assert reference_code not in event.details
        checked, problems = verify_chain()
        assert problems == [] and checked >= 1


def test_an_untampered_case_still_renders(app, web):
    # The counterpart of the test above: the same page works when nothing was changed.
    make_world(app)
    case_id, _person_id, _ref = _make_case(app)
    web.login("caseworker")
    response = web.get(f"/cases/{case_id}")
    assert response.status_code == 200
    assert SECRET_VALUES["given_name"] in response.get_data(as_text=True)
    with request(app):
        assert db.session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "crypto.decrypt_failed")) is None
