"""The demo fills the notifications: its operations make their notices, the overdue sweep adds its own, some are
read already, and the demo accounts have e-mail addresses (with e-mail on for the supervisor only)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.extensions import db
from casemgmt.notifications.models import Notification, NotificationSweep
from tests.conftest import Web, make_test_app
from tests.migrations.logging_guard import keep_logging_config  # noqa: F401  (autouse fixture)

PASSPHRASE = "quartz-meadow-lantern-orbit-71"


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    app = make_test_app(tmp_path_factory.mktemp("notification-demo"), None)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--cases", "24", "--password", PASSPHRASE],
                                              catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return app


def test_the_demo_users_find_notices_some_read_some_new(demo_app):
    with demo_app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        rows = db.session.scalars(select(Notification)).all()
        names = {u.id: name for name, u in users.items()}
        by_user = Counter(names[n.user_id] for n in rows)
        kinds = Counter(n.kind for n in rows)
        assert by_user["supervisor"] > 0 and by_user["mission"] > 0
        # Made by the operations the demo runs (referrals, approvals) and by the overdue sweep.
        assert {"referral_received", "return_submitted", "task_overdue"} <= set(kinds), kinds
        assert any(n.read_at is not None for n in rows) and any(n.read_at is None for n in rows)
        assert db.session.scalar(select(NotificationSweep.organisation_id).limit(1)) is not None
        assert users["supervisor"].notify_by_email and users["supervisor"].email.endswith(".example")
        assert not users["caseworker"].notify_by_email and users["caseworker"].email

    web = Web(demo_app.test_client())
    web.login("supervisor", PASSPHRASE)
    page = web.get("/notifications").get_data(as_text=True)
    assert "waiting for your approval" in page and 'class="list-group notifications' in page
