"""Finding 11 of issue 10: two-factor login had no recovery path but an administrator's reset. Ten single-use
recovery codes are shown once at enrolment; one stands in for the one-time code at login, once; regenerating them
(passphrase re-checked) kills the old ones; only keyed hashes are stored. Each test failed before the fix."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from casemgmt.accounts import recovery
from casemgmt.accounts.models import RecoveryCode
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import (
    GENERIC_LOGIN_ERROR,
    enrol_through_pages,
    events,
    logged_in,
    new_web,
    user_row,
)

WRONG = "not-my-passphrase-at-all-99"


@pytest.fixture
def codes(app, web, world) -> list[str]:
    """The supervisor turns two-factor login on and keeps the codes the page showed."""
    web.login("supervisor")
    enrol_through_pages(web)
    web.logout()
    return web.recovery_codes


def _rows(user_id: int) -> list[RecoveryCode]:
    db.session.expire_all()
    return list(db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)))


def test_enrolment_shows_ten_distinct_codes_once_and_stores_only_keyed_hashes(app, codes, world):
    assert len(codes) == recovery.COUNT == 10 and len(set(codes)) == 10
    assert all(len(c.replace("-", "")) == 10 for c in codes)  # 50 bits each
    rows = _rows(world.supervisor.id)
    assert len(rows) == 10 and all(r.used_at is None for r in rows)
    raw = " ".join(str(v) for row in db.session.execute(text("SELECT * FROM recovery_codes")) for v in row)
    for code in codes:
        assert code not in raw and code.replace("-", "") not in raw
    # Keyed: a plain SHA-256 of the code is not what is stored.
    import hashlib

    plain = {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert not plain & {r.code_hash for r in rows}


def test_a_recovery_code_logs_in_once_and_is_audited(app, codes, world):
    web = new_web(app)
    response = web.login("supervisor", code=codes[0].lower().replace("-", " "), follow=True)
    assert logged_in(web.client)
    assert "9 codes are left" in response.get_data(as_text=True)
    used = events("login.recovery_code")
    assert len(used) == 1 and json.loads(used[0].details) == {"remaining": 9}
    assert codes[0] not in "".join(e.details for e in events())
    again = new_web(app)
    response = again.login("supervisor", code=codes[0])
    assert GENERIC_LOGIN_ERROR in response.get_data(as_text=True) and not logged_in(again.client)
    assert new_web(app).login("supervisor", code=codes[1]).status_code == 302


def test_a_recovery_code_with_a_wrong_passphrase_fails_and_is_not_spent(app, codes, world):
    web = new_web(app)
    response = web.login("supervisor", WRONG, code=codes[0])
    assert GENERIC_LOGIN_ERROR in response.get_data(as_text=True)
    assert recovery.remaining(user_row("supervisor")) == 10
    assert new_web(app).login("supervisor", code=codes[0]).status_code == 302


def test_another_users_code_does_not_work(app, codes, world):
    factories.user(world.ngo, "supervisor", "supervisorb")
    other = new_web(app)
    other.login("supervisorb")
    enrol_through_pages(other)
    assert GENERIC_LOGIN_ERROR in new_web(app).login("supervisorb", code=codes[0]).get_data(as_text=True)


def test_regenerating_needs_the_passphrase_and_kills_the_old_codes(app, codes, world):
    web = new_web(app)
    web.login("supervisor", code=codes[0])
    account = web.get("/account").get_data(as_text=True)
    assert "9 unused recovery codes." in account
    refused = web.post("/account/recovery-codes", {"password": WRONG})
    assert refused.status_code == 302 and recovery.remaining(user_row("supervisor")) == 9
    response = web.post("/account/recovery-codes", {"password": factories.PASSWORD})
    assert response.status_code == 200
    fresh = [c for c in response.get_data(as_text=True).split("<li><code>")[1:]]
    fresh = [c.split("</code>")[0] for c in fresh]
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert recovery.remaining(user_row("supervisor")) == 10
    assert GENERIC_LOGIN_ERROR in new_web(app).login("supervisor", code=codes[1]).get_data(as_text=True)
    assert new_web(app).login("supervisor", code=fresh[0]).status_code == 302
    assert len(events("account.recovery_codes")) == 1


def test_turning_two_factor_off_or_a_reset_discards_the_codes(app, codes, world):
    from casemgmt.accounts import operations as accounts
    from casemgmt.audit.events import SYSTEM

    accounts.reset_now(SYSTEM, user_row("supervisor"))
    db.session.commit()
    assert _rows(world.supervisor.id) == []
