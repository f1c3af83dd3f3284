"""The erasure journal (finding 6): every erasure leaves a signed, chained line outside the database with no personal
data; an edited, deleted or forged line is detected; concurrent erasures keep the chain; an erasure that cannot be
journaled is refused rather than left to come undone at a restore; erasures missing from the journal are added by
the next backup; and the settings refuse what would turn the protection off in production."""

from __future__ import annotations

import base64
import gzip
import json
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from casemgmt.backup import erasures
from casemgmt.backup.archive import read_archive
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.crypto.fields import DecryptionError, unseal
from casemgmt.extensions import db
from casemgmt.settings import SettingsError, load_settings
from tests.backup.support import Site, populate
from tests.cli.support import request, run_cli
from tests.conftest import BACKENDS
from tests.settings.test_settings import prod

ONE_BACKEND = "sqlite" if "sqlite" in BACKENDS else BACKENDS[0]


@pytest.fixture
def site(tmp_path):
    made = Site(ONE_BACKEND, tmp_path, "journal")
    made.create_schema()
    yield made
    made.close()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _read(site: Site) -> erasures.Reading:
    with site.app.app_context():
        return erasures.read(site.journal)


def test_an_erasure_writes_one_signed_chained_line_without_personal_data(site):
    data = populate(site, 2)
    for case_id in data["cases"]:
        result = site.cli("cases", "erase", case_id, "--yes")
        assert result.exit_code == 0, result.output
    lines = _lines(site.journal)
    assert [line["case_id"] for line in lines] == data["cases"]
    assert set(lines[0]) == {"v", "case_id", "erased_at", "actor", "prev", "sig"}  # no reference, no name
    assert lines[0]["actor"] == "system" and lines[0]["prev"] == erasures.GENESIS
    assert lines[1]["prev"] == lines[0]["sig"]
    text = site.journal.read_text()
    assert "Person" not in text and "Quispe" not in text
    assert stat.S_IMODE(site.journal.stat().st_mode) == 0o600
    reading = _read(site)
    assert reading.intact and [e.case_id for e in reading.entries] == data["cases"]


@pytest.mark.parametrize("damage, named", [
    ("edit", "no valid signature"),
    ("delete", "does not follow"),
    ("forge", "no valid signature"),
    ("garbage", "not a journal line"),
])
def test_an_edited_deleted_or_forged_line_is_detected(site, damage, named):
    with site.app.app_context():
        for case_id in ("a" * 8 + "-0000-0000-0000-" + "0" * 12, "b" * 8 + "-0000-0000-0000-" + "0" * 12):
            erasures.append(site.journal, case_id, utcnow(), "system")
    lines = site.journal.read_text().splitlines()
    if damage == "edit":
        lines[0] = lines[0].replace('"actor":"system"', '"actor":"user"')
    elif damage == "delete":
        del lines[0]
    elif damage == "forge":
        fields = json.loads(lines[1])
        fields.update(case_id="c" * 8 + "-0000-0000-0000-" + "0" * 12, prev=fields["sig"], sig="0" * 64)
        lines.append(json.dumps(fields))
    else:
        lines.insert(1, "not json at all")
    site.journal.write_text("\n".join(lines) + "\n")
    reading = _read(site)
    assert not reading.intact
    assert any(named in problem for problem in reading.problems), reading.problems


def test_concurrent_erasures_keep_one_chain(site):
    def erase_many(offset: int) -> None:
        with site.app.app_context():
            for i in range(10):
                erasures.append(site.journal, f"{offset:08x}-0000-0000-0000-{i:012x}", utcnow(), "system")

    threads = [threading.Thread(target=erase_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    reading = _read(site)
    assert reading.intact, reading.problems
    assert len(reading.entries) == 40


def test_an_erasure_that_cannot_be_journaled_is_refused_and_nothing_is_erased(site, tmp_path):
    data = populate(site, 1)
    case_id = data["cases"][0]
    broken = site.other_app("nojournal", ERASURE_JOURNAL_FILE=str(tmp_path / "missing-folder" / "erasures.log"))
    result = run_cli(broken, ["cases", "erase", case_id, "--yes"])
    assert result.exit_code != 0
    assert "erasure journal cannot be written" in result.output
    with request(site.app):
        case = db.session.get(Case, case_id)
        assert case.erased_at is None
        assert unseal(case.person, "given_name") == "Person 0"


def test_the_next_backup_journals_erasures_made_without_the_journal(site, tmp_path):
    data = populate(site, 1)
    unjournaled = site.other_app("journal_off", ERASURE_JOURNAL_FILE="off")
    assert run_cli(unjournaled, ["cases", "erase", data["cases"][0], "--yes"]).exit_code == 0
    assert not site.journal.exists()
    (tmp_path / "out").mkdir()
    result = site.cli("backup", "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "1 erasure(s) missing from it were added" in result.output
    entries = _read(site).entries
    assert [(e.case_id, e.actor) for e in entries] == [(data["cases"][0], "backfill")]
    with site.app.app_context():
        erased_at = db.session.scalar(select(Case.erased_at).where(Case.id == data["cases"][0]))
        db.session.remove()
    assert entries[0].erased_at == erased_at


def _settings(tmp_path, **env):
    base = {"CASEMGMT_INSTANCE_PATH": str(tmp_path)}
    return load_settings(environ={**base, **{f"CASEMGMT_{k}": v for k, v in env.items()}})


def test_settings_of_the_journal_and_the_backup_key(tmp_path):
    assert _settings(tmp_path).erasure_journal_file == tmp_path / "erasure-journal.log"
    assert _settings(tmp_path, ERASURE_JOURNAL_FILE="off").erasure_journal_file is None
    with pytest.raises(SettingsError, match="absolute"):
        _settings(tmp_path, ERASURE_JOURNAL_FILE="relative.log")
    with pytest.raises(SettingsError, match="cannot be off in production"):
        load_settings(environ=prod(tmp_path, ERASURE_JOURNAL_FILE="off"))
    assert load_settings(environ=prod(tmp_path)).erasure_journal_file == tmp_path / "erasure-journal.log"
    assert _settings(tmp_path).backup_key is None  # generated by the first backup, not at start-up
    assert not (tmp_path / "backup_key").exists()
    with pytest.raises(SettingsError, match="backup key"):
        _settings(tmp_path, BACKUP_KEY="c2hvcnQ=")
    key_file = tmp_path / "bk"
    key_file.write_text("A" * 43 + "=\n")
    with pytest.raises(SettingsError, match="random"):
        _settings(tmp_path, BACKUP_KEY_FILE=str(key_file))


def test_the_backup_key_is_never_a_root_key(site, tmp_path):
    root = site.root_keys.split(":", 1)[1]
    same = site.other_app("samekey", BACKUP_KEY=root)
    (tmp_path / "out").mkdir()
    result = run_cli(same, ["backup", "--output", str(tmp_path / "out")])
    assert result.exit_code != 0 and "must not be one of the root keys" in result.output
    assert not list((tmp_path / "out").iterdir())



def test_reapply_erasures_after_a_restore_made_by_hand_is_idempotent(site, tmp_path, monkeypatch):
    """And until it has run, the readiness check keeps the instance out of the load balancer: a database put back
    by hand would otherwise serve the erased person."""
    monkeypatch.setattr(erasures, "UNAPPLIED_GRACE_SECONDS", 0)  # the erasure below is seconds old
    if site.backend != "sqlite":
        pytest.skip("the restore by hand below copies a SQLite file")
    data = populate(site, 2)
    erased_id = data["cases"][0]
    (tmp_path / "out").mkdir()
    assert site.cli("backup", "--output", str(tmp_path / "out")).exit_code == 0
    assert site.cli("cases", "erase", erased_id, "--yes").exit_code == 0
    # A restore by hand, without `casemgmt restore`: the archive's database file put back as it is.
    staging = tmp_path / "staging"
    staging.mkdir()
    read_archive(next((tmp_path / "out").glob("*.backup")), base64.b64decode(site.key), staging)
    with site.app.app_context():
        db.session.remove()
        db.engine.dispose()
    database = Path(site.url.removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    with gzip.open(staging / "database" / "casemgmt.sqlite3.gz", "rb") as packed:
        database.write_bytes(packed.read())
    with request(site.app):
        assert db.session.get(Case, erased_id).erased_at is None  # the person is back: finding 6
    ready = site.app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert "erasures not applied: 1 in the journal" in ready.get_data(as_text=True)

    first = site.cli("backup", "reapply-erasures")
    assert first.exit_code == 0 and "erasures: 1 re-applied from the journal" in first.output, first.output
    again = site.cli("backup", "reapply-erasures")
    assert again.exit_code == 0 and "erasures: 0 re-applied from the journal" in again.output
    assert site.app.test_client().get("/readyz").get_data(as_text=True) == "ready\n"
    with request(site.app):
        case = db.session.get(Case, erased_id)
        assert case.erased_at is not None
        with pytest.raises(DecryptionError):
            unseal(case.person, "given_name")
