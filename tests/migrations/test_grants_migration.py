"""b8d2e3f4a5c6 (grants) turns the access referrals gave into grants, and transfers into the wait for the receiving
organisation, on SQLite and PostgreSQL; its downgrade gives the old schema back what it can say, and a second upgrade
finds it again (issue 12, items 3 and 4)."""

from __future__ import annotations

import os
from datetime import date, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from casemgmt.extensions import db
from tests.conftest import BACKENDS, drop_postgres_database, make_test_app, postgres_database

BEFORE, GRANTS = "a7c1d2e3f4b5", "b8d2e3f4a5c6"
T0 = datetime(2026, 2, 1, 9, 0)


@pytest.fixture(params=BACKENDS)
def old_app(request, tmp_path):
    """An app whose database stands at the revision before the grants."""
    url = postgres_database(f"grants_{os.getpid()}") if request.param == "postgresql" else None
    application = make_test_app(tmp_path, url)
    try:
        with application.app_context():
            upgrade(revision=BEFORE)
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        if url:
            drop_postgres_database(url)


def _rows(conn, sql: str, **params) -> list:
    return list(conn.execute(text(sql), params).all())


def _when(value):
    return value if value is None or isinstance(value, datetime) else datetime.fromisoformat(value)


def _seed(conn) -> None:
    """Three organisations, their people, and cases shared every way the old schema could."""
    for oid, name in ((1, "Casa Esperanza"), (2, "IOM Haiti"), (3, "Camino Seguro")):
        conn.execute(text("INSERT INTO organisations (id, name, org_type, country, created_at) "
                          "VALUES (:id, :n, 'NGO', 'PE', :t)"), {"id": oid, "n": name, "t": T0})
    users = [(1, "caseworker", 1, "caseworker"), (2, "supervisor", 1, "supervisor"), (3, "mission", 2, "mission_staff"),
             (4, "mcaseworker", 2, "caseworker"), (5, "boss3", 3, "supervisor")]
    for uid, name, org, role in users:
        conn.execute(text(
            "INSERT INTO users (id, username, display_name, organisation_id, role, password_hash, active, "
            "failed_logins, password_changed_at, created_at) VALUES (:id, :n, :n, :o, :r, 'x', true, 0, :t, :t)"),
            {"id": uid, "n": name, "o": org, "r": role, "t": T0})
    for case_id in ("c-mission", "c-caseworker", "c-override", "c-withdrawn", "c-moved", "c-waiting", "c-pending"):
        # The approved transfer of c-moved moved it to Camino Seguro, as the old schema did on approval.
        conn.execute(text(
            "INSERT INTO cases (id, reference, organisation_id, stage, status, unaccompanied_or_separated, pregnant, "
            "elderly, ill, version, created_at, updated_at) VALUES (:id, :id, :org, 'return', 'Active', false, "
            "false, false, false, 1, :t, :t)"), {"id": case_id, "t": T0, "org": 3 if case_id == "c-moved" else 1})
    consents = [
        # (id, case, obtained on, share, withdrawn at)
        ("k-old", "c-mission", date(2026, 1, 10), True, None),
        ("k-new", "c-mission", date(2026, 1, 20), True, None),
        ("k-later", "c-mission", date(2026, 3, 1), True, None),  # given after the acceptance: not relied on
        ("k-noshare", "c-caseworker", date(2026, 1, 25), False, None),
        ("k-cw", "c-caseworker", date(2026, 1, 15), True, None),
        ("k-gone", "c-withdrawn", date(2026, 1, 15), True, datetime(2026, 2, 20, 12, 0)),
        ("k-moved", "c-moved", date(2026, 1, 15), True, None),
        ("k-wait", "c-waiting", date(2026, 1, 15), True, None),
    ]
    for cid, case_id, obtained, share, withdrawn in consents:
        conn.execute(text(
            "INSERT INTO consent_records (id, case_id, obtained_on, language, interpreter_used, is_child_assent, "
            "point_interview, point_purpose, point_data_uses, point_research, point_access_right, point_retention, "
            "point_withdrawal, consents_to_share, consents_to_return, consents_to_police_report, created_at, "
            "withdrawn_at) VALUES (:id, :c, :o, 'es', false, false, true, true, true, false, true, true, true, :s, "
            "false, false, :t, :w)"), {"id": cid, "c": case_id, "o": obtained, "s": share, "t": T0, "w": withdrawn})
    referrals = [
        # (id, case, to, status, basis, responded by)
        ("r-mission", "c-mission", 2, "accepted", "consent", 3),
        ("r-caseworker", "c-caseworker", 2, "accepted", "consent", 4),
        ("r-override", "c-override", 2, "accepted", "imminent_danger", 3),
        ("r-withdrawn", "c-withdrawn", 2, "accepted", "consent", 3),
        ("r-pending", "c-pending", 2, "pending", "consent", None),
        ("r-revoked", "c-pending", 3, "revoked", "consent", 5),
    ]
    for rid, case_id, to_org, status, basis, responder in referrals:
        conn.execute(text(
            "INSERT INTO referrals (id, case_id, from_organisation_id, to_organisation_id, reason, status, "
            "consent_basis, created_at, responded_by_id, responded_at) VALUES (:id, :c, 1, :to, "
            "'MigrationOrChangeOfLocation', :s, :b, :t, :r, :at)"),
            {"id": rid, "c": case_id, "to": to_org, "s": status, "b": basis, "t": T0, "r": responder,
             "at": datetime(2026, 2, 1, 10, 0) if responder else None})
    transfers = [("t-moved", "c-moved", "approved", T0), ("t-requested", "c-waiting", "requested", None),
                 ("t-rejected", "c-waiting", "rejected", T0)]
    for tid, case_id, status, decided in transfers:
        conn.execute(text(
            "INSERT INTO transfers (id, case_id, from_organisation_id, to_organisation_id, requested_at, "
            "consent_basis, keep_access, status, decided_by_id, decided_at) VALUES (:id, :c, 1, 3, :t, 'consent', "
            "false, :s, :by, :d)"), {"id": tid, "c": case_id, "t": T0, "s": status, "by": 2 if decided else None,
                                      "d": decided})


def _grants(conn) -> dict[tuple, tuple]:
    rows = _rows(conn, "SELECT reason_id, organisation_id, user_id, level, reason_kind, consent_id, suspended_at, "
                       "suspended_why, revoked_at FROM case_access_grants")
    return {(r[0], r[2]): (r[1], r[3], r[4], r[5], _when(r[6]), r[7], r[8]) for r in rows}


def test_accepted_referrals_become_grants_and_approved_transfers_accepted(old_app):
    with db.engine.begin() as conn:
        _seed(conn)
    upgrade(revision=GRANTS)
    with db.engine.connect() as conn:
        grants = _grants(conn)
        kinds = dict(_rows(conn, "SELECT id, kind FROM referrals"))
        transfers = {r[0]: (r[1], _when(r[2])) for r in _rows(conn, "SELECT id, status, answered_at FROM transfers")}
    assert set(kinds.values()) == {"referral"}
    assert grants == {
        # Accepted by mission staff: the organisation's row only, on the newest consent given by that day.
        ("r-mission", None): (2, "referral", "referral", "k-new", None, None, None),
        # Accepted by a caseworker: the organisation's row, and the caseworker's own.
        ("r-caseworker", None): (2, "referral", "referral", "k-cw", None, None, None),
        ("r-caseworker", 4): (2, "referral", "referral", "k-cw", None, None, None),
        # An override relies on no consent.
        ("r-override", None): (2, "referral", "referral", None, None, None, None),
        # The consent it relied on was withdrawn since: suspended from then on.
        ("r-withdrawn", None): (2, "referral", "referral", "k-gone", datetime(2026, 2, 20, 12, 0),
                                "consent_withdrawn", None),
    }
    # An approved transfer had already moved the case; the others keep their status.
    assert transfers == {"t-moved": ("accepted", T0), "t-requested": ("requested", None),
                         "t-rejected": ("rejected", None)}


def test_the_downgrade_only_drops_and_the_upgrade_finds_the_waiting_transfer_again(old_app):
    with db.engine.begin() as conn:
        _seed(conn)
    upgrade(revision=GRANTS)
    with db.engine.begin() as conn:
        # What the new schema adds: a transfer waiting for the receiving organisation, a declined one, a hand-off.
        conn.execute(text("UPDATE transfers SET status = 'approved', decided_by_id = 2, decided_at = :t "
                          "WHERE id = 't-requested'"), {"t": T0})
        conn.execute(text("UPDATE transfers SET status = 'declined', answered_by_id = 5, answered_at = :t "
                          "WHERE id = 't-rejected'"), {"t": T0})
        conn.execute(text("UPDATE referrals SET kind = 'return_handoff' WHERE id = 'r-pending'"))
    downgrade(revision=BEFORE, x_arg=["allow-data-loss"])  # the grants and hand-off marks go: declared drops
    with db.engine.connect() as conn:
        statuses = dict(_rows(conn, "SELECT id, status FROM transfers"))
        tables = set(db.inspect(conn).get_table_names())
        referral_columns = {c["name"] for c in db.inspect(conn).get_columns("referrals")}
    # A downgrade changes no row it keeps: the statuses stay as they are.
    assert statuses == {"t-moved": "accepted", "t-requested": "approved", "t-rejected": "declined"}
    assert "case_access_grants" not in tables and "kind" not in referral_columns
    upgrade(revision=GRANTS)
    with db.engine.connect() as conn:
        statuses = dict(_rows(conn, "SELECT id, status FROM transfers"))
        review = _grants(conn).get(("t-requested", None))
    # The transfer whose case is still with its sender, and the latest of its case, still waits.
    assert statuses == {"t-moved": "accepted", "t-requested": "approved", "t-rejected": "declined"}
    # It gives the receiving organisation's supervisors the review again.
    assert review == (3, "review", "transfer_pending", "k-wait", None, None, None)


def test_an_old_approved_transfer_followed_by_a_move_back_is_accepted_too(old_app):
    """A case transferred away and back (two approved transfers) is with its first sender again: its first transfer
    is not waiting for anything."""
    with db.engine.begin() as conn:
        _seed(conn)
        conn.execute(text(
            "INSERT INTO transfers (id, case_id, from_organisation_id, to_organisation_id, requested_at, "
            "consent_basis, keep_access, status, decided_by_id, decided_at) VALUES ('t-back', 'c-moved', 3, 1, :t, "
            "'consent', false, 'approved', 5, :later)"), {"t": T0, "later": datetime(2026, 2, 10, 9, 0)})
        conn.execute(text("UPDATE cases SET organisation_id = 1 WHERE id = 'c-moved'"))
    upgrade(revision=GRANTS)
    with db.engine.connect() as conn:
        statuses = dict(_rows(conn, "SELECT id, status FROM transfers WHERE case_id = 'c-moved'"))
        reviews = [key for key, value in _grants(conn).items() if value[1] == "review"]
    assert statuses == {"t-moved": "accepted", "t-back": "accepted"}
    assert reviews == []
