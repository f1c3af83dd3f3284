"""Issue 16, item 5: /audit/ in people's words, with filters by user, kind, case and day, paginated, the raw event one
click away; bad filter input answers with a message (never a 500) and another organisation's events never show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from casemgmt.audit import record_event
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.core import zones
from casemgmt.extensions import db
from tests import factories
from tests.audit.pages import accounts, events_listed, kinds
from tests.audit.test_viewer import browser
from tests.cli.support import make_world, request, user


@pytest.fixture
def trail(app):
    """Two cases of Casa Esperanza (one viewed by its supervisor), one of Camino Seguro, and a probe by Camino
    Seguro's caseworker at the first."""
    ids = make_world(app)
    with request(app):
        first = factories.case(user("caseworker"))
        second = factories.case(user("caseworkerb"))
        foreign = factories.case(user("caseworker2"))
        ids.first, ids.first_ref, ids.second_ref = first.id, first.reference, second.reference
        ids.foreign_ref = foreign.reference
    browser(app, "supervisor").get(f"/cases/{ids.first}")
    browser(app, "caseworker2").get(f"/cases/{ids.first}")
    return ids


def page(app, username="supervisor", query=""):
    response = browser(app, username).get(f"/audit/{query}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_trail_reads_as_sentences_with_names_roles_and_times(app, trail):
    html = page(app)
    listed = events_listed(html)
    sentences = [e["sentence"] for e in listed]
    assert f"Supervisor viewed the case {trail.first_ref}" in sentences
    assert f"Caseworker opened the case {trail.first_ref}" in sentences
    assert f"Caseworker2 was refused access to the case {trail.first_ref}" in sentences
    viewed = next(e for e in listed if e["sentence"].startswith("Supervisor viewed"))
    assert viewed["who"].startswith("Supervisor at Casa Esperanza")
    assert "(UTC)" in viewed["when"]  # the organisation's zone (Casa Esperanza keeps UTC in the tests), named
    # No raw code or UUID in the sentences themselves.
    assert not any("case.view" in s or trail.first in s for s in sentences)


def test_the_raw_event_is_one_click_away(app, trail):
    html = page(app)
    with request(app):
        seq, action, chained, previous = db.session.execute(
            select(AuditEvent.seq, AuditEvent.action, AuditEvent.hash, AuditEvent.prev_hash)
            .where(AuditEvent.organisation_id == trail.ngo).order_by(AuditEvent.seq.desc())
        ).first()
    first = events_listed(html)[0]
    assert first["Event"] == str(seq) and first["Kind"] == action
    assert first["Hash"] == chained and first["Previous hash"] == previous
    assert html.count("<details class=\"audit-raw") == len(events_listed(html))


def test_each_filter_narrows_the_list(app, trail):
    everything = events_listed(page(app))
    by_user = page(app, query=f"?user={trail.caseworker}")
    assert set(accounts(by_user)) == {"caseworker"}
    assert 0 < len(events_listed(by_user)) < len(everything)
    by_kind = page(app, query="?action=case.view")
    assert set(kinds(by_kind)) == {"case.view"}
    assert '<option value="case.view" selected>Case viewed</option>' in by_kind
    by_case = page(app, query=f"?case={trail.second_ref.lower()}")  # as typed, in any case
    assert {e["Case id"] for e in events_listed(by_case)} != set() and trail.first not in by_case
    assert all(trail.second_ref in e["sentence"] for e in events_listed(by_case))
    combined = page(app, query=f"?case={trail.first_ref}&action=case.view&user={trail.supervisor}")
    assert [e["sentence"] for e in events_listed(combined)] == [f"Supervisor viewed the case {trail.first_ref}"]


def test_days_are_the_organisations_and_narrow_the_list(app, trail):
    with request(app):
        today = zones.local_today()
        # One old event (the chain is not checked here).
        old = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.create")).first()
        old.occurred_at -= timedelta(days=40)
        db.session.commit()
        old_seq = old.seq
    last_month = (today - timedelta(days=40)).isoformat()
    only_old = events_listed(page(app, query=f"?from={last_month}&to={last_month}"))
    assert [e["Event"] for e in only_old] == [str(old_seq)]
    recent = events_listed(page(app, query=f"?from={today.isoformat()}"))
    assert recent and str(old_seq) not in [e["Event"] for e in recent]
    assert events_listed(page(app, query=f"?to={(today - timedelta(days=1)).isoformat()}")) == only_old


def test_pages_of_fifty(app, trail):
    with request(app):
        for n in range(60):
            record_event("test.filler", actor=SYSTEM, subject_organisation_id=trail.ngo, details={"n": n})
        db.session.commit()
    first = page(app, query="?action=test.filler")
    assert len(events_listed(first)) == 50 and "Page 1 of 2" in first
    assert "action=test.filler" in first and "page=2" in first  # the pager keeps the filters
    second = page(app, query="?action=test.filler&page=2")
    assert len(events_listed(second)) == 10
    # A page beyond the end is the last page; a page that is not a number is the first.
    assert events_listed(page(app, query="?action=test.filler&page=99999999999")) == events_listed(second)
    assert events_listed(page(app, query="?action=test.filler&page=abc")) == events_listed(first)
    # An unknown kind reads as its code (the fallback sentence), and is offered in the select as chosen.
    assert events_listed(first)[0]["sentence"] == "The system: test.filler"


@pytest.mark.parametrize(("query", "message"), [
    ("?from=2026-13-45", "Enter a date as YYYY-MM-DD"),
    ("?to=yesterday", "Enter a date as YYYY-MM-DD"),
    ("?from=0001-01-01", "Enter a date as YYYY-MM-DD"),
    ("?from=2026-03-05&to=2026-03-01", "The end date is before the start date."),
    ("?user=abc", "Choose a user from the list."),
    ("?user=99999999999999999999999", "Choose a user from the list."),
    ("?case=C-NOSUCHCASE", "No case with the reference C-NOSUCHCASE among the cases you may see."),
])
def test_bad_filters_say_what_is_wrong_and_list_nothing(app, trail, query, message):
    html = page(app, query=query)
    assert message in html
    assert "Nothing is listed until the filters are corrected." in html
    assert events_listed(html) == []


def test_harmless_odd_input_lists_nothing_without_an_error(app, trail):
    assert events_listed(page(app, query="?user=987654")) == []  # nobody with that id
    html = page(app, query="?action=%3Cscript%3Ealert(1)%3C/script%3E")
    assert events_listed(html) == [] and "<script>alert(1)" not in html


def test_another_organisations_case_is_as_unknown_as_a_missing_one(app, trail):
    foreign = page(app, query=f"?case={trail.foreign_ref}")
    missing = page(app, query="?case=C-NOSUCHCASE")
    assert f"No case with the reference {trail.foreign_ref} among the cases you may see." in foreign
    assert events_listed(foreign) == events_listed(missing) == []


def test_another_organisation_sees_nothing_and_the_prober_learns_no_reference(app, trail):
    html = page(app, "supervisor2")
    assert not set(accounts(html)) & {"caseworker", "caseworkerb", "supervisor", "hotline", "admin"}
    sentences = [e["sentence"] for e in events_listed(html)]
    # Their own user's probe is listed, but the case they were refused is not named to them.
    assert "Caseworker2 was refused access to a case of another organisation" in sentences
    assert trail.first_ref not in html and trail.second_ref not in html
    # Filtering by another organisation's user shows only what was already theirs to see.
    assert page(app, "supervisor2", f"?user={trail.caseworker}").count("audit-event") == 0
    # And the user select lists their own organisation's accounts only.
    assert "Caseworkerb" not in html and "Caseworker2" in html


def test_the_page_costs_the_same_whatever_the_number_of_events(app, trail):
    def statements(query):
        counted = []

        def count(*_args):
            counted.append(1)

        client = browser(app, "supervisor")
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/audit/{query}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    few = statements("")
    with request(app):
        for n in range(40):  # by many different accounts, about many cases: names and references are batched
            worker = factories.user(user("supervisor").organisation, "caseworker", f"worker{n}")
            made = factories.case(worker)
            record_event("case.view", actor=worker, object_type="case", object_id=made.id, case_id=made.id)
        db.session.commit()
    assert statements("") == few


def test_the_access_log_reads_as_sentences(app, trail):
    html = browser(app, "supervisor").get(f"/cases/{trail.first}/access-log").get_data(as_text=True)
    sentences = [e["sentence"] for e in events_listed(html)]
    assert f"Supervisor viewed the case {trail.first_ref}" in sentences
    assert f"Caseworker2 was refused access to the case {trail.first_ref}" in sentences
    assert all(e["Hash"] for e in events_listed(html))


def test_a_case_links_only_for_a_reader_who_may_open_it(app, trail):
    """The administrator reads the trail but no case: the reference is text, not a link that answers 403."""
    link = f'href="/cases/{trail.first}"'
    assert link in page(app, "supervisor")
    administrator = page(app, "admin")
    assert trail.first_ref in administrator
    assert link not in administrator
    assert browser(app, "admin").get(f"/cases/{trail.first}").status_code in (403, 404)
