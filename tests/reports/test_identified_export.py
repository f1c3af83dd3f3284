"""The identified export: its own grant, the passphrase again, and an audit event saved before any name leaves."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from casemgmt.reports import exports
from tests import factories
from tests.reports.test_exports import download, events, make_case, parse_csv, parse_xlsx, streamed

URL = "/reports/exports/identified"


def grant(app, username: str = "supervisor") -> None:
    with app.app_context():
        db.session.scalar(select(User).where(User.username == username)).may_export_identified = True
        db.session.commit()


@pytest.fixture
def people(app, w):
    """Two people of the first NGO and one of the second; the names are what the file must bring back."""
    with app.app_context():
        rosa = make_case(w.caseworker, given_name="Rosa", family_name="Pierre", aliases="Ti Rose",
                         date_of_birth=date(2001, 3, 9), phone="+509 3712 0000", document_type="NationalId",
                         document_number="HT-778899", citizenship="HT", created=datetime(2024, 1, 5))
        jean = make_case(w.caseworker, given_name="Jean", family_name="Baptiste", aliases=None,
                         date_of_birth=None, phone=None, document_type=None, document_number=None,
                         created=datetime(2024, 2, 5))
        make_case(w.caseworker2, given_name="Other", family_name="Organisation")
    return rosa, jean


def test_without_the_grant_the_export_is_forbidden_and_not_offered(app, web, w, people):
    web.login("supervisor")
    assert URL not in web.get("/reports/exports").get_data(as_text=True)
    response = web.post(URL, {"identified-format": "csv", "identified-password": factories.PASSWORD})
    assert response.status_code == 403
    assert "Content-Disposition" not in response.headers
    assert events(app, "export.identified") == []


def test_the_grant_alone_is_not_enough_for_other_roles(app, web, w, people):
    grant(app, "caseworker")
    web.login("caseworker")
    assert web.post(URL, {"identified-format": "csv", "identified-password": factories.PASSWORD}).status_code == 403


def test_a_wrong_passphrase_is_a_form_error_a_denied_event_and_no_file(app, web, w, people):
    grant(app)
    web.login("supervisor")
    response = download(web, URL + "?citizenship=HT", {"identified-format": "csv", "identified-password": "wrong"})
    assert response.status_code == 422
    assert "Content-Disposition" not in response.headers
    page = response.get_data(as_text=True)
    assert "Your passphrase is not correct." in page
    assert "Rosa" not in page
    (event,) = events(app, "export.identified")
    assert event.outcome == "denied"
    assert json.loads(event.details) == {"filters": {"citizenship": "HT"}, "format": "csv",
                                         "reason": "reauthentication"}
    # It counts towards the login lock like any failed passphrase.
    with app.app_context():
        assert db.session.get(User, w.supervisor.id).failed_logins == 1


def test_an_empty_passphrase_is_a_form_error(app, web, w, people):
    grant(app)
    web.login("supervisor")
    response = download(web, URL, {"identified-format": "csv", "identified-password": ""})
    assert response.status_code == 422
    assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_right_passphrase_gives_the_names_and_an_audit_event_first(app, web, w, people, fmt):
    rosa, jean = people
    grant(app)
    web.login("supervisor")
    response, read = streamed(web, URL, {"identified-format": fmt, "identified-password": factories.PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="caseload-identified-')
    # Saved before the first byte: no audit, no export.
    (event,) = events(app, "export.identified")
    assert event.outcome == "success"
    assert json.loads(event.details) == {"filters": {}, "format": fmt, "rows": 2}
    assert event.object_type == "organisation" and event.object_id == str(w.ngo.id)

    body = read()

    class Body:
        def get_data(self, as_text=False):
            return body.decode() if as_text else body

    header, *rows = parse_csv(Body()) if fmt == "csv" else parse_xlsx(Body())
    assert tuple(header) == exports.IDENTIFIED_HEADER
    records = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(records) == {rosa, jean}
    assert {k: records[rosa][k] for k in exports.IDENTITY_FIELDS} == {
        "given_name": "Rosa", "family_name": "Pierre", "aliases": "Ti Rose", "date_of_birth": "2001-03-09",
        "phone": "'+509 3712 0000", "document_type": "NationalId", "document_number": "HT-778899",
    }
    assert records[jean]["given_name"] == "Jean" and records[jean]["document_number"] == ""
    assert records[rosa]["citizenship"] == "HT"


def test_erased_and_foreign_people_never_appear(app, web, w, people):
    with app.app_context():
        make_case(w.caseworker, given_name="Erased", family_name="Person", erased=True)
    grant(app)
    web.login("supervisor")
    response = download(web, URL, {"identified-format": "csv", "identified-password": factories.PASSWORD})
    text = response.get_data(as_text=True)
    assert "Rosa" in text
    assert "Erased" not in text and "Organisation" not in text


def test_the_filters_apply_and_the_event_counts_the_rows(app, web, w, people):
    grant(app)
    web.login("supervisor")
    response = download(web, URL + "?end=2024-01-31", {"identified-format": "csv",
                                                       "identified-password": factories.PASSWORD})
    _header, *rows = parse_csv(response)
    assert [row[exports.IDENTIFIED_HEADER.index("given_name")] for row in rows] == ["Rosa"]
    (event,) = events(app, "export.identified")
    assert json.loads(event.details)["rows"] == 1


def test_names_are_decrypted_per_batch(app, ctx, w, monkeypatch):
    from casemgmt.reports.filters import ReportFilters

    for n in range(5):
        make_case(w.caseworker, given_name=f"Person{n}")
    monkeypatch.setattr(exports, "BATCH", 2)
    key_reads = []

    from sqlalchemy import event

    def seen(_conn, _cursor, statement, *_args):
        if "FROM data_keys" in statement:
            key_reads.append(statement)

    db.session.commit()
    from flask import g

    g.pop("_casemgmt_data_keys", None)  # factories left the keys they made in this context
    org_id = w.ngo.id
    db.session.expunge_all()  # and the people they made
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        rows = list(exports.identified_rows(org_id, ReportFilters()))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert sorted(row[exports.IDENTIFIED_HEADER.index("given_name")] for row in rows) == [
        f"Person{n}" for n in range(5)
    ]
    assert len(key_reads) == 3  # one per batch of two, never one per person
    # Each batch lets go of its keys and decrypted rows once written: nothing of the caseload stays behind.
    assert g.get("_casemgmt_data_keys") == {}
    from casemgmt.cases.models import Person

    assert not any(isinstance(obj, Person) for obj in db.session)


def test_the_audit_chain_holds_after_exports(app, web, w, people):
    grant(app)
    web.login("supervisor")
    download(web, URL, {"identified-format": "csv", "identified-password": "wrong"})
    download(web, URL, {"identified-format": "csv", "identified-password": factories.PASSWORD})
    from casemgmt.audit.verify import verify_chain

    with app.app_context():
        _checked, problems = verify_chain()
        assert problems == []
        assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(1)) == \
            "export.identified"
