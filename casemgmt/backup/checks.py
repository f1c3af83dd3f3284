"""What a restore checks before the restored system may serve: the audit chain, the database against the checkpoints
anchored outside it (how far back in time the restore went), and that the keys open what the data holds: a sample
of every encrypted column of every table, and every document file.

Cases that are erased are skipped: their data keys are gone on purpose, and nothing of theirs may open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from casemgmt.audit import checkpoints
from casemgmt.audit.checkpoints import Checkpoint
from casemgmt.audit.verify import AnchorReport, Problem, verify_anchor, verify_chain
from casemgmt.auth import totp
from casemgmt.cases.models import Case
from casemgmt.crypto import aead
from casemgmt.crypto.fields import EncryptedBytes, forget_keys, unseal
from casemgmt.crypto.keyring import keyring
from casemgmt.documents import storage
from casemgmt.documents.models import Document
from casemgmt.extensions import db

SAMPLE = 20


@dataclass
class Rewind:
    """The restored database against the checkpoints: what the anchor knows happened after the snapshot."""

    report: AnchorReport
    later_events: int = 0  # at least this many events were anchored beyond the restored head
    later_checkpoints: int = 0
    latest: Checkpoint | None = None


def rewind(paths: list[Path], head_seq: int) -> Rewind:
    """Hold the restored database against the anchor. Run it before anything adds events: the events a restore adds
    (re-applied erasures, backup.restored) take sequence numbers the old checkpoints anchored, and would be reported
    as replaced rather than as the plain rewind that a restored backup is."""
    report = verify_anchor(paths)
    found = Rewind(report)
    key = keyring().audit_checkpoint_key()
    for reading in checkpoints.read(paths, key):
        checkpoint = reading.checkpoint
        if checkpoint is None or (report.restart is not None and checkpoint.at < report.restart.at):
            continue
        if checkpoint.seq > head_seq:
            found.later_checkpoints += 1
            if found.latest is None or checkpoint.seq > found.latest.seq:
                found.latest = checkpoint
    if found.latest is not None:
        found.later_events = found.latest.seq - head_seq
    return found


def audit_chain() -> tuple[int, list[Problem]]:
    return verify_chain()


@dataclass
class Decryption:
    columns: int = 0
    values: int = 0
    failures: list[str] = field(default_factory=list)


def _erased_case_ids() -> set[str]:
    return set(db.session.scalars(select(Case.id).where(Case.erased_at.is_not(None))))


def _opener(cls):
    if cls.__tablename__ == "contacts":
        # A contact without a case has a key of its own (intake.sealing); with a case, the case's key.
        from casemgmt.intake.sealing import unseal_contact

        return unseal_contact
    return unseal


def encrypted_columns() -> list[tuple[type, list[str]]]:
    """Every mapped class with EncryptedBytes columns, found in the metadata (so a new table is checked too)."""
    found = []
    for mapper in sorted(db.Model.registry.mappers, key=lambda m: m.class_.__name__):
        names = [key for key, column in mapper.columns.items() if isinstance(column.type, EncryptedBytes)]
        if names:
            found.append((mapper.class_, names))
    return found


def decrypt_samples(sample: int = SAMPLE) -> Decryption:
    """Decrypt up to `sample` random non-empty values of every encrypted column (of cases not erased), and of the
    users' sealed two-factor secrets. A failure names table, column and row id, never a value."""
    result = Decryption()
    erased = _erased_case_ids()
    for cls, names in encrypted_columns():
        opener = _opener(cls)
        for name in names:
            result.columns += 1
            column = getattr(cls, name)
            # Over-fetch, then drop erased cases' rows in Python: the case id is a property, not always a column.
            rows = db.session.scalars(
                select(cls).where(column.is_not(None)).order_by(func.random()).limit(sample * 3)
            ).all()
            taken = 0
            for row in rows:
                case_id = row.encryption_case_id
                if taken >= sample or case_id in erased or (case_id is None and opener is unseal):
                    continue
                taken += 1
                try:
                    opener(row, name)
                    result.values += 1
                except aead.DecryptionError:
                    result.failures.append(f"{cls.__tablename__}.{name} of row {row.id} does not decrypt")
            forget_keys({row.encryption_case_id for row in rows})
            db.session.expunge_all()
    _user_secrets(result, sample)
    return result


def _user_secrets(result: Decryption, sample: int) -> None:
    from casemgmt.accounts.models import User

    for name in ("totp_secret", "totp_pending"):
        result.columns += 1
        column = getattr(User, name)
        for user in db.session.scalars(select(User).where(column.is_not(None)).order_by(func.random()).limit(sample)):
            try:
                totp.open_secret(user.id, name, getattr(user, name))
                result.values += 1
            except (aead.DecryptionError, KeyError):
                result.failures.append(f"users.{name} of user {user.id} does not decrypt")
        db.session.expunge_all()


@dataclass
class Documents:
    checked: int = 0
    failures: list[str] = field(default_factory=list)
    missing_at_backup: int = 0


def decrypt_documents(known_missing: set[str], batch: int = 500) -> Documents:
    """Open every document file of every case not erased, in batches (memory stays flat): it must be there, decrypt
    under its case's key and have the size its row records. Files already missing when the backup was made are
    counted apart (the backup reported them)."""
    result = Documents()
    erased = _erased_case_ids()
    after = ""
    while True:
        rows = db.session.execute(
            select(Document.id, Document.case_id, Document.size).where(Document.id > after)
            .order_by(Document.id).limit(batch)
        ).all()
        if not rows:
            break
        for document_id, case_id, size in rows:
            if case_id in erased:
                continue
            if document_id in known_missing:
                result.missing_at_backup += 1
                continue
            try:
                data = storage.read(case_id, document_id)
            except storage.MissingFile:
                result.failures.append(f"document {document_id} of case {case_id}: the file is missing")
                continue
            except aead.DecryptionError:
                result.failures.append(f"document {document_id} of case {case_id} does not decrypt")
                continue
            if len(data) != size:
                result.failures.append(f"document {document_id} of case {case_id} has {len(data)} bytes, its "
                                       f"record says {size}")
                continue
            result.checked += 1
        forget_keys({case_id for _, case_id, _ in rows})
        after = rows[-1][0]
    return result
