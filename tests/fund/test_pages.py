"""The fund's pages as their users see them: the request form (and its refusals), the request page with and without
identity, approval buttons, payment with an encrypted receipt, the list with its filters and totals."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from casemgmt.access.roles import Role
from casemgmt.core import money
from casemgmt.documents.models import Document
from casemgmt.extensions import db
from casemgmt.fund import budget, operations, queries
from casemgmt.fund.models import FundRequest
from tests.conftest import signed_in, submission_token
from tests.fund import support
from tests.fund.support import JUSTIFICATION, PERSON, ask

PNG = b"\x89PNG\r\n\x1a\n" + b"RECEIPT-PLAINTEXT-Farmacia-Universal-S/.-84.50" * 20


def _count() -> int:
    return db.session.scalar(select(db.func.count()).select_from(FundRequest))


def test_the_finance_officers_page_shows_no_identity_and_no_justification(app, fund):
    person = ask(fund.w.caseworker, fund.case, fund.project, payee_kind="person",
                 payee_name="Yesenia Huamanchumo Ccori")
    clinic = ask(fund.w.caseworker, fund.case, fund.project, amount="50.00")
    finance = signed_in(app, "finance")
    html = finance.get(f"/fund/{person.id}").get_data(as_text=True)
    assert fund.case.reference in html and "$100.00" in html and "Medical care" in html
    for secret in (PERSON["given_name"], PERSON["family_name"], "Huamanchumo", JUSTIFICATION, "Gamarra"):
        assert secret not in html
    assert 'class="btn btn-success"' in html  # the finance officer approves
    clinic_html = finance.get(f"/fund/{clinic.id}").get_data(as_text=True)
    assert "Clínica San Juan de Dios" in clinic_html and JUSTIFICATION not in clinic_html
    # The list and the earlier versions do not show them either.
    listed = finance.get("/fund/").get_data(as_text=True)
    assert fund.case.reference in listed and "Huamanchumo" not in listed and "Gamarra" not in listed
    assert finance.get(f"/fund/{person.id}/history/request").status_code == 403
    # The caseworker who asked reads everything.
    caseworker = signed_in(app, "caseworker")
    own = caseworker.get(f"/fund/{person.id}").get_data(as_text=True)
    assert JUSTIFICATION in own and "Yesenia Huamanchumo Ccori" in own


def test_bad_input_is_refused_with_the_form_kept_and_nothing_saved(app, fund):
    web = signed_in(app, "caseworker")
    url = f"/cases/{fund.case.id}/fund"
    for overrides, message in [({"amount": "-5"}, "The amount must be more than zero."),
                               ({"amount": "10.555"}, "USD has 2 decimals: give at most that many."),
                               ({"currency": "XYZ"}, "Not a valid choice"),
                               ({"currency": "HTG", "amount": "500"}, "Finance has not recorded the HTG to USD rate"),
                               ({"justification": ""}, "Explain why the person needs this assistance."),
                               ({"payee_name": ""}, "Name the vendor or clinic to be paid.")]:
        response = web.post(url, data=support.form(fund.project, **overrides), token_page=url)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, overrides
        assert message in html, overrides
        if overrides.get("justification") != "":
            assert JUSTIFICATION in html  # what was typed is kept
    assert _count() == 0


def test_a_double_submission_makes_one_request(app, fund):
    web = signed_in(app, "caseworker")
    url = f"/cases/{fund.case.id}/fund"
    token = submission_token(app, "caseworker")
    first = web.post(url, data={**support.form(fund.project), "submission_token": token}, token_page=url)
    again = web.post(url, data={**support.form(fund.project), "submission_token": token}, token_page=url)
    assert (first.status_code, again.status_code) == (302, 303)  # the second is answered as a replay
    assert first.headers["Location"] == again.headers["Location"]
    assert _count() == 1


def test_a_case_not_enrolled_is_offered_no_form(app, fund, world):
    from tests import factories

    other = factories.case(world.caseworker)
    html = signed_in(app, "caseworker").get(f"/cases/{other.id}/fund").get_data(as_text=True)
    assert "must first be enrolled in a project" in html and "fund-request-form" not in html


def test_request_approve_twice_pay_with_an_encrypted_receipt(app, fund):
    caseworker = signed_in(app, "caseworker")
    url = f"/cases/{fund.case.id}/fund"
    made = caseworker.post(url, data=support.form(fund.project, amount="750.00"), token_page=url)
    assert made.status_code == 302
    request_id = made.headers["Location"].rsplit("/", 1)[-1]
    supervisor = signed_in(app, "supervisor")
    page = f"/fund/{request_id}"
    assert "0 of 2 approvals" in supervisor.get(page).get_data(as_text=True)
    home = supervisor.get("/").get_data(as_text=True)
    assert f"/fund/{request_id}" in home and "0 of 2 approvals" in home  # the approver's worklist
    assert supervisor.post(f"{page}/approve", token_page=page).status_code == 302
    html = supervisor.get(page).get_data(as_text=True)
    assert "1 of 2 approvals" in html and "fund-approve-form" not in html and "fund-approved-by-me" in html
    assert supervisor.post(f"{page}/approve", token_page=page).status_code == 403  # never twice by one person
    assert "fund-approve-form" not in caseworker.get(page).get_data(as_text=True)  # nor by the requester
    assert caseworker.post(f"{page}/approve", token_page=page).status_code == 403
    outsider = signed_in(app, "supervisor2")
    assert outsider.get(page).status_code == 404 and outsider.post(f"{page}/approve").status_code == 404
    finance = signed_in(app, "finance")
    assert finance.post(f"{page}/approve", token_page=page).status_code == 302
    assert "Approved" in finance.get(page).get_data(as_text=True)
    # A payment date in the future is refused, with nothing saved.
    refused = finance.post(f"{page}/disburse", data={"method": "cash", "paid_on": "2999-01-01"}, token_page=page)
    assert refused.status_code == 422
    paid = finance.post(f"{page}/disburse", token_page=page, content_type="multipart/form-data", data={
        "method": "voucher", "paid_on": support.TODAY.isoformat(), "reference": "VCH-2231",
        "receipt": (__import__("io").BytesIO(PNG), "receipt.png")})
    assert paid.status_code == 302
    r = db.session.get(FundRequest, request_id)
    db.session.refresh(r)
    assert r.status == "disbursed" and r.disbursement.receipt_document_id
    document = db.session.get(Document, r.disbursement.receipt_document_id)
    assert (document.kind, document.content_type, document.size) == ("receipt", "image/png", len(PNG))
    stored = Path(app.instance_path) / "documents" / r.case_id / f"{document.id}.bin"
    blob = stored.read_bytes()
    assert b"RECEIPT-PLAINTEXT" not in blob and b"PNG" not in blob
    html = finance.get(page).get_data(as_text=True)
    assert "image/png" in html and "caseworkers open it from the case" in html
    assert f"/documents/{document.id}/download" not in html
    assert finance.get(f"/cases/{r.case_id}/documents/{document.id}/download").status_code == 403
    download = caseworker.get(f"/cases/{r.case_id}/documents/{document.id}/download")
    assert download.status_code == 200 and download.data == PNG
    case_page = caseworker.get(f"/cases/{r.case_id}/fund").get_data(as_text=True)
    assert "status-disbursed" in case_page and "$750.00" in case_page
    timeline = caseworker.get(f"/cases/{r.case_id}/timeline").get_data(as_text=True)
    assert "Assistance paid" in timeline and JUSTIFICATION not in timeline
    assert f"/fund/{request_id}" not in supervisor.get("/").get_data(as_text=True)  # nothing waits any more
    # The project's line now counts it as spent.
    medical = next(f for f in budget.line_figures(fund.project) if f.line.category == "medical")
    assert medical.spent == Decimal("750.00")


def test_the_list_filters_and_its_totals_equal_the_budget_figures(app, fund, world):
    support.rate(world.ngo, "PEN", "USD", "0.2666667")
    w = fund.w
    waiting = ask(w.caseworker, fund.case, fund.project, amount="40.00")
    approved = ask(w.caseworker, fund.case, fund.project, amount="100.00", currency="PEN")
    paid = ask(w.caseworker, fund.case, fund.project, amount="333.33", currency="PEN")
    refunded = ask(w.caseworker, fund.case, fund.project, amount="120.00", category="emergency_shelter")
    ask(w.caseworker, fund.case, fund.project, amount="5000.00")  # refused
    for r in (approved, paid, refunded):
        operations.approve(w.supervisor, r)
    for r in (paid, refunded):
        operations.disburse(fund.finance, r, {"method": "cash", "paid_on": support.TODAY})
    operations.refund(fund.finance, paid, {"amount": "33.33", "refunded_on": support.TODAY, "reason": "change"})
    operations.refund(fund.finance, refunded, {"amount": "120.00", "refunded_on": support.TODAY, "reason": "unused"})
    db.session.commit()
    figures = budget.totals(budget.line_figures(fund.project))
    finance = db.session.get(type(w.supervisor), fund.finance.id)
    for figure, expected in (("waiting", figures.waiting), ("committed", figures.committed),
                             ("spent", figures.spent)):
        f = queries.Filters(project=fund.project.id, figure=figure)
        assert queries.totals(finance, f, fund.project).net == expected, figure
    assert figures.waiting == waiting.project_amount
    assert figures.spent == paid.project_amount - paid.refunded_project_amount  # the full refund nets to zero
    medical = next(x for x in budget.line_figures(fund.project) if x.line.category == "medical")
    by_line = queries.Filters(project=fund.project.id, line=medical.line.id, figure="spent")
    assert queries.totals(finance, by_line, fund.project).net == medical.spent
    web = signed_in(app, "finance")
    html = web.get(f"/fund/?project={fund.project.id}&figure=spent").get_data(as_text=True)
    assert len(re.findall(r'class="fund-row ', html)) == 2
    assert money.format_money(figures.spent, "USD", "en") in html
    status = web.get(f"/fund/?status=refused&month={support.TODAY:%Y-%m}").get_data(as_text=True)
    assert len(re.findall(r'class="fund-row ', status)) == 1
    assert len(re.findall(r'class="fund-row ', web.get("/fund/?month=1999-01").get_data(as_text=True))) == 0
    assert web.get("/fund/?project=abc&figure=nonsense&month=2026-13&page=x").status_code == 200
    # A caseworker sees the requests of their cases; another caseworker of the organisation none of them.
    assert len(re.findall(r'class="fund-row ', signed_in(app, "caseworker").get("/fund/").get_data(as_text=True))) == 5
    assert "fund-row" not in signed_in(app, "caseworkerb").get("/fund/").get_data(as_text=True)
    assert Role.FINANCE == "finance_officer"
