"""The financial report of a project, as an XLSX workbook of four sheets.

- "Requests": the reader's own organisation's fund requests on the project, one row each (case reference, never a
  name), with the approvals, the payment and refunds;
- "By line": the project-wide budget, waiting, committed, spent and remaining per line (fund/budget.py), with a
  totals row that is the sum of the lines;
- "By month": what was spent (paid, net of refunds) per month of payment and line, project-wide, in the project's
  currency, with totals that equal "By line"'s spent;
- "Rates used": every exchange rate the listed requests were converted at.

Amounts are Decimals from the database to the cell (XlsxWriter writes a Decimal's own digits), formatted with the
currency's number of decimals. Text goes through reports.spreadsheets.safe_cell, so nothing typed becomes a formula.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import xlsxwriter
from flask import Response
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.accounts.models import Organisation
from casemgmt.cases.models import Case
from casemgmt.core import money
from casemgmt.extensions import db
from casemgmt.fund import budget
from casemgmt.fund.models import CATEGORIES, METHODS, STATUSES, Disbursement, FundRequest
from casemgmt.programmes import queries
from casemgmt.programmes.models import BudgetLine, ExchangeRate, Project
from casemgmt.reports.spreadsheets import CHUNK, XLSX_MIMETYPE, safe_cell

SPENT = ("disbursed", "refunded")


@dataclass
class RequestRow:
    request: FundRequest
    reference: str
    line_name: str
    approvals: list[tuple[str, object]]  # (approver's name, when)
    paid_on: date | None
    method: str | None


@dataclass
class FinancialReport:
    project: Project
    organisation_name: str
    requests: list[RequestRow]
    lines: list[budget.LineFigures]
    totals: budget.Totals
    months: list[date]
    by_month: dict[tuple[date, int], Decimal]  # (month, line id) -> spent
    rates: list[tuple[str, date, Decimal, int, str | None]] = field(default_factory=list)


def _requests(project: Project, organisation_id: int) -> list[RequestRow]:
    rows = db.session.execute(
        select(FundRequest, Case.reference, BudgetLine.name)
        .join(Case, Case.id == FundRequest.case_id)
        .join(BudgetLine, BudgetLine.id == FundRequest.budget_line_id)
        .options(selectinload(FundRequest.approvals), selectinload(FundRequest.disbursement))
        .where(FundRequest.project_id == project.id, FundRequest.organisation_id == organisation_id)
        .order_by(FundRequest.requested_at, FundRequest.id)
    ).all()
    names = queries.user_names({a.approver_id for r, _ref, _line in rows for a in r.approvals})
    out = []
    for r, reference, line_name in rows:
        paid = r.disbursement
        out.append(RequestRow(r, reference, line_name,
                              [(names.get(a.approver_id, ""), a.approved_at) for a in r.approvals],
                              paid.paid_on if paid else None, paid.method if paid else None))
    return out


def _by_month(project: Project) -> tuple[list[date], dict[tuple[date, int], Decimal]]:
    """Spent per month of payment and line, project-wide: each paid request's amount net of its refunds, in the
    month it was paid (the month it was requested, should a payment not be recorded), so the months add up to the
    spent of fund/budget.py exactly."""
    rows = db.session.execute(
        select(FundRequest.budget_line_id, FundRequest.project_amount, FundRequest.refunded_project_amount,
               FundRequest.requested_at, Disbursement.paid_on)
        .outerjoin(Disbursement, Disbursement.request_id == FundRequest.id)
        .where(FundRequest.project_id == project.id, FundRequest.status.in_(SPENT))
    ).all()
    sums: dict[tuple[date, int], Decimal] = defaultdict(lambda: Decimal("0.00"))
    for line_id, amount, refunded, requested_at, paid_on in rows:
        month = (paid_on or requested_at.date()).replace(day=1)
        sums[(month, line_id)] += Decimal(amount) - Decimal(refunded or 0)
    return sorted({m for m, _line in sums}), dict(sums)


def _rates(project: Project, organisation_id: int, requests: list[RequestRow]) -> list:
    used: dict[tuple[str, date, Decimal], int] = defaultdict(int)
    for row in requests:
        r = row.request
        if r.rate is not None and r.rate_month is not None:
            used[(r.currency, r.rate_month, Decimal(r.rate))] += 1
    if not used:
        return []
    sources = {(x.currency, x.month, Decimal(x.rate)): x.source for x in db.session.scalars(
        select(ExchangeRate).where(ExchangeRate.organisation_id == organisation_id,
                                   ExchangeRate.quote_currency == project.currency,
                                   ExchangeRate.currency.in_({c for c, _m, _r in used})))}
    return [(currency, month, rate, n, sources.get((currency, month, rate)))
            for (currency, month, rate), n in sorted(used.items())]


def financial_report(project: Project, organisation_id: int) -> FinancialReport:
    requests = _requests(project, organisation_id)
    lines = budget.line_figures(project)
    months, by_month = _by_month(project)
    org = db.session.get(Organisation, organisation_id)
    return FinancialReport(project, org.name if org else "", requests, lines, budget.totals(lines), months, by_month,
                           _rates(project, organisation_id, requests))


# The workbook ------------------------------------------------------------------------------------------------------


class _Book:
    def __init__(self, workbook):
        self.workbook = workbook
        self.bold = workbook.add_format({"bold": True})
        self.note = workbook.add_format({"italic": True})
        self._money: dict[tuple[int, bool], object] = {}
        self.rate = workbook.add_format({"num_format": "0.0000000000"})

    def money(self, currency: str, bold: bool = False):
        places = money.exponent(currency)
        key = (places, bold)
        if key not in self._money:
            pattern = "#,##0" + ("." + "0" * places if places else "")
            self._money[key] = self.workbook.add_format({"num_format": pattern, "bold": bold})
        return self._money[key]


def _text(sheet, row: int, col: int, value, fmt=None) -> None:
    cell = safe_cell(value)
    if isinstance(cell, str):
        sheet.write_string(row, col, cell, fmt)
    else:
        sheet.write_number(row, col, cell, fmt)


def _amount(sheet, row: int, col: int, value: Decimal | None, fmt) -> None:
    if value is None:
        sheet.write_string(row, col, "")
    else:
        sheet.write_number(row, col, Decimal(value), fmt)


def _header(sheet, row: int, labels: list[str], bold) -> None:
    for col, label in enumerate(labels):
        _text(sheet, row, col, label, bold)


def _requests_sheet(book: _Book, report: FinancialReport) -> None:
    p = report.project
    sheet = book.workbook.add_worksheet(gettext("Requests")[:31])
    _text(sheet, 0, 0, gettext("%(code)s: the fund requests of %(organisation)s. Project-wide totals, every "
                               "implementing organisation's, are on the sheets “By line” and “By month”.",
                               code=p.code, organisation=report.organisation_name), book.note)
    _header(sheet, 2, [
        gettext("Request"), gettext("Case"), gettext("Category"), gettext("Budget line"), gettext("Amount"),
        gettext("Currency"), gettext("Amount in %(currency)s", currency=p.currency), gettext("Rate"),
        gettext("Rate of the month"), gettext("Status"), gettext("Requested on"), gettext("Approvals"),
        gettext("Paid on"), gettext("Method"), gettext("Refunded"), gettext("Refunded in %(currency)s",
                                                                           currency=p.currency)], book.bold)
    for i, row in enumerate(report.requests, start=3):
        r = row.request
        _text(sheet, i, 0, r.id[:8])
        _text(sheet, i, 1, row.reference)
        _text(sheet, i, 2, CATEGORIES.label(r.category))
        _text(sheet, i, 3, row.line_name)
        _amount(sheet, i, 4, r.amount, book.money(r.currency))
        _text(sheet, i, 5, r.currency)
        _amount(sheet, i, 6, r.project_amount, book.money(p.currency))
        _amount(sheet, i, 7, r.rate, book.rate)
        _text(sheet, i, 8, r.rate_month.strftime("%Y-%m") if r.rate_month else "")
        _text(sheet, i, 9, STATUSES.label(r.status))
        _text(sheet, i, 10, r.requested_at.date())
        _text(sheet, i, 11, "; ".join(f"{name} ({when:%Y-%m-%d})" for name, when in row.approvals))
        _text(sheet, i, 12, row.paid_on)
        _text(sheet, i, 13, METHODS.label(row.method) if row.method else "")
        _amount(sheet, i, 14, r.refunded_amount or Decimal(0), book.money(r.currency))
        _amount(sheet, i, 15, r.refunded_project_amount or Decimal(0), book.money(p.currency))


def _lines_sheet(book: _Book, report: FinancialReport) -> None:
    p = report.project
    sheet = book.workbook.add_worksheet(gettext("By line")[:31])
    _text(sheet, 0, 0, gettext("%(code)s, every implementing organisation, in %(currency)s. Spent is what was "
                               "paid, less refunds.", code=p.code, currency=p.currency), book.note)
    _text(sheet, 1, 0, gettext("A request in another currency is converted once, when it is made, at the rate "
                               "finance recorded for that month (sheet “Rates used”), and rounded half to even to "
                               "the cent; lines and totals add up these converted amounts."), book.note)
    _header(sheet, 2, [gettext("Budget line"), gettext("Category"), gettext("Budget"),
                       gettext("Waiting for approval"), gettext("Committed"), gettext("Spent"),
                       gettext("Remaining")], book.bold)
    fmt = book.money(p.currency)
    row = 3
    for f in report.lines:
        _text(sheet, row, 0, f.line.name)
        _text(sheet, row, 1, CATEGORIES.label(f.line.category) if f.line.category
              else gettext("Not spent through the fund"))
        for col, value in enumerate((f.budget, f.waiting, f.committed, f.spent, f.remaining), start=2):
            _amount(sheet, row, col, value, fmt)
        row += 1
    t = report.totals
    bold = book.money(p.currency, bold=True)
    _text(sheet, row, 0, gettext("Total"), book.bold)
    for col, value in enumerate((t.budget, t.waiting, t.committed, t.spent, t.remaining), start=2):
        _amount(sheet, row, col, value, bold)


def _months_sheet(book: _Book, report: FinancialReport) -> None:
    p = report.project
    sheet = book.workbook.add_worksheet(gettext("By month")[:31])
    _text(sheet, 0, 0, gettext("Spent per month of payment, net of refunds, in %(currency)s, every implementing "
                               "organisation.", currency=p.currency), book.note)
    lines = [f.line for f in report.lines if f.tracked]
    _header(sheet, 2, [gettext("Month"), *(line.name for line in lines), gettext("Total")], book.bold)
    fmt, bold = book.money(p.currency), book.money(p.currency, bold=True)
    zero = Decimal("0.00")
    row = 3
    for month in report.months:
        _text(sheet, row, 0, month.strftime("%Y-%m"))
        values = [report.by_month.get((month, line.id), zero) for line in lines]
        for col, value in enumerate(values, start=1):
            _amount(sheet, row, col, value, fmt)
        _amount(sheet, row, len(lines) + 1, sum(values, zero), bold)
        row += 1
    _text(sheet, row, 0, gettext("Total"), book.bold)
    columns = [sum((report.by_month.get((m, line.id), zero) for m in report.months), zero) for line in lines]
    for col, value in enumerate(columns, start=1):
        _amount(sheet, row, col, value, bold)
    _amount(sheet, row, len(lines) + 1, sum(columns, zero), bold)


def _rates_sheet(book: _Book, report: FinancialReport) -> None:
    p = report.project
    sheet = book.workbook.add_worksheet(gettext("Rates used")[:31])
    _text(sheet, 0, 0, gettext("Each request was converted at the rate of its month, recorded by finance, and "
                               "rounded half to even to the currency's decimals."), book.note)
    _header(sheet, 2, [gettext("Currency"), gettext("Into"), gettext("Month"), gettext("Rate"),
                       gettext("Requests"), gettext("Source")], book.bold)
    for i, (currency, month, rate, n, source) in enumerate(report.rates, start=3):
        _text(sheet, i, 0, currency)
        _text(sheet, i, 1, p.currency)
        _text(sheet, i, 2, month.strftime("%Y-%m"))
        _amount(sheet, i, 3, rate, book.rate)
        sheet.write_number(i, 4, n)
        _text(sheet, i, 5, source or "")


def workbook_file(report: FinancialReport):
    """The workbook in an unnamed temporary file, open and rewound (as reports.spreadsheets does)."""
    workdir = tempfile.mkdtemp(prefix="casemgmt-export-")
    path = os.path.join(workdir, "financial.xlsx")
    try:
        workbook = xlsxwriter.Workbook(path, {
            "constant_memory": True, "tmpdir": workdir, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        book = _Book(workbook)
        _requests_sheet(book, report)
        _lines_sheet(book, report)
        _months_sheet(book, report)
        _rates_sheet(book, report)
        workbook.close()
        handle = open(path, "rb")  # noqa: SIM115 (closed by the response)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return handle


def _chunks(handle) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def download(report: FinancialReport, filename: str) -> Response:
    handle = workbook_file(report)
    response = Response(_chunks(handle), mimetype=XLSX_MIMETYPE)
    response.headers["Content-Length"] = str(os.fstat(handle.fileno()).st_size)
    response.call_on_close(handle.close)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}.xlsx"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
