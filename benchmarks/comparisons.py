"""What the measured pages are compared with: a search without blind indexes, a case view without decryption, and
the bare SQL each page needs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.engine import Engine

from benchmarks.timing import Statement
from casemgmt.access.policies import case_scope_filter
from casemgmt.cases.models import Case, Person
from casemgmt.crypto import aead
from casemgmt.crypto.keyring import keyring
from casemgmt.crypto.models import DataKey
from casemgmt.extensions import db
from casemgmt.matching import normalise

SCAN_BATCH = 2000


def decrypt_and_scan(actor, term: str) -> tuple[list[str], int]:
    """Exact name search the way an encrypted-column library without blind indexes must do it: decrypt the name of
    every person in the user's scope and compare. Returns (matching case ids, people decrypted).

    It is written to be as fast as such a search can be, so the comparison flatters it: one streamed query with no
    ORM objects, each data key unwrapped once, the same AES-GCM and associated data as crypto.fields.
    """
    wanted = normalise.full_name(term, None)  # the name as matching folds it
    ring = keyring()
    query = (
        select(Person.id, Person.case_id, Person.given_name, Person.family_name,
               DataKey.key_id, DataKey.kek_version, DataKey.wrapped)
        .join(Case, Case.id == Person.case_id)
        .join(DataKey, DataKey.case_id == Person.case_id)
        .where(case_scope_filter(actor))
        .execution_options(yield_per=SCAN_BATCH)
    )
    matches, scanned = [], 0
    for row in db.session.execute(query):
        given, family = row.given_name, row.family_name
        if given is None or aead.key_id_of(given.blob) != row.key_id:
            continue  # a name sealed under another of the case's keys; its own row comes along too
        key = aead.decrypt(ring.kek(row.kek_version), row.wrapped,
                           ("data_keys", "wrapped", row.case_id, row.key_id, row.kek_version))
        scanned += 1
        name = normalise.full_name(
            aead.decrypt(key, given.blob, ("persons", "given_name", row.id, row.case_id)).decode(),
            aead.decrypt(key, family.blob, ("persons", "family_name", row.id, row.case_id)).decode()
            if family is not None else None,
        )
        if name == wanted:
            matches.append(row.case_id)
    return matches, scanned


class DecryptionMemo:
    """Switches encryption off for reading, on the same database and the same rows.

    While recording, every AES-GCM decryption (values and data-key unwrapping) runs for real and its plaintext is
    kept. While replaying, decryption is a dictionary look-up of that plaintext: the page gets the same text, with
    no key unwrapping, no cipher set-up and no authentication. The stored rows still hold ciphertext, which is 33
    bytes longer per value than the plaintext would be: a few kilobytes per page, too little to matter.
    """

    def __init__(self):
        self.plaintexts: dict[tuple[bytes, tuple], bytes] = {}
        self.calls = 0
        self.misses = 0
        self._real = aead.decrypt

    def _record(self, key: bytes, blob: bytes, context: tuple) -> bytes:
        self.calls += 1
        plaintext = self._real(key, blob, context)
        self.plaintexts[(blob, tuple(context))] = plaintext
        return plaintext

    def _replay(self, key: bytes, blob: bytes, context: tuple) -> bytes:
        try:
            return self.plaintexts[(blob, tuple(context))]
        except KeyError:
            self.misses += 1
            return self._real(key, blob, context)

    @contextmanager
    def recording(self) -> Iterator[None]:
        with self._patched(self._record):
            yield

    @contextmanager
    def replaying(self) -> Iterator[None]:
        with self._patched(self._replay):
            yield

    @contextmanager
    def _patched(self, replacement) -> Iterator[None]:
        aead.decrypt = replacement
        try:
            yield
        finally:
            aead.decrypt = self._real


def replay_reads(engine: Engine, statements: list[Statement], repeat: int, budget: float = 60) -> list[float]:
    """The floor: the page's own SELECTs, exactly as the application sent them, executed on a bare DB-API
    connection and fully fetched; no ORM, no templates, no encryption. Its writes (the audit event) are left out,
    so the floor is a lower bound."""
    reads = [s for s in statements if s.is_read]
    samples = []
    raw = engine.raw_connection()
    begun = time.perf_counter()
    try:
        for _ in range(repeat):
            if len(samples) >= 3 and time.perf_counter() - begun > budget:
                break
            started = time.perf_counter()
            cursor = raw.cursor()
            for statement in reads:
                cursor.execute(statement.sql, statement.parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            cursor.close()
            samples.append(time.perf_counter() - started)
            raw.rollback()
    finally:
        raw.close()
    return samples
