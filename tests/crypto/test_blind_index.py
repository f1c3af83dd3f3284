"""Blind indexes: CipherSweet's sizing rule, the normalisation of documents, phones and dates, keyed per kind and
per root-key version (the values are computed by casemgmt.matching.generations; tests/matching covers the keys and
the generations)."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from casemgmt.crypto import blind_index as bidx
from casemgmt.crypto.keyring import KeyRing, keyring
from casemgmt.extensions import db
from casemgmt.matching import generations, keys, normalise
from casemgmt.matching.models import PersonMatchKey
from tests import factories


def fullwidth(ascii_text: str) -> str:
    """The full-width forms East Asian keyboards produce (U+FF01-FF5E), which NFKC maps back to ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) for c in ascii_text)


@pytest.mark.parametrize("rows", [1_000, 10_000, 100_000])
def test_index_bits_keep_coincidences_between_2_and_sqrt_r(rows):
    bits = bidx.index_bits(rows)
    coincidences = rows / 2**bits
    assert 2 <= coincidences < math.sqrt(rows)
    # ...and it is the longest such index: one more bit would leave fewer than two coincidences per value.
    assert rows / 2 ** (bits + 1) < 2


def test_index_bits_values_and_bounds():
    assert [bidx.index_bits(r) for r in (1_000, 10_000, 100_000, 1_000_000)] == [8, 12, 15, 18]
    assert bidx.index_bits(16) == bidx.MIN_BITS
    assert bidx.index_bits(10**15) == bidx.MAX_BITS


def test_normalise_document_and_phone_and_date():
    # The normalisation the blind indexes are computed over (casemgmt.matching.normalise; names in tests/matching).
    assert normalise.document("pe-123 4567") == "PE1234567"
    assert normalise.document(" Pe.123/4567 ") == normalise.document("PE1234567")
    assert normalise.document(fullwidth("PE123")) == "PE123"
    assert normalise.phone_e164("+51 (987) 654-321", "PE") == "+51987654321"
    # Full-width digits read as the ASCII ones; a number too short to be one is its digits.
    assert normalise.phone_e164(fullwidth("987") + " 654 " + fullwidth("321"), "PE") == "+51987654321"
    assert normalise.phone_e164(fullwidth("05") + "1", "PE") == "051"
    assert normalise.iso_date(date(1999, 4, 2)) == "1999-04-02"
    assert normalise.iso_date(" 1999-04-02 ") == "1999-04-02"
    with pytest.raises(ValueError):
        normalise.iso_date("02/04/1999")


def test_compute_is_a_truncated_keyed_hmac(ctx):
    bits = 12
    value = generations.compute_raw(1, bits, "p", "MARIA")
    digest = hmac.new(keyring().match_index_key(1, "p"), b"MARIA", hashlib.sha256).digest()
    assert value == int.from_bytes(digest[:4], "big") >> (32 - bits)
    assert 0 <= value < 2**bits
    assert generations.compute_raw(1, bits, "p", "MARIA") == value  # deterministic
    # The first bits are the same value at any size: a smaller generation is a coarser one.
    assert generations.compute_raw(1, 8, "p", "MARIA") == value >> 4
    # Not a plain hash: another key ring gives other index values.
    other = KeyRing({1: b"\x07" * 16 + b"\x09" * 16})
    assert other.match_index_key(1, "p") != keyring().match_index_key(1, "p")


def test_each_index_has_its_own_key_per_kind_and_per_version(ctx):
    ring = KeyRing({1: b"\x01" * 32, 2: b"\x02" * 32})
    per_kind = {kind: ring.match_index_key(1, kind) for kind in keys.KINDS}
    assert len(set(per_kind.values())) == len(keys.KINDS)
    assert ring.match_index_key(2, "p") not in per_kind.values()  # a rebuild under version 2 changes every value
    assert ring.kek(1) not in per_kind.values() and ring.audit_key() not in per_kind.values()
    assert ring.blind_index_key("two-factor-recovery-codes") not in per_kind.values()
    assert all(len(k) == 32 for k in per_kind.values())
    with pytest.raises(KeyError):
        ring.match_index_key(3, "p")
    # The same input under two kinds gives unrelated values.
    assert generations.compute_raw(1, 31, "doc", "PE1234567") != generations.compute_raw(1, 31, "ph", "PE1234567")


def test_index_values_spread_over_the_whole_range(ctx):
    bits = bidx.index_bits(1_000)
    counts = Counter(generations.compute_raw(1, bits, "p", f"person number {i}") for i in range(1_000))
    assert max(counts) < 2**bits
    assert len(counts) > 0.9 * 2**bits  # about every bucket is used...
    assert max(counts.values()) < 20  # ...and none is a hot spot (expected about 3.9)


def test_stored_indexes_match_differently_written_search_terms(world):
    case = factories.case(world.caseworker)  # María José Quispe Mamani, PE-1234567, +51 987 654 321, 1999-04-12
    stored = set(db.session.execute(select(PersonMatchKey.generation, PersonMatchKey.kind, PersonMatchKey.value)
                                    .where(PersonMatchKey.case_id == case.id)).all())
    (generation,) = generations.live()
    assert generation.bits == bidx.index_bits(1_000)
    written_otherwise = keys.identity_of({
        "given_name": "  MARIA   jose ", "family_name": "quispe MAMANI", "date_of_birth": "1999-04-12",
        "document_number": "pe 123-4567", "phone": "987 654 321",  # a local number, in a Peruvian organisation
    }, world.ngo.country)
    looked_up = {(generation.id, kind, generations.compute(generation, kind, key))
                 for kind, key in keys.query_keys(written_otherwise)}
    assert {kind for _, kind, _ in looked_up & stored} == {"py", "dob", "doc", "ph"}
    assert all(0 <= value < 2**generation.bits for _, _, value in stored)
