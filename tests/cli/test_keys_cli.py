"""`casemgmt keys`: generate, add, status, rotate."""

from __future__ import annotations

import base64
import json
import re
import stat

import pyotp
import pytest
from sqlalchemy import select

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import User
from casemgmt.audit.models import AuditEvent
from casemgmt.auth import totp
from casemgmt.crypto import rotation
from casemgmt.extensions import db
from casemgmt.intake import operations as intake
from casemgmt.intake.models import Contact
from casemgmt.settings import SettingsError, key_ring_path, parse_key_ring
from tests import factories
from tests.cli.support import make_world, new_root_key, private_database, request, ring, run_cli, user
from tests.conftest import make_test_app

ENTRY = re.compile(r"^(\d+):([A-Za-z0-9+/]{43}=)$")


def test_keys_generate_prints_a_version_and_32_random_bytes(tmp_path):
    app = make_test_app(tmp_path, None)  # touches no database: one backend is enough
    first = run_cli(app, ["keys", "generate"])
    assert first.exit_code == 0
    match = ENTRY.match(first.output.strip())
    assert match, first.output
    assert match.group(1) == "1"
    assert len(base64.b64decode(match.group(2), validate=True)) == 32
    second = run_cli(app, ["keys", "generate", "--version", "3"])
    assert second.output.startswith("3:")
    assert second.output.split(":")[1] != first.output.split(":")[1]
    # The output is exactly what CASEMGMT_ROOT_KEYS accepts.
    parsed = parse_key_ring(first.output.strip() + "," + second.output.strip(), "test")
    assert sorted(parsed) == [1, 3] and all(len(k) == 32 for k in parsed.values())
    # Generating stores nothing.
    assert not key_ring_path(app.config["SETTINGS"].instance_path).exists()


def test_keys_status(app):
    make_world(app)
    result = run_cli(app, ["keys", "status"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "key versions in the ring: 1 (current 1)",
        "version 1: keep",
        "  - It is the current version: new keys are wrapped under it.",
        "  - It is the oldest version: the two-factor recovery codes, the audit chain, the audit checkpoint "
        "signatures and the erasure journal derive from it, and neither rotation nor an index rebuild moves them "
        "(recovery codes: 0, audit events: 11).",  # the world's accounts being created
    ]
    with request(app):
        factories.case(user("caseworker"))
        factories.case(user("caseworker"))
    lines = run_cli(app, ["keys", "status"]).output.splitlines()
    assert "  - 2 case data keys are wrapped under it." in lines
    assert ("  - The matching indexes of search and the duplicate check are keyed from it (index generation 1, "
            "active, 2 people indexed).") in lines


def test_keys_add_appends_a_version_to_the_instance_key_ring(tmp_path):
    instance = tmp_path / "instance"
    app = make_test_app(instance, None, ROOT_KEYS="")  # an embedded install: the ring is generated on first run
    path = key_ring_path(instance)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = parse_key_ring(path.read_text(), str(path))
    assert list(before) == [1]

    result = run_cli(app, ["keys", "add"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"key version 2 added to {path}; run `casemgmt keys rotate`"
    after = parse_key_ring(path.read_text(), str(path))
    assert sorted(after) == [1, 2]
    assert after[1] == before[1]  # the existing version is kept as it was
    assert after[2] != after[1] and len(after[2]) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.with_suffix(".new").exists()

    assert run_cli(app, ["keys", "add"]).exit_code == 0
    assert sorted(parse_key_ring(path.read_text(), str(path))) == [1, 2, 3]
    restarted = make_test_app(instance, None, ROOT_KEYS="")
    with restarted.app_context():
        from casemgmt.crypto.keyring import keyring

        assert keyring().versions == (1, 2, 3) and keyring().current_version == 3


def test_keys_add_refuses_when_keys_come_from_the_environment(app):
    result = run_cli(app, ["keys", "add"])
    assert result.exit_code == 1
    assert "add a version to CASEMGMT_ROOT_KEYS instead" in result.output
    assert not key_ring_path(app.config["SETTINGS"].instance_path).exists()


def test_keys_add_refuses_a_left_over_file_the_running_ring_does_not_come_from(tmp_path):
    instance = tmp_path / "instance"
    make_test_app(instance, None, ROOT_KEYS="")  # first run: the instance ring file is generated...
    path = key_ring_path(instance)
    before = path.read_text()
    app = make_test_app(instance, None, ROOT_KEYS=ring(v1=new_root_key()))  # ...then the environment takes over
    result = run_cli(app, ["keys", "add"])
    assert result.exit_code == 1
    assert "add a version to CASEMGMT_ROOT_KEYS instead" in result.output
    assert path.read_text() == before


def test_keys_rotate_names_a_version_missing_from_the_ring(backend, tmp_path):
    v1, v2, v3 = new_root_key(), new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "missing") as database:
        old = database.app(ring(v1=v1), "v1")
        database.create_schema(old)
        with request(old):
            factories.case(factories.user(factories.organisation("NGO"), "caseworker", "worker"))
        # Version 1 was retired while a data key still used it.
        broken = database.app(ring(v2=v2, v3=v3), "v23")
        result = run_cli(broken, ["keys", "rotate"])
        assert result.exit_code == 1
        assert "Error: KEK version 1 is not in the key ring: put it back" in result.output
        assert "Traceback" not in result.output
        fixed = database.app(ring(v1=v1, v2=v2, v3=v3), "v123")
        assert run_cli(fixed, ["keys", "rotate"]).exit_code == 0
        with request(fixed):
            assert rotation.versions_in_use() == {3: 1}


def test_a_key_ring_without_enough_randomness_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="not random enough"):
        make_test_app(tmp_path, None, ROOT_KEYS="1:" + base64.b64encode(b"\x00" * 32).decode())
    with pytest.raises(SettingsError, match="must be 32 random bytes"):
        make_test_app(tmp_path, None, ROOT_KEYS="1:" + base64.b64encode(b"short").decode())


def test_keys_rotate_reports_progress_and_audits(backend, tmp_path):
    v1, v2 = new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "keyscli") as database:
        old = database.app(ring(v1=v1), "v1")
        database.create_schema(old)
        with request(old):
            org = factories.organisation("Rotation NGO")
            worker = factories.user(org, "caseworker", "rotworker")
            for _ in range(3):
                factories.case(worker)
        assert run_cli(old, ["keys", "rotate"]).output.strip() == (
            "every data key is already under key version 1 (0 two-factor secrets re-sealed)"
        )

        new = database.app(ring(v1=v1, v2=v2), "v12")
        status = run_cli(new, ["keys", "status"]).output.splitlines()
        assert status[:3] == ["key versions in the ring: 1, 2 (current 2)", "version 1: keep",
                              "  - 3 case data keys are wrapped under it."]

        result = run_cli(new, ["keys", "rotate", "--batch-size", "2"])
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == [
            "re-wrapping data keys under version 2",
            "re-wrapped 3 data keys and re-sealed 0 two-factor secrets; run `casemgmt indexes rebuild`, "
            "then check `casemgmt keys status` before retiring an old key version",
        ]
        status = run_cli(new, ["keys", "status"]).output.splitlines()
        assert status[status.index("version 2: keep") + 2] == "  - 3 case data keys are wrapped under it."
        assert "  - 3 case data keys are wrapped under it." not in status[:status.index("version 2: keep")]
        with request(new):
            events = db.session.execute(
                select(AuditEvent.action, AuditEvent.actor_name, AuditEvent.details)
                .where(AuditEvent.action.like("keys.%")).order_by(AuditEvent.seq)
            ).all()
        assert [(a, n, json.loads(d)) for a, n, d in events] == [
            ("keys.rotate.start", "system", {"pending": 3, "to_version": 2}),
            ("keys.rotate.finish", "system", {"rewrapped": 3, "to_version": 2}),
        ]
        assert run_cli(new, ["keys", "rotate"]).output.strip() == (
            "every data key is already under key version 2 (0 two-factor secrets re-sealed)"
        )
        assert run_cli(new, ["audit", "verify"]).exit_code == 0


def test_keys_status_counts_two_factor_secrets_per_version(app):
    make_world(app)
    with request(app):
        supervisor = user("supervisor")
        secret = accounts.begin_totp_enrolment(supervisor)
        accounts.confirm_totp_enrolment(supervisor, pyotp.TOTP(secret).now(), factories.PASSWORD)
        db.session.commit()
        assert totp.open_secret(supervisor.id, "totp_secret", supervisor.totp_secret) == secret
    assert "  - 1 two-factor secret is sealed under it." in run_cli(app, ["keys", "status"]).output.splitlines()


def test_rotation_reseals_two_factor_secrets_under_the_new_version(backend, tmp_path):
    v1, v2 = new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "totprot") as database:
        old = database.app(ring(v1=v1), "v1")
        database.create_schema(old)
        with request(old):
            org = factories.organisation("Reseal NGO")
            boss = factories.user(org, "supervisor", "resealboss")
            secret = accounts.begin_totp_enrolment(boss)
            accounts.confirm_totp_enrolment(boss, pyotp.TOTP(secret).now(), factories.PASSWORD)
            db.session.commit()
        new = database.app(ring(v1=v1, v2=v2), "v12")
        result = run_cli(new, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "(1 two-factor secrets re-sealed)" in result.output
        status = run_cli(new, ["keys", "status"]).output.splitlines()
        under_2 = status[status.index("version 2: keep"):]
        assert "  - 1 two-factor secret is sealed under it." in under_2
        assert "  - 1 two-factor secret is sealed under it." not in status[:status.index("version 2: keep")]
        with request(new):
            stored = db.session.scalar(select(User).where(User.username == "resealboss"))
            assert totp.open_secret(stored.id, "totp_secret", stored.totp_secret) == secret


def test_keys_status_counts_contacts_own_keys_and_never_calls_the_oldest_version_removable(backend, tmp_path):
    """Finding 7: the old status listed data keys and two-factor secrets only, so a version that still wrapped a
    contact's own key looked empty, and "remove a version once status shows nothing under it" broke the contact."""
    v1, v2, v3 = new_root_key(), new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "keyscontacts") as database:
        old = database.app(ring(v1=v1, v2=v2), "v12")
        database.create_schema(old)
        with request(old):
            hotline = factories.user(factories.organisation("Contacts NGO"), "hotline_operator", "keyshotline")
            intake.log_contact(hotline, {"channel": "phone", "call_type": "tip", "summary": "A tip"})
            db.session.commit()
        new = database.app(ring(v1=v1, v2=v2, v3=v3), "v123")
        lines = run_cli(new, ["keys", "status"]).output.splitlines()
        assert lines[lines.index("version 2: keep") + 1] == (
            "  - 1 contact's own key is wrapped under it (a contact not yet on a case)."
        )
        assert run_cli(new, ["keys", "rotate"]).exit_code == 0
        lines = run_cli(new, ["keys", "status"]).output.splitlines()
        assert "version 1: keep" in lines  # nothing wrapped under it, but the derived keys come from it
        assert "version 2: removable (nothing is wrapped or sealed under it and nothing derives from it)" in lines


def test_keys_rotate_rewraps_every_contacts_own_key_in_one_run(backend, tmp_path):
    """Contacts' own keys were re-wrapped at most one batch (500) per run, so an installation with more contacts
    without a case than that was left half-rotated after `keys rotate` said it was done."""
    v1, v2 = new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "keysbatch") as database:
        old = database.app(ring(v1=v1), "v1")
        database.create_schema(old)
        with request(old):
            hotline = factories.user(factories.organisation("Batch NGO"), "hotline_operator", "batchhotline")
            for number in range(5):
                intake.log_contact(hotline, {"channel": "phone", "call_type": "tip", "summary": f"Tip {number}"})
            db.session.commit()
        new = database.app(ring(v1=v1, v2=v2), "v12")
        assert run_cli(new, ["keys", "rotate", "--batch-size", "2"]).exit_code == 0
        with request(new):
            assert db.session.scalars(select(Contact.key_version)).all() == [2] * 5
