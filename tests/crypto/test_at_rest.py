"""ASVS 6.1.1: the database holds no plaintext personal data, neither in the rows nor in the file on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from casemgmt.cases import operations
from casemgmt.extensions import db
from casemgmt.matching import normalise
from tests.crypto.conftest import REASON, SECRET_VALUES


def _needles() -> dict[str, bytes]:
    """Each secret as stored text could spell it: as typed, case-folded, and in the normalised search forms."""
    needles = {}
    for field, value in SECRET_VALUES.items():
        needles[field] = value.encode()
        needles[f"{field} (casefolded)"] = value.casefold().encode()
        needles[f"{field} (folded, as matching compares it)"] = normalise.fold(value).encode()
    needles["document (normalised)"] = normalise.document(SECRET_VALUES["document_number"]).encode()
    needles["phone (E.164)"] = normalise.phone_e164(SECRET_VALUES["phone"], "PE").encode()
    needles["phone (digits)"] = "".join(c for c in SECRET_VALUES["phone"] if c.isdigit()).encode()
    needles["reason"] = REASON.encode()
    needles["date of birth"] = b"1999-04-12"
    return needles


def _row_bytes(table: str) -> bytes:
    out = bytearray()
    for row in db.session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed table names
        for value in row:
            if isinstance(value, bytes | bytearray | memoryview):
                out += bytes(value)
            elif value is not None:
                out += str(value).encode()
            out += b"\x00"
    return bytes(out)


def test_raw_rows_hold_no_plaintext(secret_case, world):
    case = secret_case
    operations.change_stage(world.caseworker, case, "shelter", REASON)
    db.session.commit()

    counts = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
              for t in ("persons", "cases", "stage_changes")}
    assert counts == {"persons": 1, "cases": 1, "stage_changes": 2}
    raw = {t: _row_bytes(t) for t in ("persons", "cases", "stage_changes", "audit_events", "data_keys")}
    for table, content in raw.items():
        for name, needle in _needles().items():
            assert needle not in content, f"{name} found in plaintext in {table}"

    # The encrypted columns really hold ciphertext (format version 1, data key 1), and the app still reads them.
    given = db.session.execute(text("SELECT given_name FROM persons")).scalar_one()
    assert bytes(given)[:5] == b"\x01\x00\x00\x00\x01"
    reason = db.session.execute(
        text("SELECT reason FROM stage_changes WHERE to_stage = 'shelter'")
    ).scalar_one()
    assert reason is not None and REASON.encode() not in bytes(reason)
    db.session.expire_all()
    assert operations.snapshot(case)["given_name"] == SECRET_VALUES["given_name"]
    history = operations.stage_history(case, reveal_reasons=True)
    assert [h["reason"] for h in history] == [None, REASON]


def test_sqlite_file_on_disk_holds_no_plaintext(secret_case, world, backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL's files belong to the server process; the raw-row test covers what it stores")
    operations.change_stage(world.caseworker, secret_case, "shelter", REASON)
    db.session.commit()
    db.session.close()
    with db.engine.connect() as conn:
        busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    assert busy == 0
    path = Path(db.engine.url.database)
    content = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        content += wal.read_bytes()
    assert len(content) > 0
    # Sanity: the file is really the database and the search found plaintext where there is some.
    assert b"Casa Esperanza" in content
    for name, needle in _needles().items():
        assert needle not in content, f"{name} found in plaintext in {path}"
