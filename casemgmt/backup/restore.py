"""`casemgmt restore`: put an archive back into an empty database and document store, make it safe, and say what
came back and what did not.

1. Check, touching nothing: the target is empty (no table with rows, no document file), the erasure journal is
   intact and still holds what the archive recorded, the whole archive authenticates and every file matches the
   manifest (extracted into a private staging folder inside the target instance), its schema is not newer than
   this code, and the database kind and versions fit.
2. Restore: the database (SQLite's backup API / pg_restore), then the documents (one rename into place); migrations
   if the archive's schema is older.
3. Before anything adds an event: hold the restored database against the audit checkpoints. An older backup shows
   as the anchor's later events and checkpoints missing: that is how far back in time the restore went.
4. Re-apply every journaled erasure the restored database does not show (as the system, idempotently): a person
   erased after the backup was made must stay erased. The application is stopped during a restore, so this is done
   before it serves a request.
5. Verify: the audit chain, a decryption sample of every encrypted column, every document file.
6. Record backup.restored; for a restore into the configured database, restart the checkpoint chain (only now,
   after the rewind has been reported), so the next checkpoint does not report the known rewind forever.

There is no --force onto a database or document store that holds data: restoring over data destroys it, and the
deliberate way (move the database and the documents folder aside, keeping them for later examination, or create an
empty database) is two commands the operator types knowing what they do.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from casemgmt.audit import anchor as anchoring
from casemgmt.audit import record_event
from casemgmt.audit.events import SYSTEM
from casemgmt.backup import checks, erasures, keys, snapshot
from casemgmt.backup.archive import read_archive
from casemgmt.backup.stream import ArchiveError
from casemgmt.cases import operations as case_operations
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.extensions import db


class RestoreRefused(Exception):
    """Nothing was changed: the message says why."""


class RestoreFailed(Exception):
    """The restore stopped after it had begun to change the target: the message says what to do."""


@dataclass
class Target:
    database_url: str
    instance_path: Path
    in_place: bool  # the configured database and instance (not a restore test into a scratch copy)

    def describe(self) -> str:
        return make_url(self.database_url).render_as_string(hide_password=True)


@dataclass
class Report:
    say: Callable[[str], None]
    problems: list[str] = field(default_factory=list)
    snapshot_at: datetime | None = None
    later_events: int = 0
    later_checkpoints: int = 0
    reapplied: list[str] = field(default_factory=list)
    reapplied_after_backup: int = 0
    not_in_backup: int = 0
    erasures_done: bool = False

    def problem(self, text: str) -> None:
        self.problems.append(text)
        self.say(f"PROBLEM: {text}")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z"))


def _ago(then: datetime) -> str:
    delta = utcnow() - then
    days, hours, minutes = delta.days, delta.seconds // 3600, delta.seconds % 3600 // 60
    return f"{days} day(s) {hours} hour(s) {minutes} minute(s)" if days else f"{hours} hour(s) {minutes} minute(s)"


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def _check_schema(revision: str | None) -> str | None:
    """The head to migrate to, None when nothing is to be done; refuse an archive from newer code."""
    if revision is None:
        return None  # a database made without migrations (create_all): nothing to compare
    script = _script()
    head = script.get_current_head()
    if revision == head:
        return None
    try:
        known = script.get_revision(revision)
    except Exception:
        known = None
    if known is None:
        raise RestoreRefused(f"the archive's schema ({revision}) is newer than this version of casemgmt knows "
                             f"(head {head}): restore it with the version that made it, or a newer one")
    return head


def _empty_documents(instance: Path) -> bool:
    folder = instance / "documents"
    return not folder.exists() or not any(path.is_file() for path in folder.rglob("*"))


def target_app(source: Flask, target: Target) -> Flask:
    """The application on the target. For a scratch target (a restore test) its anchor is off: its checkpoints
    must never land in the production sinks, and its journal is the production one, read only."""
    if target.in_place:
        return source
    from casemgmt.app import create_app

    settings = replace(
        source.config["SETTINGS"], database_url=target.database_url, instance_path=target.instance_path,
        audit_checkpoint_file=None, audit_checkpoint_syslog=None,
    )
    return create_app(settings=settings)


def restore(archive: Path, target: Target, say: Callable[[str], None], accept_damaged_journal: bool = False,
            sample: int = checks.SAMPLE) -> Report:
    report = Report(say)
    source = current_app._get_current_object()
    key = keys.backup_key()
    checkpoint_paths = [p for p in [source.config["SETTINGS"].audit_checkpoint_file] if p is not None]
    journal = erasures.read(erasures.journal_path())

    # 1. Check, touching nothing (the staging folder is private and removed on any failure).
    try:
        state = snapshot.target_state(target.database_url)
    except snapshot.SnapshotError as exc:
        raise RestoreRefused(str(exc)) from None
    if state.with_rows:
        raise RestoreRefused(f"the target database {target.describe()} holds data ({len(state.with_rows)} table(s) "
                             "with rows): restore into an empty database")
    if not _empty_documents(target.instance_path):
        raise RestoreRefused(f"the document store {target.instance_path / 'documents'} is not empty: move it aside")
    if journal.problems and not accept_damaged_journal:
        raise RestoreRefused("the erasure journal is damaged: " + "; ".join(journal.problems[:5]) +
                             ". Only its genuine lines can be re-applied; to go on with those, use "
                             "--accept-damaged-journal")
    target.instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=target.instance_path))
    try:
        try:
            manifest = read_archive(archive, key, staging)
        except ArchiveError as exc:
            raise RestoreRefused(f"{archive}: {exc}") from None
        try:
            snapshot.check_restorable(manifest, target.database_url)
        except snapshot.SnapshotError as exc:
            raise RestoreRefused(str(exc)) from None
        migrate_to = _check_schema(manifest["schema_revision"])
        recorded = manifest["erasure_journal"]
        if not erasures.holds(journal, recorded["head"]):
            text = (f"the erasure journal no longer holds the {recorded['entries']} line(s) it held when this "
                    "backup was made: it was cut off or replaced")
            if journal.path is None:
                text = (f"no erasure journal is configured (CASEMGMT_ERASURE_JOURNAL_FILE), but the journal held "
                        f"{recorded['entries']} line(s) when this backup was made: configure the same file")
            if not accept_damaged_journal:
                raise RestoreRefused(text + "; to go on with what it holds, use --accept-damaged-journal")
            report.problem(text)
        report.snapshot_at = _parse_time(manifest["created_at"])
        say(f"archive {archive}: verified (authentication, {len(manifest['files'])} file(s) against the manifest); "
            f"made by casemgmt {manifest['app_version']} from {manifest['backend']}, snapshot of "
            f"{report.snapshot_at:%Y-%m-%d %H:%M:%S} UTC")

        for text in journal.problems[:10]:  # accepted by the operator, still reported (and the exit status says so)
            report.problem(f"erasure journal: {text}")

        # 2. Restore.
        with source.app_context():
            db.engine.dispose()  # an in-place SQLite target: no pooled connection of ours may hold it
        try:
            snapshot.put_back(staging / manifest["database"]["name"], target.database_url, state)
        except snapshot.SnapshotError as exc:
            raise RestoreFailed(f"{exc}\nThe target database may hold part of the archive: empty it (drop and "
                                "create the database, or remove the SQLite file) before trying again") from None
        documents = staging / "documents"
        if documents.exists():
            folder = target.instance_path / "documents"
            if folder.exists():
                shutil.rmtree(folder)  # checked above: it holds no file
            documents.rename(folder)
        say(f"restored: database into {target.describe()}, {manifest['documents']['count']} document file(s) into "
            f"{target.instance_path / 'documents'}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    application = target_app(source, target)
    try:
        with application.app_context():
            _after_put_back(application, manifest, migrate_to, journal, checkpoint_paths, target, report, sample)
    except Exception as exc:
        # The target holds the archive now: say so, and above all whether the erasures are applied again.
        pending = "" if report.erasures_done else (
            " The erasures made since the backup are NOT applied again yet: fix the cause, then run `casemgmt "
            "backup reapply-erasures` (with the target's settings) before the application serves a request."
        )
        raise RestoreFailed(f"after the archive was put back: {exc.__class__.__name__}: {exc}.{pending}") from exc
    finally:
        if application is not source:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
    return report


def _after_put_back(application: Flask, manifest: dict, migrate_to: str | None, journal: erasures.Reading,
                    checkpoint_paths: list[Path], target: Target, report: Report, sample: int) -> None:
    say = report.say
    if migrate_to is not None:
        upgrade()
        say(f"schema: upgraded from {manifest['schema_revision']} to {migrate_to}")

    # 3. How far back in time: before anything adds an event.
    head_seq = manifest["audit_head"]["seq"]
    say(f"the restored data is as of {report.snapshot_at:%Y-%m-%d %H:%M:%S} UTC, {_ago(report.snapshot_at)} ago")
    if checkpoint_paths:
        found = checks.rewind(checkpoint_paths, head_seq)
        report.later_events, report.later_checkpoints = found.later_events, found.later_checkpoints
        if found.latest is not None:
            say(f"WENT BACK IN TIME: the audit anchor records at least {found.later_events} later event(s) and "
                f"{found.later_checkpoints} later checkpoint(s), up to event {found.latest.seq} (checkpoint of "
                f"{found.latest.at:%Y-%m-%d %H:%M:%S} UTC): everything done after the snapshot is not in this "
                "backup; the erasures among it are re-applied below")
        else:
            say("the audit anchor records nothing after the snapshot: nothing anchored was lost")
        for problem in found.report.problems:
            if problem.kind != "truncated":  # the truncation is the rewind just reported
                report.problem(f"audit anchor: {problem.kind}: {problem.message}")
    else:
        say("no audit checkpoint file is configured: how much happened after the snapshot cannot be told")

    # 4. Erasures.
    _reapply_erasures(journal, report)

    # 5. Verify.
    checked, problems = checks.audit_chain()
    for problem in problems:
        report.problem(f"audit chain: {problem.kind}: {problem.message}")
    if not problems:
        say(f"audit chain: intact, {checked} event(s)")
    decryption = checks.decrypt_samples(sample)
    for failure in decryption.failures:
        report.problem(failure)
    say(f"decryption: {decryption.values} value(s) sampled in {decryption.columns} encrypted column(s): "
        f"{len(decryption.failures)} failure(s)")
    known_missing = {m["document_id"] for m in manifest["documents"]["missing"]}
    documents = checks.decrypt_documents(known_missing)
    for failure in documents.failures[:50]:
        report.problem(failure)
    if len(documents.failures) > 50:
        report.problem(f"{len(documents.failures) - 50} more document failure(s)")
    say(f"documents: {documents.checked} decrypted, {len(documents.failures)} failure(s)")
    if documents.missing_at_backup:
        report.problem(f"{documents.missing_at_backup} document file(s) were already missing when the backup was "
                       "made (its report named them)")

    # 6. Record, then (in place only) restart the anchor.
    record_event("backup.restored", actor=SYSTEM, details={
        "snapshot_at": manifest["created_at"], "audit_seq_at_snapshot": head_seq,
        "later_events_missing": report.later_events, "erasures_reapplied": len(report.reapplied),
        "problems": len(report.problems),
    })
    db.session.commit()
    if target.in_place and anchoring.anchor().enabled:
        checkpoint, written = anchoring.restart_on_new_database(SYSTEM)
        if checkpoint is not None and written:
            say(f"audit anchor: restarted at event {checkpoint.seq}; the checkpoints before it are set aside")
        else:
            report.problem("the audit anchor could not be restarted: run `casemgmt audit checkpoint --restart`")


def _reapply_erasures(journal: erasures.Reading, report: Report) -> None:
    """Erase, as the system, every journaled case that the restored database holds and does not show erased. The
    whole journal, not only the lines newer than the snapshot: erased_at is set before the commit, so an erasure
    committed just after the snapshot can carry an earlier time. Idempotent: an erased case is skipped."""
    from casemgmt.documents.storage import erase_case_files

    latest: dict[str, erasures.Entry] = {}
    for entry in journal.entries:
        latest[entry.case_id] = entry
    with erasures.replaying():
        for case_id, entry in latest.items():
            case = db.session.get(Case, case_id)
            if case is None:
                report.not_in_backup += 1
                continue
            if case.erased_at is not None:
                erase_case_files(case.id)  # nothing normally: the backup leaves erased cases' files out
                continue
            case_operations.erase_case(SYSTEM, case)
            case.erased_at = entry.erased_at  # when it was erased, not when it was re-applied (its event says so)
            db.session.commit()
            erase_case_files(case.id)  # after the commit, as `casemgmt cases erase` does
            report.reapplied.append(case_id)
            if report.snapshot_at is not None and entry.erased_at > report.snapshot_at:
                report.reapplied_after_backup += 1
    report.erasures_done = True
    state = f"journal: {len(journal.entries)} line(s), " + ("intact" if journal.intact else "DAMAGED")
    if report.snapshot_at is None:  # `backup reapply-erasures`: no snapshot to compare with
        report.say(f"erasures: {len(report.reapplied)} re-applied from the journal; {report.not_in_backup} "
                   f"journaled case(s) are not in the database; {state}")
        return
    earlier = len(report.reapplied) - report.reapplied_after_backup
    report.say(
        f"erasures: {len(report.reapplied)} re-applied from the journal ({report.reapplied_after_backup} made after "
        f"the snapshot, {earlier} just before it); {report.not_in_backup} journaled case(s) are not in this backup; "
        f"{state}"
    )


def reapply(say: Callable[[str], None], accept_damaged_journal: bool = False) -> Report:
    """Re-apply the journal to the configured database (after a restore made by hand, or one that stopped)."""
    report = Report(say)
    journal = erasures.read(erasures.journal_path())
    if journal.problems and not accept_damaged_journal:
        raise RestoreRefused("the erasure journal is damaged: " + "; ".join(journal.problems[:5]) +
                             ". To re-apply its genuine lines, use --accept-damaged-journal")
    _reapply_erasures(journal, report)
    return report

