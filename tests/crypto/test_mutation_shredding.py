"""Crypto-shredding takes effect at once, also inside the request or command that shreds (issue 10, mutation tests).

The keys a request has unwrapped stay in `flask.g` until it ends. A slip that left them there after `shred()` let the
same request (an erasure followed by a page, a CLI batch erasing and then exporting) still decrypt an erased case.
"""

from __future__ import annotations

import pytest

from casemgmt.crypto import aead, fields, seal, unseal
from casemgmt.extensions import db
from tests import factories


def test_a_shredded_case_cannot_be_decrypted_or_written_even_by_the_request_that_had_its_key(world):
    """Mutation caught: fields.shred() not dropping the case's unwrapped keys from the request's cache."""
    case = factories.case(world.caseworker, given_name="Rosa")
    other = factories.case(world.caseworker, given_name="Ana")
    person = case.person
    assert unseal(person, "given_name") == "Rosa"  # its key is now in this request's cache
    assert unseal(other.person, "given_name") == "Ana"
    assert fields.shred(case.id) == 1
    db.session.flush()
    with pytest.raises(aead.DecryptionError):
        unseal(person, "given_name")
    with pytest.raises(aead.DecryptionError):
        seal(person, "aliases", "new value")
    # Only that case: another case's key stays usable in the same request.
    assert unseal(other.person, "given_name") == "Ana"
