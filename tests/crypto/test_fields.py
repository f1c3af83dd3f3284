"""Sealed values: random nonces, bound to table, column, row and case; any change fails authentication."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text

from casemgmt.cases import operations
from casemgmt.cases.models import Case, Person, StageChange
from casemgmt.crypto import DecryptionError, Sealed, aead, seal, unseal
from casemgmt.extensions import db
from tests import factories
from tests.crypto.conftest import copy_blob, flip_byte, forget_keys


def _person(case_id: str) -> Person:
    return db.session.scalar(select(Person).where(Person.case_id == case_id))


# -- round trip and randomness ---------------------------------------------------------------------------------------

ROUND_TRIP_VALUES = [
    "Rosa",
    "Ñusta Ḳ\u02bciche' — 李小龍 🌸 مريم",
    "x" * 5000,
    "trailing ***",  # sqlalchemy-utils' naive padding would strip these
    "  spaced  ",
]


def test_seal_unseal_round_trip_survives_the_database(world):
    case = factories.case(world.caseworker)
    person_id = case.person.id
    for value in ROUND_TRIP_VALUES:
        person = db.session.get(Person, person_id)
        seal(person, "aliases", value)
        assert isinstance(person.aliases, Sealed)
        assert unseal(person, "aliases") == value
        db.session.commit()
        db.session.expunge_all()
        # As in a new request: no cached data key, the wrapped key is unwrapped again from the database.
        forget_keys()
        assert unseal(db.session.get(Person, person_id), "aliases") == value


def test_empty_values_are_stored_as_null(world):
    case = factories.case(world.caseworker)
    seal(case.person, "aliases", "")
    assert case.person.aliases is None
    seal(case.person, "address", None)
    assert case.person.address is None
    assert unseal(case.person, "address") is None


def test_same_plaintext_twice_gives_different_ciphertexts(world):
    first = factories.case(world.caseworker, given_name="Rosa", family_name="Huamán")
    again = {seal(first.person, "aliases", "Rosa") or first.person.aliases.blob for _ in range(2)}
    assert len(again) == 2
    nonces = {blob[5:17] for blob in again}
    assert len(nonces) == 2

    second = factories.case(world.caseworker, given_name="Rosa", family_name="Huamán")
    stored = [bytes(b) for b in db.session.execute(text("SELECT given_name FROM persons")).scalars()]
    assert len(stored) == 2 and stored[0] != stored[1]
    assert unseal(first.person, "given_name") == unseal(second.person, "given_name") == "Rosa"


def test_stored_layout_is_version_keyid_nonce_ciphertext_tag(world):
    case = factories.case(world.caseworker, given_name="Rosa")
    blob = case.person.given_name.blob
    assert blob[0] == aead.FORMAT_VERSION == 1
    assert int.from_bytes(blob[1:5], "big") == 1  # the case's first data key
    assert len(blob) == 1 + 4 + 12 + len(b"Rosa") + 16
    assert repr(case.person.given_name) == f"<Sealed {len(blob)} bytes>"  # never the content


def test_associated_data_is_length_prefixed():
    key = os.urandom(32)
    blob = aead.encrypt(key, 7, b"secret", ("ab", "c"))
    assert aead.decrypt(key, blob, ("ab", "c")) == b"secret"
    with pytest.raises(aead.DecryptionError):
        aead.decrypt(key, blob, ("a", "bc"))
    with pytest.raises(aead.DecryptionError):
        aead.decrypt(os.urandom(32), blob, ("ab", "c"))
    with pytest.raises(aead.DecryptionError):
        aead.decrypt(key, blob[:20], ("ab", "c"))  # truncated
    with pytest.raises(aead.DecryptionError):
        aead.decrypt(key, b"\x02" + blob[1:], ("ab", "c"))  # unknown format version


# -- moved ciphertexts -----------------------------------------------------------------------------------------------

def test_ciphertext_moved_to_another_column_of_the_same_row_fails(world):
    case = factories.case(world.caseworker, given_name="Rosa", family_name="Huamán")
    copy_blob("persons", "given_name", case.person.id, "persons", "family_name", case.person.id)
    person = _person(case.id)
    assert person.family_name == person.given_name  # the very same bytes...
    assert unseal(person, "given_name") == "Rosa"
    with pytest.raises(DecryptionError) as raised:  # ...fail where they do not belong
        unseal(person, "family_name")
    assert (raised.value.table, raised.value.column, raised.value.row_id, raised.value.case_id) == (
        "persons", "family_name", person.id, case.id
    )
    assert "Rosa" not in str(raised.value)


def test_ciphertext_moved_to_another_persons_row_fails(world):
    victim = factories.case(world.caseworker, given_name="Rosa")
    other = factories.case(world.caseworker, given_name="Ana")
    copy_blob("persons", "given_name", victim.person.id, "persons", "given_name", other.person.id)
    with pytest.raises(DecryptionError):
        unseal(_person(other.id), "given_name")
    assert unseal(_person(victim.id), "given_name") == "Rosa"


def test_ciphertext_moved_to_another_case_fails(world):
    victim = factories.case(world.caseworker, narrative="first narrative")
    other = factories.case(world.caseworker, narrative="second narrative")
    copy_blob("cases", "narrative", victim.id, "cases", "narrative", other.id)
    with pytest.raises(DecryptionError):
        unseal(db.session.get(Case, other.id), "narrative")


def test_ciphertext_moved_between_rows_under_the_same_data_key_fails(world):
    # Two stage changes of one case share its data key: only the row id in the associated data tells them apart.
    case = factories.case(world.caseworker)
    first = operations.change_stage(world.caseworker, case, "shelter", "first reason")
    second = operations.change_stage(world.caseworker, case, "counseling", "second reason")
    db.session.commit()
    first_id, second_id = first.id, second.id
    copy_blob("stage_changes", "reason", first_id, "stage_changes", "reason", second_id)
    assert unseal(db.session.get(StageChange, first_id), "reason") == "first reason"
    with pytest.raises(DecryptionError):
        unseal(db.session.get(StageChange, second_id), "reason")


# -- tampering -------------------------------------------------------------------------------------------------------

def test_flipping_one_stored_byte_fails_decryption(world):
    case = factories.case(world.caseworker, document_number="PE-1234567")
    person_id = case.person.id
    original = case.person.document_number
    positions = {"key id": 4, "nonce": 10, "ciphertext": 17, "tag": len(original.blob) - 1}
    for part, position in positions.items():
        flip_byte("persons", "document_number", person_id, position)
        person = db.session.get(Person, person_id)
        assert person.document_number != original
        with pytest.raises(DecryptionError):
            unseal(person, "document_number")
        # The other fields of the row are untouched and still decrypt.
        assert unseal(person, "given_name") == "María José"
        flip_byte("persons", "document_number", person_id, position)  # flip it back: readable again
        assert unseal(db.session.get(Person, person_id), "document_number") == "PE-1234567", part


def test_tampered_wrapped_data_key_makes_the_case_unreadable(world):
    case = factories.case(world.caseworker)
    blob = bytearray(db.session.execute(text("SELECT wrapped FROM data_keys")).scalar_one())
    blob[-3] ^= 0x80
    db.session.execute(text("UPDATE data_keys SET wrapped = :b"), {"b": bytes(blob)})
    db.session.commit()
    db.session.expire_all()
    forget_keys()  # a new request: the key must be unwrapped from the database
    with pytest.raises(DecryptionError):
        unseal(db.session.get(Person, case.person.id), "given_name")


# -- the column type -------------------------------------------------------------------------------------------------

def test_encrypted_column_refuses_a_plain_string(world):
    case = factories.case(world.caseworker)
    case.person.given_name = "Plain Text Name"
    with pytest.raises((TypeError, sa_exc.StatementError)) as raised:
        db.session.flush()
    error = raised.value
    cause = error if isinstance(error, TypeError) else error.orig
    assert isinstance(cause, TypeError)
    assert "seal()" in str(cause)
    db.session.rollback()
    stored = db.session.execute(text("SELECT given_name FROM persons")).scalar_one()
    assert b"Plain Text Name" not in bytes(stored)


def test_encrypted_column_refuses_raw_bytes(world):
    case = factories.case(world.caseworker)
    case.person.family_name = b"raw bytes are not sealed"
    with pytest.raises((TypeError, sa_exc.StatementError)):
        db.session.flush()
    db.session.rollback()


# -- data keys -------------------------------------------------------------------------------------------------------

def test_new_values_are_sealed_under_the_newest_data_key(world):
    from casemgmt.crypto import fields

    case = factories.case(world.caseworker, given_name="Rosa")
    person_id = case.person.id
    assert fields.create_data_key(case.id) == 2  # e.g. a re-encryption batch gave the case a new key
    db.session.commit()
    # A later request first reads an old value (loading key 1 into its cache), then saves a new one.
    forget_keys()
    person = db.session.get(Person, person_id)
    assert unseal(person, "given_name") == "Rosa"
    seal(person, "aliases", "written after the new key")
    assert aead.key_id_of(person.aliases.blob) == 2
    db.session.commit()
    # Old values stay readable under their own key id.
    forget_keys()
    person = db.session.get(Person, person_id)
    assert aead.key_id_of(person.given_name.blob) == 1
    assert (unseal(person, "given_name"), unseal(person, "aliases")) == ("Rosa", "written after the new key")
