"""Another organisation's case and a case that does not exist must cost the same to ask for.

The denial of a foreign case is audited in a transaction of its own (it must survive the aborted request); a missing
id used to answer 404 without writing anything, so a foreign id took about twice as long (4.7 ms against 2.4 ms on
SQLite, 23.5 against 6.8 ms on PostgreSQL): an existence oracle by timing, the one finding 2 closes for the duplicate
check. Every 404 a signed-in user meets is now audited in the same way (access.not_found), once.
"""

from __future__ import annotations

import statistics
import time
import uuid

from sqlalchemy import event, func, select

from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from tests import factories
from tests.audit.test_viewer import browser
from tests.cli.support import make_world, request, user


def _foreign_and_missing(app):
    make_world(app)
    with request(app):
        foreign = factories.case(user("caseworker")).id
    return f"/cases/{foreign}", f"/cases/{uuid.uuid4()}"


def _events_and_commits(app, client, url) -> tuple[int, int]:
    commits = []
    with app.app_context():
        engine = db.engine

    def count(_conn):
        commits.append(1)

    event.listen(engine, "commit", count)
    try:
        with request(app):
            before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        assert client.get(url).status_code == 404
        with request(app):
            after = db.session.scalar(select(func.count()).select_from(AuditEvent))
    finally:
        event.remove(engine, "commit", count)
    return after - before, len(commits)


def test_a_foreign_case_and_a_missing_one_write_the_same_audit_trail(app):
    foreign, missing = _foreign_and_missing(app)
    prober = browser(app, "caseworker2")
    prober.get("/")  # the session's periodic touch is out of the way before counting
    assert _events_and_commits(app, prober, foreign) == _events_and_commits(app, prober, missing) == (1, 1)
    with request(app):
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor_name == "caseworker2").order_by(AuditEvent.seq)
        ).all()
    assert actions[-2:] == ["access.denied", "access.not_found"]


def test_an_anonymous_404_writes_nothing(app, client):
    assert client.get(f"/cases/{uuid.uuid4()}").status_code == 302  # to the login page, as every protected URL
    assert client.get("/no-such-page").status_code == 404
    with request(app):
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def _fastest_mean(client, url, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        assert client.get(url).status_code == 404
        times.append(time.perf_counter() - started)
    return statistics.fmean(sorted(times)[: rounds // 3])


def test_a_foreign_case_takes_as_long_as_a_missing_one(app):
    foreign, missing = _foreign_and_missing(app)
    prober = browser(app, "caseworker2")
    prober.get("/")
    ratios = []
    # The machine may be busy: measure up to five times, and compare the fastest third of each path's attempts,
    # which is what the code costs rather than what the neighbours cost.
    for _ in range(5):
        slow, fast = _fastest_mean(prober.client, foreign, 15), _fastest_mean(prober.client, missing, 15)
        ratios.append(max(slow, fast) / min(slow, fast))
        if ratios[-1] < 1.35:
            break
    assert ratios[-1] < 1.35, f"foreign/missing timing ratios measured: {ratios}"
