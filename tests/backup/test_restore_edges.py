"""Restores that must stop or say more: a damaged or cut-off erasure journal, an archive from a newer or an older
schema, and documents that the database references but the disk lost. The logic is the same on both backends (the
backend-specific parts are in test_backup_restore.py), so these run on one."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from casemgmt.backup.archive import read_archive
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from tests.backup.support import Site, archive_in, populate, untouched
from tests.backup.test_backup_restore import Targets, _empty_in_place
from tests.cli.support import request
from tests.conftest import BACKENDS

ONE_BACKEND = "sqlite" if "sqlite" in BACKENDS else BACKENDS[0]


@pytest.fixture
def site(tmp_path):
    made = Site(ONE_BACKEND, tmp_path, "edges")
    yield made
    made.close()


@pytest.fixture
def targets(tmp_path):
    made = Targets(ONE_BACKEND, tmp_path)
    yield made
    made.close()


def _backup(site: Site, folder: Path):
    folder.mkdir()
    result = site.cli("backup", "--output", str(folder))
    return result, (archive_in(folder) if list(folder.glob("*.backup")) else None)


def _restore_scratch(site: Site, archive: Path, url: str, instance: Path, *extra: str):
    return site.cli("restore", str(archive), "--target-database", url, "--target-instance", str(instance), *extra)


def test_a_damaged_journal_stops_the_restore_unless_the_operator_accepts_it(site, tmp_path):
    site.create_schema()
    data = populate(site, 3)
    _, archive = _backup(site, tmp_path / "out")
    for case_id in data["cases"][:2]:
        assert site.cli("cases", "erase", case_id, "--yes").exit_code == 0
    lines = site.journal.read_text().splitlines()
    site.journal.write_text(lines[1] + "\n")  # the first erasure's line deleted: the second no longer follows
    _empty_in_place(site, tmp_path / "aside")

    refused = site.cli("restore", str(archive))
    assert refused.exit_code != 0
    assert "journal is damaged" in refused.output and "does not follow" in refused.output
    assert untouched(site.url, site.instance)

    accepted = site.cli("restore", str(archive), "--accept-damaged-journal")
    assert accepted.exit_code == 1, accepted.output  # restored, but the damage is a problem the operator must see
    assert "PROBLEM: erasure journal: line 1 does not follow" in accepted.output
    with request(site.app):
        assert db.session.get(Case, data["cases"][1]).erased_at is not None  # its genuine line was re-applied


def test_a_journal_cut_off_since_the_backup_is_detected(site, tmp_path, targets):
    site.create_schema()
    data = populate(site, 2)
    assert site.cli("cases", "erase", data["cases"][0], "--yes").exit_code == 0
    _, archive = _backup(site, tmp_path / "out")
    site.journal.write_text("")  # the journal's end (here: all of it) cut off after the backup
    url, instance = targets.database("cutjournal"), tmp_path / "restored"
    result = _restore_scratch(site, archive, url, instance)
    assert result.exit_code != 0 and "no longer holds the 1 line(s)" in result.output
    assert untouched(url, instance)


def test_an_archive_from_a_newer_schema_is_refused(site, tmp_path, targets):
    site.create_schema()
    with site.app.app_context():
        db.session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        db.session.execute(text("INSERT INTO alembic_version VALUES ('ffffffffffff')"))
        db.session.commit()
        db.session.remove()
    _, archive = _backup(site, tmp_path / "out")
    url, instance = targets.database("newer"), tmp_path / "restored"
    result = _restore_scratch(site, archive, url, instance)
    assert result.exit_code != 0 and "newer than this version of casemgmt" in result.output
    assert untouched(url, instance)


def test_an_archive_from_an_older_schema_is_migrated_to_the_head(site, tmp_path, targets):
    with site.app.app_context():
        upgrade(revision="d5e8a1b2c3f4")
        db.session.remove()
    result, archive = _backup(site, tmp_path / "out")
    assert result.exit_code == 0, result.output
    url, instance = targets.database("older"), tmp_path / "restored"
    restored = _restore_scratch(site, archive, url, instance)
    assert restored.exit_code == 0, restored.output
    assert "schema: upgraded from d5e8a1b2c3f4 to " in restored.output
    with targets.open(site, url, instance).app_context():
        from alembic.script import ScriptDirectory
        from flask import current_app

        head = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_current_head()
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        db.session.remove()


def test_a_referenced_document_missing_from_disk_is_an_error_named_by_backup_and_restore(site, tmp_path, targets):
    site.create_schema()
    data = populate(site, 2)
    lost_id, (lost_case, _) = next(iter(data["documents"].items()))
    (site.instance / "documents" / lost_case / f"{lost_id}.bin").unlink()
    result, archive = _backup(site, tmp_path / "out")
    assert result.exit_code == 1
    assert f"document {lost_id} of case {lost_case} is in the database but its file is missing" in result.output
    manifest = read_archive(archive, base64.b64decode(site.key))  # written all the same, the rest is safe
    assert manifest["documents"]["missing"] == [{"case_id": lost_case, "document_id": lost_id}]
    assert manifest["documents"]["count"] == 1

    url, instance = targets.database("lostdoc"), tmp_path / "restored"
    restored = _restore_scratch(site, archive, url, instance)
    assert restored.exit_code == 1
    assert "1 document file(s) were already missing when the backup was made" in restored.output
    assert "documents: 1 decrypted, 0 failure(s)" in restored.output
