from __future__ import annotations

import pytest
from sqlalchemy import text

from casemgmt.extensions import db

# Values that appear nowhere else in the suite, so finding them in raw storage can only mean a leak.
SECRET_VALUES = {
    "given_name": "Zoraidañe",
    "family_name": "Ventimiglia Huallpa",
    "aliases": "Zorita-Qx",
    "phone": "+51 912 400 777",
    "address": "Jirón Huallaga 4417, Cercado",
    "document_number": "ZX-99887766",
    "narrative": "Held in the Gamarra textile loft by the Quillabamba crew",
}
REASON = "Moved to the Qorikancha shelter after threats"


@pytest.fixture
def secret_case(world):
    from tests import factories

    return factories.case(world.caseworker, **SECRET_VALUES)


def flip_byte(table: str, column: str, row_id: str, position: int) -> None:
    """Flip one bit of a stored ciphertext with plain SQL, as someone with database access could."""
    select_blob = text(f"SELECT {column} FROM {table} WHERE id = :id")  # noqa: S608 - test-controlled names
    changed = bytearray(db.session.execute(select_blob, {"id": row_id}).scalar_one())
    changed[position] ^= 0x01
    update_blob = text(f"UPDATE {table} SET {column} = :blob WHERE id = :id")  # noqa: S608
    db.session.execute(update_blob, {"blob": bytes(changed), "id": row_id})
    db.session.commit()
    db.session.expire_all()


def copy_blob(src_table: str, src_column: str, src_id: str, dst_table: str, dst_column: str, dst_id: str) -> None:
    blob = db.session.execute(
        text(f"SELECT {src_column} FROM {src_table} WHERE id = :id"), {"id": src_id}  # noqa: S608
    ).scalar_one()
    db.session.execute(
        text(f"UPDATE {dst_table} SET {dst_column} = :blob WHERE id = :id"), {"blob": blob, "id": dst_id}  # noqa: S608
    )
    db.session.commit()
    db.session.expire_all()


def forget_keys() -> None:
    """Drop what the current request remembers about data keys, as if a new request began."""
    from flask import g

    for name in [n for n in vars(g) if n.startswith("_casemgmt_")]:
        g.pop(name)
