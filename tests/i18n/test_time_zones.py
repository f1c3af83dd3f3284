"""Each organisation reads and enters times in its own time zone, labelled; the database keeps UTC (issue 12, item 8).

An organisation in Lima (UTC-5, no daylight saving) sees 09:00 for a moment stored as 14:00 UTC, and a time of 09:00
entered there is stored as 14:00 UTC. Its evening is already the next day in UTC: the day it shows is its own.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import Organisation, User
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.core import zones
from casemgmt.core.journey import TimelineEntry, dated, in_order
from casemgmt.extensions import db
from casemgmt.i18n import format_date, format_datetime
from casemgmt.intake import operations as intake
from casemgmt.intake.models import Contact
from tests import factories
from tests.conftest import BACKENDS, drop_postgres_database, make_test_app, postgres_database, signed_in

LIMA = "America/Lima"
PAST = date.today() - timedelta(days=20)  # a day in the past, so nothing entered on it is in the future


def _hotline() -> User:
    return db.session.scalar(select(User).where(User.username == "hotline"))


@pytest.fixture
def lima(app):
    """Casa Esperanza in Lima, with a hotline operator; the install admin, for the organisations page."""
    with app.app_context():
        org = factories.organisation("Casa Esperanza", "NGO", "PE")
        accounts.set_organisation_time_zone(SYSTEM, org, LIMA)
        db.session.commit()
        factories.user(org, "hotline_operator", "hotline")
        factories.user(org, "installation_admin", "install")
        return org.id


def test_conversions_both_ways_and_across_midnight():
    tz = ZoneInfo(LIMA)
    assert zones.to_utc(datetime(2026, 3, 5, 9, 0), tz) == datetime(2026, 3, 5, 14, 0)
    assert zones.to_local(datetime(2026, 3, 5, 14, 0), tz).replace(tzinfo=None) == datetime(2026, 3, 5, 9, 0)
    # 21:30 on the 4th in Lima is 02:30 on the 5th in UTC, and back.
    assert zones.to_utc(datetime(2026, 3, 4, 21, 30), tz) == datetime(2026, 3, 5, 2, 30)
    assert zones.local_date(datetime(2026, 3, 5, 2, 30), tz) == date(2026, 3, 4)


def test_a_zone_is_derived_from_a_country_only_when_it_has_one():
    assert zones.zone_for_country("PE") == LIMA
    assert zones.zone_for_country("ht") == "America/Port-au-Prince"
    assert zones.zone_for_country("US") is None and zones.zone_for_country("BR") is None
    assert zones.zone_for_country("XX") is None
    assert zones.is_zone(LIMA) and zones.is_zone("UTC")
    assert not zones.is_zone("Mars/Olympus_Mons") and not zones.is_zone("US/Eastern")  # aliases are not offered


def test_lima_reads_nine_for_fourteen_utc_labelled_with_its_zone(app, lima):
    with app.test_request_context():
        contact = intake.log_contact(_hotline(), {"channel": "phone", "call_type": "tip",
                                               "occurred_at": datetime.combine(PAST, datetime.min.time())
                                               .replace(hour=14)})
        db.session.commit()
        contact_id = contact.id
    page = signed_in(app, "hotline").get(f"/intake/contacts/{contact_id}").get_data(as_text=True)
    day = f"{PAST:%b} {PAST.day}, {PAST.year}"
    assert f"{day}, 9:00:00\u202fAM (America/Lima)" in page or f"{day}, 9:00:00 AM (America/Lima)" in page
    assert "2:00:00" not in page  # the UTC hour appears nowhere


def test_lima_enters_nine_and_fourteen_utc_is_stored(app, lima):
    hotline = signed_in(app, "hotline")
    form = hotline.get("/intake/contacts/new").get_data(as_text=True)
    assert "Time, America/Lima (empty: now)" in form
    response = hotline.post("/intake/contacts/new", {"channel": "phone", "call_type": "tip",
                                                     "occurred_on": PAST.isoformat(), "occurred_time": "09:00"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        stored = db.session.scalar(select(Contact.occurred_at))
    assert stored == datetime.combine(PAST, datetime.min.time()).replace(hour=14)


def test_a_lima_evening_is_the_next_day_in_utc_and_stays_on_its_own_day(app, lima):
    hotline = signed_in(app, "hotline")
    response = hotline.post("/intake/contacts/new", {"channel": "phone", "call_type": "tip",
                                                     "occurred_on": PAST.isoformat(), "occurred_time": "21:30"})
    assert response.status_code == 302
    with app.app_context():
        contact = db.session.scalar(select(Contact))
        assert contact.occurred_at == datetime.combine(PAST + timedelta(days=1), datetime.min.time()).replace(
            hour=2, minute=30)
        contact_id = contact.id
    page = hotline.get(f"/intake/contacts/{contact_id}").get_data(as_text=True)
    day = f"{PAST:%b} {PAST.day}, {PAST.year}"
    assert f"{day}, 9:30:00" in page and "(America/Lima)" in page
    # The same moment as a day (the case list's "opened" column) is the Lima day too.
    with app.app_context():
        case = factories.case(_hotline())
        case.created_at = contact.occurred_at
        db.session.commit()
    listed = hotline.get("/cases/").get_data(as_text=True)
    assert day in listed and f"{(PAST + timedelta(days=1)):%b} {(PAST + timedelta(days=1)).day}," not in listed


def test_a_time_is_labelled_utc_where_nobody_has_a_zone(app):
    with app.test_request_context():  # nobody logged in: UTC
        moment = datetime(2026, 3, 5, 14, 0)
        assert format_datetime(moment).replace("\u202f", " ") == "Mar 5, 2026, 2:00:00 PM (UTC)"
        assert format_date(moment) == "Mar 5, 2026" and format_date(date(2026, 3, 5)) == "Mar 5, 2026"


def test_the_timeline_places_a_timed_entry_on_the_day_it_falls_on_where_the_page_is_read():
    day = date(2026, 3, 4)
    evening = TimelineEntry(at=datetime(2026, 3, 5, 2, 0), kind="test", title="evening call (02:00 UTC)")
    entries = [dated(day, kind="test", title="consent of the 4th"), evening,
               dated(day + timedelta(days=1), kind="test", title="consent of the 5th")]
    in_lima = [e.title for e in in_order(entries, newest_first=False, tz=ZoneInfo(LIMA))]
    assert in_lima == ["consent of the 4th", "evening call (02:00 UTC)", "consent of the 5th"]
    in_utc = [e.title for e in in_order(entries, newest_first=False, tz=ZoneInfo("UTC"))]
    assert in_utc == ["consent of the 4th", "consent of the 5th", "evening call (02:00 UTC)"]


def test_the_installation_admin_sets_and_changes_an_organisations_time_zone(app, lima):
    admin = signed_in(app, "install")
    page = admin.get("/admin/organisations").get_data(as_text=True)
    assert "<td>America/Lima</td>" in page and 'value="America/Bogota"' in page
    created = admin.post("/admin/organisations", {"name": "Camino Seguro", "org_type": "NGO", "country": "CO",
                                                  "time_zone": ""})
    assert created.status_code == 302
    guessed = admin.post("/admin/organisations", {"name": "Polaris", "org_type": "NGO", "country": "US",
                                                  "time_zone": ""}, follow_redirects=True)
    assert "Its country has several time zones, so Polaris reads times in UTC for now" in guessed.get_data(
        as_text=True)
    chosen = admin.post("/admin/organisations", {"name": "Heartland", "org_type": "NGO", "country": "US",
                                                 "time_zone": "America/Chicago"})
    assert chosen.status_code == 302
    with app.app_context():
        zones_now = dict(db.session.execute(select(Organisation.name, Organisation.time_zone)).all())
    assert zones_now["Camino Seguro"] == "America/Bogota" and zones_now["Heartland"] == "America/Chicago"
    assert zones_now["Polaris"] == "UTC"

    moved = admin.post("/admin/organisations/time-zone", {"tz-organisation_id": str(lima), "tz-time_zone": "UTC"},
                       token_page="/admin/organisations", follow_redirects=True)
    assert "Casa Esperanza now reads and enters times in UTC." in moved.get_data(as_text=True)
    bad = admin.post("/admin/organisations/time-zone", {"tz-organisation_id": str(lima),
                                                        "tz-time_zone": "Mars/Olympus_Mons"},
                     token_page="/admin/organisations", follow_redirects=True)
    assert "Choose an organisation and a time zone from the lists." in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Organisation, lima).time_zone == "UTC"
        details = db.session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == "organisation.time_zone").order_by(AuditEvent.seq)).all()
    assert details[-1] == '{"from":"America/Lima","to":"UTC"}'


def test_only_the_installation_admin_changes_a_time_zone(app, lima):
    with app.app_context():
        factories.user(db.session.get(Organisation, lima), "supervisor", "supervisor")
    supervisor = signed_in(app, "supervisor")
    response = supervisor.post("/admin/organisations/time-zone", {"tz-organisation_id": str(lima),
                                                                  "tz-time_zone": "UTC"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Organisation, lima).time_zone == LIMA


@pytest.fixture(params=BACKENDS)
def migrating_app(request, tmp_path):
    url = postgres_database(f"zones_{os.getpid()}") if request.param == "postgresql" else None
    application = make_test_app(tmp_path, url)
    try:
        with application.app_context():
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        if url:
            drop_postgres_database(url)


def test_the_migration_gives_existing_organisations_their_countrys_zone_when_it_has_one(migrating_app):
    upgrade(revision="c9e3f4a5b6d7")
    with db.engine.begin() as conn:
        for name, country in (("Casa Esperanza", "PE"), ("IOM Haiti", "HT"), ("Polaris", "US")):
            conn.execute(text("INSERT INTO organisations (name, org_type, country, created_at) "
                              "VALUES (:name, 'NGO', :country, :now)"),
                         {"name": name, "country": country, "now": datetime(2026, 1, 2)})
    upgrade(revision="dae4f5b6c7e8")
    with db.engine.connect() as conn:
        found = dict(conn.execute(text("SELECT name, time_zone FROM organisations")).all())
    assert found == {"Casa Esperanza": LIMA, "IOM Haiti": "America/Port-au-Prince", "Polaris": "UTC"}
