"""A wrapped data key is bound to its case, key id and KEK version (issue 10, mutation tests).

tests/crypto/test_fields.py flips bits of a wrapped key; a slip that left the case id (or the key id) out of the
associated data of the wrap went unnoticed, because a key copied onto another case's row then unwraps to the other
case's key and that case's fields simply fail to decrypt as if tampered. Here the unwrap itself must refuse.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from casemgmt.crypto import aead, fields, unseal
from casemgmt.crypto.models import DataKey
from casemgmt.extensions import db
from tests import factories
from tests.crypto.conftest import forget_keys


def _row(case_id: str, key_id: int = 1) -> DataKey:
    db.session.expire_all()
    return db.session.get(DataKey, (case_id, key_id))


def _set_wrapped(case_id: str, key_id: int, wrapped: bytes) -> None:
    db.session.execute(
        text("UPDATE data_keys SET wrapped = :w WHERE case_id = :c AND key_id = :k"),
        {"w": wrapped, "c": case_id, "k": key_id},
    )
    db.session.commit()
    forget_keys()  # a new request: keys are unwrapped from the database again


def test_a_wrapped_data_key_copied_onto_another_cases_row_fails_to_unwrap(world):
    """Mutation caught: fields._wrap_context() without the case id."""
    victim = factories.case(world.caseworker, given_name="Rosa")
    mine = factories.case(world.caseworker, given_name="Ana")
    victim_id, mine_id, person_id = victim.id, mine.id, mine.person.id
    victim_key = fields.unwrap(_row(victim_id))
    _set_wrapped(mine_id, 1, _row(victim_id).wrapped)
    with pytest.raises(aead.DecryptionError):
        fields.unwrap(_row(mine_id))
    with pytest.raises(aead.DecryptionError):
        fields.preload_keys([mine_id])
    forget_keys()
    with pytest.raises(aead.DecryptionError):
        unseal(db.session.get(type(mine.person), person_id), "given_name")
    # The victim's own key is untouched and still unwraps to the same bytes.
    assert fields.unwrap(_row(victim_id)) == victim_key


def test_a_wrapped_data_key_copied_to_another_key_id_of_the_same_case_fails_to_unwrap(world):
    """Mutation caught: fields._wrap_context() without the key id (an old key put in the place of the newest)."""
    case = factories.case(world.caseworker)
    case_id = case.id
    fields.create_data_key(case_id)
    db.session.commit()
    assert db.session.scalars(select(DataKey.key_id).where(DataKey.case_id == case_id)).all() == [1, 2]
    _set_wrapped(case_id, 2, _row(case_id, 1).wrapped)
    with pytest.raises(aead.DecryptionError):
        fields.unwrap(_row(case_id, 2))

