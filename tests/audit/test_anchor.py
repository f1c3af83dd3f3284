"""Finding 3: the end of the audit trail could be cut off unseen. Deleting the latest events and rewinding
audit_head, or wiping both tables, passed `casemgmt audit verify`. Signed checkpoints written outside the database now
catch a cut tail, a wipe and an older copy put back, and say how many events are missing."""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import stat
import tempfile
from multiprocessing import get_context
from pathlib import Path

import pytest
from sqlalchemy import select, text

from casemgmt import create_app
from casemgmt.audit import record_event
from casemgmt.audit.anchor import append_line
from casemgmt.audit.checkpoints import MARKER, parse_line
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent, AuditHead
from casemgmt.crypto.keyring import keyring
from casemgmt.extensions import db
from casemgmt.settings import SettingsError, format_key_ring, load_settings
from tests.cli.support import make_world, run_cli
from tests.conftest import Web, make_test_app, test_root_keys


@pytest.fixture
def anchored(app, tmp_path):
    """make(**settings): an app on the suite's database whose checkpoints go to `tmp_path/checkpoints.log`."""
    made = []

    def make(**overrides):
        ring = format_key_ring(app.config["SETTINGS"].root_keys).strip().replace("\n", ",")
        options = {"ROOT_KEYS": ring, "AUDIT_CHECKPOINT_FILE": str(tmp_path / "checkpoints.log")}
        options.update(overrides)
        instance = tmp_path / f"instance-{len(made)}"
        instance.mkdir()
        application = make_test_app(instance, app.config["SQLALCHEMY_DATABASE_URI"], **options)
        made.append(application)
        return application

    yield make
    for application in made:  # before the suite's wipe, which must not wait for these connections
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _sql(application, statement: str, **params) -> None:
    with application.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()
        db.session.remove()


def _head(application) -> tuple[int, str]:
    with application.app_context():
        head = db.session.get(AuditHead, 1)
        try:
            return head.last_seq, head.last_hash
        finally:
            db.session.remove()


def _rewind_to(application, seq: int) -> None:
    """What someone with write access to the database does to cut the tail unseen by the chain alone."""
    with application.app_context():
        kept = db.session.get(AuditEvent, seq)
        last_hash = kept.hash
        db.session.remove()
    _sql(application, "DELETE FROM audit_events WHERE seq > :s", s=seq)
    _sql(application, "UPDATE audit_head SET last_seq = :s, last_hash = :h", s=seq, h=last_hash)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _verify(application, *args: str):
    return run_cli(application, ["audit", "verify", *args])


def _checkpoint(application) -> int:
    result = run_cli(application, ["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    return _head(application)[0]


def _more_events(application, count: int) -> None:
    with application.app_context():
        for n in range(count):
            record_event("test.more", actor=SYSTEM, details={"n": n})
        db.session.commit()
        db.session.remove()


# -- writing checkpoints ------------------------------------------------------------------------------------------

def test_requests_write_signed_checkpoints_0600_and_verify_passes(anchored, tmp_path):
    old_umask = os.umask(0o022)
    try:
        application = anchored()
        make_world(application)  # commits inside a request context: anchored when the request ends
        world_head = _head(application)[0]
        Web(application.test_client()).login("supervisor")
    finally:
        os.umask(old_umask)
    path = tmp_path / "checkpoints.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = _lines(path)
    assert len(lines) == 1  # the first commit is anchored at once; the next ones wait for 60 s or 1,000 events
    with application.app_context():
        first = parse_line(lines[0], keyring().audit_checkpoint_key())
    assert first.kind == "checkpoint" and first.seq == world_head
    result = _verify(application)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        rf"audit chain intact: {_head(application)[0]} events verified, anchored by 1 checkpoint\(s\) up to event "
        rf"{world_head} \(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)",
        result.stdout.strip(),
    )


def test_a_checkpoint_follows_every_n_events_or_seconds(anchored, tmp_path):
    application = anchored(AUDIT_CHECKPOINT_EVENTS=5, AUDIT_CHECKPOINT_SECONDS=3600)
    path = tmp_path / "checkpoints.log"
    _more_events(application, 1)
    assert len(_lines(path)) == 1
    for _ in range(4):
        _more_events(application, 1)
    assert len(_lines(path)) == 1  # 4 events since: not yet
    _more_events(application, 1)
    assert len(_lines(path)) == 2  # the 5th
    with application.app_context():
        assert parse_line(_lines(path)[-1], keyring().audit_checkpoint_key()).seq == 6

    by_time = anchored(AUDIT_CHECKPOINT_EVENTS=1000, AUDIT_CHECKPOINT_SECONDS=0)
    _more_events(by_time, 1)
    _more_events(by_time, 1)
    assert len(_lines(path)) == 4


def test_a_rolled_back_event_is_never_anchored(anchored, tmp_path):
    application = anchored()
    with application.app_context():
        record_event("test.rolled_back", actor=SYSTEM)
        db.session.rollback()
        db.session.commit()  # a later commit of nothing must not anchor the head that was never saved
        db.session.remove()
    assert _lines(tmp_path / "checkpoints.log") == []


def test_a_worker_learns_from_the_file_what_another_anchored(anchored, tmp_path):
    first, second = anchored(AUDIT_CHECKPOINT_SECONDS=3600), anchored(AUDIT_CHECKPOINT_SECONDS=3600)
    _more_events(first, 2)
    _more_events(second, 1)  # the file already holds a checkpoint from a moment ago
    assert len(_lines(tmp_path / "checkpoints.log")) == 1


def _append_many(path: str, worker: int) -> None:
    for n in range(200):
        append_line(Path(path), f"{MARKER} worker={worker} n={n} " + "x" * 150)


def test_concurrent_workers_never_interleave_lines(tmp_path):
    path = tmp_path / "checkpoints.log"
    processes = [get_context("fork").Process(target=_append_many, args=(str(path), w)) for w in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    lines = _lines(path)
    assert len(lines) == 800
    assert all(re.fullmatch(rf"{MARKER} worker=\d n=\d+ x{{150}}", line) for line in lines)


def test_an_unavailable_sink_never_fails_the_request(anchored, tmp_path, caplog):
    make_world(anchored(AUDIT_CHECKPOINT_FILE="off"))
    application = anchored(
        AUDIT_CHECKPOINT_FILE=str(tmp_path / "no-such-folder" / "checkpoints.log"),
        AUDIT_CHECKPOINT_SYSLOG=str(tmp_path / "no-such-socket"),
    )
    with caplog.at_level(logging.ERROR, logger="casemgmt.audit.anchor"):
        response = Web(application.test_client()).login("supervisor")  # the first checkpoint is due at its end
    assert response.status_code == 302  # logged in: the request succeeded
    with application.app_context():
        assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(1)) == (
            "login.success")
        db.session.remove()
    messages = [r.getMessage() for r in caplog.records]
    assert any("audit checkpoint not written to" in m for m in messages)
    assert any("audit checkpoint not sent to syslog" in m for m in messages)
    assert run_cli(application, ["audit", "checkpoint"]).exit_code == 1  # the CLI does say so


@pytest.fixture
def short_dir():
    # A unix socket path must fit in 108 bytes; pytest's tmp_path may not.
    with tempfile.TemporaryDirectory(prefix="cm") as path:
        yield Path(path)


def test_checkpoints_go_to_a_local_syslog_socket_and_verify_reads_an_export(anchored, short_dir, tmp_path):
    address = str(short_dir / "log")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as daemon:
        daemon.bind(address)
        daemon.settimeout(5)
        application = anchored(AUDIT_CHECKPOINT_FILE="off", AUDIT_CHECKPOINT_SYSLOG=address)
        _more_events(application, 3)
        message = daemon.recv(4096).decode()
    assert message.startswith("<86>casemgmt-audit: casemgmt-audit-checkpoint v1 kind=checkpoint seq=3 ")
    # An export of the journal (`journalctl -t casemgmt-audit`) can be checked against the database.
    export = tmp_path / "journal.txt"
    export.write_text(f"Dec 06 01:02:03 host casemgmt-audit[12]: {message.split(': ', 1)[1]}\nother line\n")
    assert _verify(application, "--checkpoints", str(export)).exit_code == 0
    _rewind_to(application, 1)
    result = _verify(application, "--checkpoints", str(export))
    assert result.exit_code == 1
    assert "TRUNCATED: at least 2 event(s) missing from the end" in result.stderr


def test_checkpoints_go_to_syslog_over_udp(anchored):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(5)
        port = daemon.getsockname()[1]
        application = anchored(AUDIT_CHECKPOINT_FILE="off", AUDIT_CHECKPOINT_SYSLOG=f"127.0.0.1:{port}")
        _more_events(application, 1)
        message = daemon.recv(4096).decode()
    with application.app_context():
        assert parse_line(message, keyring().audit_checkpoint_key()).seq == 1


# -- verification against the checkpoints -------------------------------------------------------------------------

@pytest.fixture
def anchored_world(anchored):
    """Events 1-11 in one commit (anchored at once: the first checkpoint), event 12 and a checkpoint at 12 from the
    CLI, then three more events anchored at 15 by the CLI."""
    application = anchored()
    _more_events(application, 11)
    _more_events(application, 1)
    assert _checkpoint(application) == 12
    _more_events(application, 3)
    assert _checkpoint(application) == 15
    return application


def test_a_cut_tail_with_a_rewound_head_is_reported_with_the_count(anchored_world):
    _rewind_to(anchored_world, 11)
    result = _verify(anchored_world)
    assert result.exit_code == 1
    assert "TRUNCATED: at least 4 event(s) missing from the end: the checkpoint of " in result.stderr
    assert "records event 15, the database ends at event 11" in result.stderr
    assert "intact" not in result.output


def test_wiped_tables_are_not_intact(anchored_world):
    _sql(anchored_world, "DELETE FROM audit_events")
    _sql(anchored_world, "DELETE FROM audit_head")
    result = _verify(anchored_world)
    assert result.exit_code == 1
    assert "TRUNCATED: at least 15 event(s) missing from the end" in result.stderr
    assert "the database holds no events" in result.stderr
    assert "audit chain BROKEN: 1 problem(s) in 0 events" in result.stderr
    assert "intact" not in result.output


def test_an_older_copy_put_back_is_reported(anchored_world):
    _rewind_to(anchored_world, 12)  # the copy taken at the first checkpoint
    result = _verify(anchored_world)
    assert result.exit_code == 1
    assert "TRUNCATED: at least 3 event(s) missing from the end" in result.stderr


def test_an_older_copy_put_back_and_grown_again_is_reported(anchored_world):
    _rewind_to(anchored_world, 12)
    _more_events(anchored_world, 5)  # new events 13-17: the chain itself is intact again
    assert _checkpoint(anchored_world) == 17
    result = _verify(anchored_world)
    assert result.exit_code == 1
    assert "REPLACED: 1 checkpoint(s) do not match the database, from event 15 (checkpoint of " in result.stderr
    assert "it still matches the checkpoint of event 12, so between 1 and 3 anchored event(s) were replaced" in (
        result.stderr)


@pytest.mark.parametrize("forgery", ["moved", "unsigned", "garbled"])
def test_a_tampered_checkpoint_line_is_reported_and_ignored(anchored_world, tmp_path, forgery):
    path = tmp_path / "checkpoints.log"
    genuine = _lines(path)[-1]
    forged = {
        # A checkpoint moved back to the rewound head, to hide the cut: the signature no longer matches.
        "moved": genuine.replace("seq=15 ", "seq=11 "),
        "unsigned": re.sub(r"sig=[0-9a-f]{64}", "sig=" + "0" * 64, genuine.replace("seq=15 ", "seq=99 ")),
        "garbled": genuine[: len(genuine) // 2],
    }[forgery]
    with path.open("a") as handle:
        handle.write(forged + "\n")
    result = _verify(anchored_world)
    assert result.exit_code == 1
    reason = "is not a well-formed checkpoint" if forgery == "garbled" else "has no valid signature"
    assert f"FORGED: line 4 of {path} {reason}: ignored" in result.stderr
    assert "TRUNCATED" not in result.stderr  # the forged seq=99 counted for nothing
    _rewind_to(anchored_world, 11)
    # The genuine checkpoint still counts: the forged one cannot cover the cut.
    assert "TRUNCATED: at least 4 event(s) missing" in _verify(anchored_world).stderr


def test_an_unreadable_checkpoint_file_is_reported(anchored_world, tmp_path):
    path = tmp_path / "checkpoints.log"
    path.unlink()
    path.mkdir()  # readable by no open(): as a file of the wrong owner would be, even for root
    result = _verify(anchored_world)
    assert result.exit_code == 1
    assert f"UNREADABLE: {path} cannot be read" in result.stderr


def test_a_checkpoint_must_match_the_event_at_its_sequence(anchored_world):
    # A rewritten event 15 with a recomputed plain hash (the HMAC key is not in the database).
    _sql(anchored_world, "UPDATE audit_events SET hash = :h WHERE seq = 15", h="ab" * 32)
    _sql(anchored_world, "UPDATE audit_head SET last_hash = :h", h="ab" * 32)
    result = _verify(anchored_world)
    assert result.exit_code == 1
    assert "REPLACED: 1 checkpoint(s) do not match the database, from event 15" in result.stderr


def test_a_deliberate_restart_sets_earlier_checkpoints_aside(anchored_world):
    _rewind_to(anchored_world, 12)  # e.g. a backup restored on purpose
    result = run_cli(anchored_world, ["audit", "checkpoint", "--restart", "--yes"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("restart of event 13 written to ")
    verified = _verify(anchored_world)
    assert verified.exit_code == 0, verified.output
    assert "checkpoints before the restart of" in verified.stderr
    with anchored_world.app_context():
        assert db.session.get(AuditEvent, 13).action == "audit.anchor_restart"
        db.session.remove()


def test_the_cli_checkpoint_is_not_repeated_for_an_unmoved_head(anchored_world, tmp_path):
    result = run_cli(anchored_world, ["audit", "checkpoint"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "the head of the chain is already anchored"
    assert len(_lines(tmp_path / "checkpoints.log")) == 3  # 11 (the first commit), 12 and 15 (the CLI)


# -- settings -------------------------------------------------------------------------------------------------------

def _settings(tmp_path, env: str = "development", **values):
    environ = {"CASEMGMT_ENV": env, "CASEMGMT_INSTANCE_PATH": str(tmp_path),
               "CASEMGMT_SECRET_KEY": secrets.token_urlsafe(48), "CASEMGMT_ROOT_KEYS": test_root_keys()}
    environ.update({f"CASEMGMT_{name}": value for name, value in values.items()})
    return load_settings(environ=environ)


def test_checkpoint_settings(tmp_path):
    assert _settings(tmp_path).audit_checkpoint_file == tmp_path / "audit-checkpoints.log"
    assert _settings(tmp_path, "testing").audit_checkpoint_file is None  # tests opt in: their databases are wiped
    assert _settings(tmp_path, AUDIT_CHECKPOINT_FILE="off").audit_checkpoint_file is None
    assert _settings(tmp_path, AUDIT_CHECKPOINT_FILE="/srv/a.log").audit_checkpoint_file == Path("/srv/a.log")
    with pytest.raises(SettingsError, match="must be an absolute path"):
        _settings(tmp_path, AUDIT_CHECKPOINT_FILE="a.log")
    journal = "/run/systemd/journal/dev-log"
    syslog = {"off": None, "": None, "local": "/dev/log", journal: journal,
              "10.0.0.5:1514": ("10.0.0.5", 1514), "logs.example.org": ("logs.example.org", 514),
              "[::1]:514": ("::1", 514)}
    for value, expected in syslog.items():
        assert _settings(tmp_path, AUDIT_CHECKPOINT_SYSLOG=value).audit_checkpoint_syslog == expected, value
    for bad in ("host:port", "host:0", ":514"):
        with pytest.raises(SettingsError, match="AUDIT_CHECKPOINT_SYSLOG"):
            _settings(tmp_path, AUDIT_CHECKPOINT_SYSLOG=bad)
    settings = _settings(tmp_path, AUDIT_CHECKPOINT_SECONDS="0", AUDIT_CHECKPOINT_EVENTS="10")
    assert (settings.audit_checkpoint_seconds, settings.audit_checkpoint_events) == (0, 10)
    with pytest.raises(SettingsError):
        _settings(tmp_path, AUDIT_CHECKPOINT_EVENTS="0")


@pytest.mark.parametrize(("values", "warning"), [
    ({}, "is in the instance folder"),
    ({"AUDIT_CHECKPOINT_FILE": "off"}, "audit checkpoints are off"),
])
def test_production_warns_about_a_checkpoint_file_beside_the_database(tmp_path, caplog, values, warning):
    settings = _settings(tmp_path, "production", DATABASE_URL="postgresql://casemgmt@db.internal/casemgmt",
                         RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", **values)
    with caplog.at_level(logging.WARNING, logger="casemgmt.audit.anchor"):
        create_app(settings=settings)
    assert warning in caplog.text
    with caplog.at_level(logging.WARNING, logger="casemgmt.audit.anchor"):
        caplog.clear()
        create_app(settings=_settings(tmp_path, "production", DATABASE_URL="postgresql://casemgmt@db.internal/x",
                                      RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
                                      AUDIT_CHECKPOINT_FILE=str(tmp_path.parent / "elsewhere.log")))
    assert "checkpoint" not in caplog.text
