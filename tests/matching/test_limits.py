"""The supervisor's view of checks and searches (matching.limits): counts from the audit trail, within windows
found through the primary key; the page is the supervisor's, of their own organisation. (Limits and bursts are
counted in Redis: tests/security/test_rate_limits.py.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from casemgmt.audit import record_event
from casemgmt.audit.models import AuditEvent
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.matching import limits
from casemgmt.notifications.models import Notification


def _at(seq: int, moment) -> None:
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(occurred_at=moment))


def _event(actor, action: str, ago: timedelta | None = None, **details) -> AuditEvent:
    event = record_event(action, actor=actor, details=details)
    db.session.flush()
    if ago is not None:
        _at(event.seq, utcnow() - ago)
    return event


def test_the_first_event_of_a_window_is_found_by_its_time(ctx, world):
    base = utcnow() - timedelta(days=1)
    seqs = [_event(world.caseworker, "case.view").seq for _ in range(37)]
    for i, seq in enumerate(seqs):
        _at(seq, base + timedelta(minutes=i))
    db.session.commit()
    assert limits.first_seq_since(base + timedelta(minutes=20, seconds=30)) == seqs[21]
    assert limits.first_seq_since(base + timedelta(minutes=21)) == seqs[21]
    assert limits.first_seq_since(base - timedelta(days=1)) <= seqs[0]
    assert limits.first_seq_since(utcnow() + timedelta(minutes=1)) == seqs[-1] + 1


def test_the_window_is_empty_without_events(ctx):
    db.session.execute(AuditEvent.__table__.delete())
    assert limits.first_seq_since(utcnow()) is None
    assert limits.activity(1) == []


def test_counts_per_colleague_in_the_windows_and_nothing_of_other_organisations(ctx, world):
    # Oldest first: events are numbered in the order they are written, and time grows with them.
    _event(world.caseworker, "intake.duplicate_check", ago=timedelta(days=2), searched=True, shown=0)
    _event(world.caseworker, "intake.duplicate_check", ago=timedelta(hours=2), searched=True, shown=0)
    for _ in range(3):
        _event(world.caseworker, "intake.duplicate_check", searched=True, shown=0)
    _event(world.hotline, "case.search", kind="name", results=0)
    _event(world.hotline, "ratelimit.exceeded", endpoint="cases.search", limit="30 per 1 minute")
    _event(world.hotline, "ratelimit.exceeded", endpoint="reports.export_caseload", limit="10 per 1 hour")
    _event(world.caseworker2, "case.search", kind="name", results=0)  # another organisation's
    db.session.commit()
    rows = {a.user.username: a for a in limits.activity(world.ngo.id)}
    assert "caseworker2" not in rows and "admin" not in rows
    cw, hotline = rows["caseworker"], rows["hotline"]
    assert (cw.checks_recent, cw.checks_day, cw.searches_day, cw.flagged) == (3, 4, 0, False)
    assert (hotline.searches_recent, hotline.searches_day, hotline.limits_reached, hotline.flagged) == (1, 1, 1, True)
    assert rows["supervisor"].checks_day == 0


def test_reaching_a_limit_tells_the_other_supervisors_of_the_organisation(ctx, world):
    event = _event(world.caseworker, "ratelimit.exceeded", endpoint="cases.create", limit="10 per 1 minute")
    assert limits.limit_reached(world.caseworker, "cases.create", event) == 1
    assert limits.limit_reached(world.caseworker, "reports.export_caseload", event) == 0
    # A supervisor who reaches it is not told about themselves.
    assert limits.limit_reached(world.supervisor, "cases.search", event) == 0
    db.session.commit()
    assert [(n.user_id, n.kind, n.object_id) for n in db.session.scalars(select(Notification))] == [
        (world.supervisor.id, "check_limit_reached", str(world.caseworker.id))]


def test_the_page_is_a_supervisors_of_their_own_organisation(app, ctx, world, web):
    _event(world.caseworker, "intake.duplicate_check", searched=True, shown=0)
    db.session.commit()
    for username in ("caseworker", "hotline", "admin"):
        web.login(username)
        assert web.get("/matching/").status_code == 403, username
        web.logout()
    web.login("supervisor2")
    other = web.get("/matching/").get_data(as_text=True)
    assert 'data-user="caseworker"' not in other
    web.logout()
    web.login("supervisor")
    page = web.get("/matching/").get_data(as_text=True)
    assert 'data-user="caseworker"' in page and "10 a minute, 60 an hour" in page and "20 in 10 minutes" in page
    assert "10/minute" not in page  # the limits read as words, not Flask-Limiter's notation
    assert "Rate limits are turned off on this installation." in page  # the shared test app runs without them


def test_limits_read_as_words_in_the_readers_language(app):
    from flask_babel import force_locale

    from casemgmt.matching.limits import in_words

    with app.test_request_context():
        assert in_words("10/minute;60/hour") == "10 a minute, 60 an hour"
        assert in_words("20 per 10 minutes") == "20 in 10 minutes"
        assert in_words("5/hour;20/day") == "5 an hour, 20 a day"
        with force_locale("es"):
            assert in_words("10/minute;60/hour") == "10 por minuto, 60 por hora"
