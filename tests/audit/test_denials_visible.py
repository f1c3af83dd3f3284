"""Finding 10: a denied look at another organisation's case was filed under the prober's organisation only, so the
organisation whose case was probed never learnt of it. It is now filed under the owning organisation too
(subject_organisation_id): its supervisors see it in /audit/, on the case's access log and as a count on their home
page, while the prober still gets the 404 of an id that does not exist. And a supervisor still sees nothing of other
organisations beyond the events about their own."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import or_, select

from casemgmt.audit import queries
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from casemgmt.intake import operations as intake
from tests import factories
from tests.audit.pages import accounts, events_listed, kinds
from tests.audit.test_viewer import browser
from tests.cli.support import make_world, request, user


@pytest.fixture
def probed(app):
    """caseworker2 (Camino Seguro) asks for a case and a contact of Casa Esperanza."""
    ids = make_world(app)
    with request(app):
        case = factories.case(user("caseworker"))
        contact = intake.log_contact(user("hotline"), {"channel": "phone", "call_type": "tip"})
        db.session.commit()
        ids.case, ids.case_ref, ids.contact = case.id, case.reference, contact.id
    prober = browser(app, "caseworker2")
    ids.foreign = prober.get(f"/cases/{ids.case}")
    ids.missing = prober.get(f"/cases/{uuid.uuid4()}")
    ids.foreign_contact = prober.get(f"/intake/contacts/{ids.contact}")
    return ids


def _denials(app):
    with request(app):
        return db.session.execute(
            select(AuditEvent.actor_name, AuditEvent.organisation_id, AuditEvent.subject_organisation_id,
                   AuditEvent.object_type, AuditEvent.case_id)
            .where(AuditEvent.action == "access.denied").order_by(AuditEvent.seq)
        ).all()


def test_the_prober_learns_nothing_new(probed):
    assert probed.foreign.status_code == probed.missing.status_code == 404
    def page(response) -> str:
        # What differs by nature: the reference id of each error page, the id asked for, the CSRF token's timestamp.
        html = re.sub(r"Reference: [0-9a-f]+", "Reference: ?", response.get_data(as_text=True))
        html = re.sub(r"/cases/[0-9a-f-]{36}", "/cases/?", html)
        return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token"', html)

    assert page(probed.foreign) == page(probed.missing)
    assert probed.foreign_contact.status_code == 404


def test_the_denial_is_filed_under_the_owning_organisation(app, probed):
    assert _denials(app) == [
        ("caseworker2", probed.ngo2, probed.ngo, "case", probed.case),
        ("caseworker2", probed.ngo2, probed.ngo, "contact", None),  # an object with its own organisation_id
    ]


def test_a_denial_inside_the_organisation_names_no_subject(app, probed):
    # A caseworker outside the case's scope gets a 403 in their own organisation: it is already the organisation's.
    assert browser(app, "caseworkerb").get(f"/cases/{probed.case}").status_code == 403
    assert _denials(app)[-1] == ("caseworkerb", probed.ngo, None, "case", probed.case)


def test_the_owning_supervisor_sees_the_denied_attempt_in_the_audit_trail(app, probed):
    supervisor = browser(app, "supervisor")
    html = supervisor.get("/audit/?denied=1").get_data(as_text=True)
    rows = [(e["Account"], e["Organisation"], e["Object"]) for e in events_listed(html)]
    assert rows == [
        ("caseworker2", "Camino Seguro", f"contact {probed.contact}"),
        ("caseworker2", "Camino Seguro", f"case {probed.case}"),
    ]
    assert set(kinds(html)) == {"access.denied"}
    everything = supervisor.get("/audit/").get_data(as_text=True)
    assert "caseworker2" in accounts(everything)


def test_the_owning_supervisor_sees_it_on_the_cases_access_log(app, probed):
    html = browser(app, "supervisor").get(f"/cases/{probed.case}/access-log").get_data(as_text=True)
    rows = [(e["Account"], e["Kind"], e["sentence"]) for e in events_listed(html)]
    assert ("caseworker2", "access.denied", f"Caseworker2 was refused access to the case {probed.case_ref}") in rows
    assert ("caseworker", "case.create", f"Caseworker opened the case {probed.case_ref}") in rows


def test_the_owning_supervisor_is_told_on_the_home_and_audit_pages(app, probed):
    supervisor = browser(app, "supervisor")
    message = "2 denied attempts by users of other organisations to reach your organisation's records in the last 30"
    assert message in supervisor.get("/").get_data(as_text=True)
    assert message in supervisor.get("/audit/").get_data(as_text=True)
    # The prober's own supervisor sees their user's denials (as before), but no signal about their own records.
    other = browser(app, "supervisor2")
    assert "denied-signal" not in other.get("/").get_data(as_text=True)
    assert accounts(other.get("/audit/?denied=1").get_data(as_text=True)) == ["caseworker2", "caseworker2"]


def test_the_probers_supervisor_sees_nothing_of_the_probed_organisation(app, probed):
    html = browser(app, "supervisor2").get("/audit/").get_data(as_text=True)
    assert not set(accounts(html)) & {"caseworker", "caseworkerb", "supervisor", "hotline", "admin"}
    assert "Casa Esperanza" not in [e["Organisation"] for e in events_listed(html)]


def _visible_seqs(app, username: str, per_page: int, **filters) -> list[int]:
    with request(app):
        actor = user(username)
        seqs, number = [], 1
        while True:
            page = queries.events_page(actor, per_page=per_page, page=number, **filters)
            seqs += [e.seq for e in page.items]
            if not page.has_next:
                return seqs
            number += 1


def _expected_seqs(app, organisation_id: int, *conditions) -> list[int]:
    with request(app):
        return db.session.scalars(
            select(AuditEvent.seq).where(
                or_(AuditEvent.organisation_id == organisation_id,
                    AuditEvent.subject_organisation_id == organisation_id),
                *conditions,
            ).order_by(AuditEvent.seq.desc())
        ).all()


@pytest.mark.parametrize("per_page", [3, 7, 50])
def test_a_supervisor_sees_exactly_their_own_and_the_events_about_them_page_by_page(app, probed, per_page):
    # More events on every side: the other organisation's own, system ones, and more probes both ways.
    with request(app):
        factories.case(user("caseworker2"))
        db.session.commit()
        from casemgmt.audit import record_event

        for n in range(5):
            record_event("test.about", actor=SYSTEM, subject_organisation_id=probed.ngo, details={"n": n})
            record_event("test.elsewhere", actor=SYSTEM, subject_organisation_id=probed.ngo2, details={"n": n})
        db.session.commit()
    browser(app, "caseworker").get(f"/cases/{probed.case}")
    for username, expected_org in (("supervisor", probed.ngo), ("supervisor2", probed.ngo2)):
        seqs = _visible_seqs(app, username, per_page)
        assert seqs == _expected_seqs(app, expected_org)  # newest first, no gap, no duplicate, nothing else
        assert _visible_seqs(app, username, per_page, denied_only=True) == _expected_seqs(
            app, expected_org, AuditEvent.action == "access.denied")
    with request(app):
        others = set(db.session.scalars(select(AuditEvent.seq).where(
            AuditEvent.organisation_id == probed.ngo2,
            or_(AuditEvent.subject_organisation_id.is_(None), AuditEvent.subject_organisation_id != probed.ngo),
        )))
    assert others and not others & set(_visible_seqs(app, "supervisor", per_page))


def test_the_signal_counts_the_last_30_days_only(app, probed):
    with request(app):
        old = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).first()
        old.occurred_at = old.occurred_at.replace(year=old.occurred_at.year - 1)  # (the chain is not checked here)
        db.session.commit()
        assert queries.denied_attempts_on_organisation(user("supervisor")) == 1
        assert queries.denied_attempts_on_organisation(user("supervisor2")) == 0
