"""The programmes pages as their users see them: who may open what, the project page's figures against an
independent count, each organisation's own cases, the forms' refusals, the rates page and the XLSX report."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.fund.models import FundRequest
from casemgmt.programmes import operations
from casemgmt.programmes.models import Enrolment, ExchangeRate, Project
from tests import factories
from tests.conftest import signed_in
from tests.programmes.support import DAYS, START, TODAY, fund_request, make_project
from tests.returns.support import w  # noqa: F401  (fixture)


@pytest.fixture
def two_org_project(app, w):  # noqa: F811
    """A project led by the NGO and implemented with the mission, with cases of both enrolled and requests of both."""
    with app.app_context():
        factories.user(w.ngo, "finance_officer", "finance")
        mission_lead = factories.user(w.mission_org, "supervisor", "missionlead")
        project = make_project(w.supervisor, organisation_ids=[w.mission_org.id])
        ngo_case = factories.case(w.caseworker, given_name="Rosa", family_name="Huamán")
        mission_case = factories.case(w.mission, given_name="Jean", family_name="Pierre-Louis")
        operations.enrol(w.caseworker, ngo_case, project.id, START + DAYS)
        operations.enrol(mission_lead, mission_case, project.id, START + DAYS)
        db.session.commit()
        fund_request(ngo_case, project, "medical", "120.50", "requested")
        fund_request(ngo_case, project, "medical", "80", "approved")
        fund_request(ngo_case, project, "medical", "40", "disbursed", refunded="10.25")
        fund_request(mission_case, project, "medical", "200", "disbursed")
        fund_request(mission_case, project, "travel_return", "700", "approved")
        fund_request(mission_case, project, "travel_return", "999", "declined")
        return {"project_id": project.id, "ngo_case": (ngo_case.id, ngo_case.reference),
                "mission_case": (mission_case.id, mission_case.reference)}


def test_policies_through_the_pages(app, w, two_org_project):  # noqa: F811
    pid = two_org_project["project_id"]
    caseworker = signed_in(app, "caseworker")
    assert caseworker.get("/projects/").status_code == 403
    assert caseworker.get(f"/projects/{pid}").status_code == 403
    assert caseworker.get("/finance/rates").status_code == 403
    # Another organisation that does not implement the project does not learn it exists.
    outsider = signed_in(app, "supervisor2")
    assert outsider.get(f"/projects/{pid}").status_code == 404
    assert outsider.get(f"/projects/{pid}/financial.xlsx").status_code == 404
    assert outsider.get(f"/projects/{pid}/edit").status_code == 404
    assert "HT-AVR-01" not in outsider.get("/projects/").get_data(as_text=True)
    # The implementing mission's supervisor sees it but does not edit it.
    lead = signed_in(app, "missionlead")
    page = lead.get(f"/projects/{pid}").get_data(as_text=True)
    assert "HT-AVR-01" in page and f"/projects/{pid}/edit" not in page
    assert lead.get(f"/projects/{pid}/edit").status_code == 403


def test_the_finance_officer_sees_figures_and_references_never_names(app, w, two_org_project):  # noqa: F811
    pid = two_org_project["project_id"]
    finance = signed_in(app, "finance")
    response = finance.get(f"/projects/{pid}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    case_id, reference = two_org_project["ngo_case"]
    assert reference in page and f"/cases/{case_id}" not in page
    assert "Rosa" not in page and "Huamán" not in page
    assert finance.get("/projects/").status_code == 200
    assert finance.get(f"/projects/{pid}/edit").status_code == 403


def test_each_implementer_sees_only_its_own_cases(app, w, two_org_project):  # noqa: F811
    pid = two_org_project["project_id"]
    ngo_page = signed_in(app, "supervisor").get(f"/projects/{pid}").get_data(as_text=True)
    mission_page = signed_in(app, "missionlead").get(f"/projects/{pid}").get_data(as_text=True)
    ngo_ref, mission_ref = two_org_project["ngo_case"][1], two_org_project["mission_case"][1]
    assert ngo_ref in ngo_page and mission_ref not in ngo_page
    assert mission_ref in mission_page and ngo_ref not in mission_page
    assert "1 case of your organisation is enrolled" in ngo_page
    # The supervisor may open the case: its reference links to it.
    assert f'/cases/{two_org_project["ngo_case"][0]}"' in ngo_page


def _cell(page: str, line_id: int, figure: str) -> str:
    row = re.search(rf'data-line="{line_id}">(.*?)</tr>', page, re.S).group(1)
    return re.sub(r"<[^>]+>", "", re.search(rf'figure-{figure}">(.*?)</td>', row, re.S).group(1)).strip()


def test_the_project_page_figures_match_an_independent_count(app, w, two_org_project):  # noqa: F811
    pid = two_org_project["project_id"]
    page = signed_in(app, "supervisor").get(f"/projects/{pid}").get_data(as_text=True)
    with app.app_context():
        project = db.session.get(Project, pid)
        requests = db.session.scalars(select(FundRequest).where(FundRequest.project_id == pid)).all()
        for line in project.lines:
            if line.category is None:
                continue
            mine = [r for r in requests if r.budget_line_id == line.id]
            waiting = sum((r.project_amount for r in mine if r.status == "requested"), Decimal(0))
            committed = sum((r.project_amount for r in mine if r.status == "approved"), Decimal(0))
            spent = sum((r.project_amount - r.refunded_project_amount for r in mine
                         if r.status in ("disbursed", "refunded")), Decimal(0))
            remaining = line.amount - waiting - committed - spent
            for figure, value in (("waiting", waiting), ("committed", committed), ("spent", spent),
                                  ("remaining", remaining)):
                assert _cell(page, line.id, figure) == f"${value:,.2f}", (line.name, figure)
    # medical: 1000 - 120.50 - 80 - (40 - 10.25 + 200) = 569.75
    assert "$569.75" in page
    assert "The fund does not spend this line" in page  # the staff line


def test_creating_a_project_through_the_form_and_its_refusals(app, w):  # noqa: F811
    web = signed_in(app, "supervisor")
    form = web.get("/projects/new")
    assert form.status_code == 200
    data = {
        "donor_id": "", "donor_name": "UN Voluntary Trust Fund", "donor_kind": "un_agency", "donor_country": "",
        "code": "CO-VTF-1", "title": "Emergency fund", "starts_on": START.isoformat(),
        "ends_on": (START - DAYS).isoformat(), "currency": "USD", "single_approval_limit": "300",
        "eligibility": "", "organisation_ids": [str(w.ngo.id)], "countries": ["CO"],
        "lines-0-id": "", "lines-0-name": "Medical care", "lines-0-category": "medical", "lines-0-amount": "3000",
        "lines-1-id": "", "lines-1-name": "", "lines-1-category": "", "lines-1-amount": "",
    }
    refused = web.post("/projects/new", data)
    assert refused.status_code == 422
    assert "The project cannot end before it starts." in refused.get_data(as_text=True)
    data["ends_on"] = (START + 400 * DAYS).isoformat()
    data["lines-0-amount"] = "3000.001"
    refused = web.post("/projects/new", data)
    assert refused.status_code == 422 and "at most that many" in refused.get_data(as_text=True)
    data["lines-0-amount"] = "3000"
    created = web.post("/projects/new", data)
    assert created.status_code == 303
    with app.app_context():
        project = db.session.scalar(select(Project))
        assert (project.code, project.lines[0].amount) == ("CO-VTF-1", Decimal("3000.00"))
        pid = project.id
    # The code is taken now.
    again = web.post("/projects/new", data)
    assert again.status_code == 422 and "already has a project with the code CO-VTF-1" in again.get_data(as_text=True)
    # The edit form shows the saved lines.
    edit = web.get(f"/projects/{pid}/edit").get_data(as_text=True)
    assert 'value="Medical care"' in edit and 'value="3000.00"' in edit


def test_the_rates_page_refuses_a_duplicate_and_accepts_a_correction(app, w):  # noqa: F811
    with app.app_context():
        factories.user(w.ngo, "finance_officer", "finance")
    web = signed_in(app, "finance")
    assert web.get("/finance/rates").status_code == 200
    data = {"month": "2026-02", "currency": "PEN", "quote_currency": "USD", "rate": "0.2689", "source": "BCRP"}
    assert web.post("/finance/rates", data).status_code == 303
    duplicate = web.post("/finance/rates", {**data, "rate": "0.3"})
    assert duplicate.status_code == 422 and "already recorded" in duplicate.get_data(as_text=True)
    corrected = web.post("/finance/rates", {**data, "rate": "0.27", "correction": "y", "reason": "typo"})
    assert corrected.status_code == 303
    page = web.get("/finance/rates", follow_redirects=True).get_data(as_text=True)
    assert "keep the rate that was fixed on them" in page and "0.27" in page
    with app.app_context():
        assert db.session.scalar(select(ExchangeRate.rate)) == Decimal("0.27")


def test_the_case_tab_enrols_ends_and_charges(app, w):  # noqa: F811
    with app.app_context():
        project = make_project(w.supervisor)
        case = factories.case(w.caseworker)
        case_id, pid = case.id, project.id
    web = signed_in(app, "caseworker")
    page = web.get(f"/cases/{case_id}/programmes")
    assert page.status_code == 200 and "HT-AVR-01" in page.get_data(as_text=True)
    early = web.post(f"/cases/{case_id}/programmes/enrol",
                     {"project_id": str(pid), "enrolled_on": (START - DAYS).isoformat()})
    assert early.status_code == 422 and "within that period" in early.get_data(as_text=True)
    assert web.post(f"/cases/{case_id}/programmes/enrol",
                    {"project_id": str(pid), "enrolled_on": TODAY.isoformat()}).status_code == 303
    with app.app_context():
        enrolment = db.session.scalar(select(Enrolment))
        case = db.session.get(Case, case_id)
        fund_request(case, db.session.get(Project, pid), "medical", "10", "requested")
        enrolment_id = enrolment.id
    page = web.get(f"/cases/{case_id}/programmes").get_data(as_text=True)
    assert "must be decided or cancelled" in page  # no End button offered
    refused = web.post(f"/cases/{case_id}/programmes/enrolments/{enrolment_id}/end", {"ended_on": TODAY.isoformat()})
    assert refused.status_code == 422 and "waiting for approval or payment" in refused.get_data(as_text=True)
    assert signed_in(app, "caseworker2").get(f"/cases/{case_id}/programmes").status_code == 404


def test_the_financial_report(app, w, two_org_project):  # noqa: F811
    pid = two_org_project["project_id"]
    with app.app_context():
        # A request of another currency, converted at its month's rate, and a case reference that looks like a
        # formula.
        case = db.session.get(Case, two_org_project["ngo_case"][0])
        case.reference = "=1+2"
        db.session.commit()
        project = db.session.get(Project, pid)
        fund_request(case, project, "travel_return", "1000", "disbursed", currency="PEN", rate=Decimal("0.27"),
                     rate_month=TODAY.replace(day=1), paid_on=TODAY)
    response = signed_in(app, "supervisor").get(f"/projects/{pid}/financial.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Requests", "By line", "By month", "Rates used"]
    requests = list(book["Requests"].iter_rows(min_row=4, values_only=True))
    assert len(requests) == 4  # the NGO's own requests only
    assert all(row[1] == "'=1+2" for row in requests)  # neutralised
    assert "By line" in book["Requests"]["A1"].value
    lines = list(book["By line"].iter_rows(min_row=4, values_only=True))
    body, total = lines[:-1], lines[-1]
    assert total[0] == "Total"
    for col in range(2, 7):
        assert Decimal(str(total[col])) == sum((Decimal(str(row[col])) for row in body), Decimal(0))
    # Project-wide: spent = 40 - 10.25 + 200 + 270 = 499.75
    assert Decimal(str(total[5])) == Decimal("499.75")
    months = list(book["By month"].iter_rows(min_row=4, values_only=True))
    assert months[-1][0] == "Total" and Decimal(str(months[-1][-1])) == Decimal("499.75")
    rates = list(book["Rates used"].iter_rows(min_row=4, values_only=True))
    assert [(r[0], r[1], Decimal(str(r[3])), r[4]) for r in rates] == [("PEN", "USD", Decimal("0.27"), 1)]
    assert book["By line"]["C4"].number_format == "#,##0.00"
    with app.app_context():
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "project.export"))
        assert json.loads(event.details)["requests"] == 4


def test_an_edit_from_an_older_version_shows_the_conflict_with_the_form(app, w):  # noqa: F811
    with app.app_context():
        project = make_project(w.supervisor)
        pid, version = project.id, project.version
        lines = [(line.id, line.name, line.category or "", str(line.amount)) for line in project.lines]
    web = signed_in(app, "supervisor")
    data = {"donor_id": "1", "code": "HT-AVR-01", "title": "First title", "starts_on": START.isoformat(),
            "ends_on": (START + 400 * DAYS).isoformat(), "currency": "USD", "single_approval_limit": "500",
            "organisation_ids": [str(w.ngo.id)], "countries": ["HT"], "version": str(version)}
    for i, (line_id, name, category, amount) in enumerate(lines):
        data.update({f"lines-{i}-id": str(line_id), f"lines-{i}-name": name, f"lines-{i}-category": category,
                     f"lines-{i}-amount": amount})
    assert web.post(f"/projects/{pid}/edit", data).status_code == 303
    clash = web.post(f"/projects/{pid}/edit", {**data, "title": "Second title"})
    assert clash.status_code == 409
    page = clash.get_data(as_text=True)
    assert "First title" in page and "Second title" in page and 'name="lines-0-name"' in page
    with app.app_context():
        assert db.session.get(Project, pid).title == "First title"
