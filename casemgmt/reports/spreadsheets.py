"""CSV and XLSX downloads that stream and cannot smuggle formulas into a spreadsheet.

Formula injection (OWASP "CSV injection"): a cell that starts with = + - @ or a tab/carriage return is run as a
formula by Excel, LibreOffice and Google Sheets, even in a .csv file. Such text cells get a leading apostrophe,
which spreadsheets show as text. Numbers stay numbers. The same rule applies to XLSX: the cells are written as
strings already, but a copy saved back to CSV would lose that.

CSV is produced row by row. XLSX is a zip, so XlsxWriter writes it in constant-memory mode to a temporary file in a
private directory, which is unlinked before the first byte is sent and streamed from the open handle; memory stays
flat whatever the number of rows. (The file does touch the temporary directory while it is built: for identified
exports, point TMPDIR at a tmpfs or an encrypted volume.)
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter
from flask import Response, stream_with_context

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value):
    """A value ready for a spreadsheet: numbers as numbers, text defused, dates in ISO form, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_TRIGGERS) else text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A byte-order mark lets Excel open UTF-8 (names in Haitian Creole, Spanish) without mangling accents.
    buffer.write("\ufeff")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_file(header: Sequence[str], rows: Iterable[Sequence], sheet: str):
    """Write the workbook to an unnamed temporary file and return it open, rewound. The name is unlinked before
    anything is sent, so nothing is left on disk whether the client reads the whole response or goes away."""
    # A private directory (0700) for the workbook and XlsxWriter's own constant-memory scratch files.
    workdir = tempfile.mkdtemp(prefix="casemgmt-export-")
    path = os.path.join(workdir, "export.xlsx")
    try:
        workbook = xlsxwriter.Workbook(path, {
            "constant_memory": True,
            "tmpdir": workdir,
            # Text is text: never turn a cell into a formula or a link.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        worksheet = workbook.add_worksheet(sheet[:31])
        bold = workbook.add_format({"bold": True})
        worksheet.write_row(0, 0, [safe_cell(h) for h in header], bold)
        for index, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                cell = safe_cell(value)
                if isinstance(cell, str):
                    worksheet.write_string(index, column, cell)
                else:
                    worksheet.write_number(index, column, cell)
        workbook.close()
        handle = open(path, "rb")  # noqa: SIM115 (closed by the response)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return handle


def _file_chunks(handle) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def download(fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence], sheet: str = "data") -> Response:
    """A streamed attachment in `fmt` ("csv" or "xlsx"). `rows` may be a generator that reads the database lazily:
    for CSV it is consumed while the response is sent, inside the request context."""
    if fmt == "xlsx":
        handle = _xlsx_file(header, rows, sheet)
        response = Response(_file_chunks(handle), mimetype=XLSX_MIMETYPE)
        response.headers["Content-Length"] = str(os.fstat(handle.fileno()).st_size)
        response.call_on_close(handle.close)
    else:
        response = Response(stream_with_context(csv_chunks(header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
