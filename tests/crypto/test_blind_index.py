"""Blind indexes: CipherSweet's sizing rule, normalisation, keyed and separated per index."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from datetime import date

import pytest

from casemgmt.cases import identity
from casemgmt.crypto import blind_index as bidx
from casemgmt.crypto.keyring import KeyRing, keyring
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


def test_normalise_text():
    assert bidx.normalise_text("  María\t\n JOSÉ  ") == "maría josé"
    assert bidx.normalise_text("Jose\u0301") == bidx.normalise_text("José")  # combining accent: NFKC composes it
    assert bidx.normalise_text(fullwidth("MARIA")) == "maria"  # full-width letters: NFKC
    assert bidx.normalise_text("Straße") == bidx.normalise_text("STRASSE") == "strasse"  # casefold, not lower()
    assert bidx.normalise_text("Ana\u00a0María") == "ana maría"  # no-break space
    assert bidx.normalise_text("Ana María") != bidx.normalise_text("Ana Maria")  # accents are significant
    assert bidx.full_name(" Rosa ", "HUAMÁN") == "rosa huamán"
    assert bidx.full_name(None, "Huamán") == "huamán"


def test_normalise_document_and_phone_and_date():
    assert bidx.normalise_document("pe-123 4567") == "PE1234567"
    assert bidx.normalise_document(" Pe.123/4567 ") == bidx.normalise_document("PE1234567")
    assert bidx.normalise_document(fullwidth("PE123")) == "PE123"
    assert bidx.normalise_phone("+51 (987) 654-321") == "51987654321"
    assert bidx.normalise_phone(fullwidth("051") + " " + fullwidth("987")) == "051987"
    assert bidx.normalise_date(date(1999, 4, 2)) == "1999-04-02"
    assert bidx.normalise_date(" 1999-04-02 ") == "1999-04-02"
    with pytest.raises(ValueError):
        bidx.normalise_date("02/04/1999")


def test_compute_is_a_truncated_keyed_hmac(ctx):
    bits = 12
    value = bidx.compute("name", "rosa huamán", bits)
    digest = hmac.new(keyring().blind_index_key("name"), "rosa huamán".encode(), hashlib.sha256).digest()
    assert value == int.from_bytes(digest[:4], "big") >> (32 - bits)
    assert 0 <= value < 2**bits
    assert bidx.compute("name", "rosa huamán", bits) == value  # deterministic
    assert bidx.compute("name", "", bits) is None
    # Not a plain hash: another key ring gives other index values.
    other = KeyRing({1: b"\x07" * 16 + b"\x09" * 16})
    assert other.blind_index_key("name") != keyring().blind_index_key("name")


def test_each_index_has_its_own_key(ctx):
    ring = keyring()
    keys = {name: ring.blind_index_key(name) for name in ("name", "name_year", "dob", "document", "phone")}
    assert len(set(keys.values())) == 5
    assert ring.kek(1) not in keys.values() and ring.audit_key() not in keys.values()
    assert all(len(k) == 32 for k in keys.values())
    # The same normalised input indexed under two names gives unrelated values.
    assert bidx.compute("document", "PE1234567", 31) != bidx.compute("phone", "PE1234567", 31)


def test_index_values_spread_over_the_whole_range(ctx):
    bits = bidx.index_bits(1_000)
    counts = Counter(bidx.compute("name", f"person number {i}", bits) for i in range(1_000))
    assert max(counts) < 2**bits
    assert len(counts) > 0.9 * 2**bits  # about every bucket is used...
    assert max(counts.values()) < 20  # ...and none is a hot spot (expected about 3.9)


def test_stored_indexes_match_differently_written_search_terms(world):
    case = factories.case(world.caseworker)  # María José Quispe Mamani, PE-1234567, +51 987 654 321, 1999-04-12
    person = case.person
    assert identity.index_value("name", "  MARÍA   josé quispe MAMANI ") == ("name_bidx", person.name_bidx)
    assert identity.index_value("document_number", "pe 123-4567") == ("document_bidx", person.document_bidx)
    assert identity.index_value("phone", "(51) 987654321") == ("phone_bidx", person.phone_bidx)
    assert identity.index_value("date_of_birth", "1999-04-12") == ("dob_bidx", person.dob_bidx)
    bits = bidx.index_bits(1_000)
    assert person.name_year_bidx == bidx.compute("name_year", "maría josé quispe mamani|1999", bits)
    assert all(0 <= v < 2**bits for v in (person.name_bidx, person.dob_bidx, person.document_bidx,
                                          person.phone_bidx, person.name_year_bidx))
