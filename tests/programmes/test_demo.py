"""The demo's programmes: three projects with their donors and budgets, eighteen months of rates for each
organisation, cases enrolled inside the projects' periods and work charged only to projects enrolled in that day.
The data does not depend on the database, so one backend (SQLite) is enough, as in tests/demo."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from casemgmt.accounts.models import Organisation
from casemgmt.extensions import db
from casemgmt.programmes import attributable, queries
from casemgmt.programmes.demo import RATE_MONTHS
from casemgmt.programmes.models import Enrolment, ExchangeRate, Project, ProjectAttribution
from tests.conftest import make_test_app
from tests.migrations.logging_guard import keep_logging_config  # noqa: F401  (autouse fixture)


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    app = make_test_app(tmp_path_factory.mktemp("programmes-demo"), None)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--cases", "16", "--password",
                                                    "quartz-meadow-lantern-orbit-71"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_demo_builds_three_projects_with_donors_and_budgets(demo_app):
    with demo_app.app_context():
        projects = {p.code: p for p in db.session.scalars(select(Project))}
        assert set(projects) == {"PE-TIP-2026-01", "HT-AVR-2026-03", "CO-VTF-2026-07"}
        orgs = {o.id: o.name for o in db.session.scalars(select(Organisation))}
        peru, haiti, colombia = projects["PE-TIP-2026-01"], projects["HT-AVR-2026-03"], projects["CO-VTF-2026-07"]
        assert orgs[peru.organisation_id] == "Casa Esperanza Lima"
        assert {orgs[i] for i in haiti.organisation_ids} == {"IOM Mission Haiti", "Casa Esperanza Lima"}
        assert orgs[colombia.organisation_id] == "Fundación Camino Seguro"
        assert peru.donor.kind == "government" and haiti.donor.kind == "foreign_ministry"
        assert colombia.donor.kind == "un_agency"
        assert sum(line.amount for line in peru.lines) == Decimal("78000.00")
        assert sum(line.amount for line in colombia.lines) == Decimal("12500.00")
        assert (peru.single_approval_limit, haiti.single_approval_limit) == (Decimal("500.00"), Decimal("1000.00"))
        assert [line.category for line in peru.lines if line.category is None] == [None, None]
        for p in projects.values():
            assert p.starts_on <= date.today() <= p.ends_on and p.currency == "USD"


def test_the_demo_records_rates_for_every_organisation(demo_app):
    with demo_app.app_context():
        counts = dict(db.session.execute(select(ExchangeRate.organisation_id, func.count())
                                         .group_by(ExchangeRate.organisation_id)).all())
        assert len(counts) == 3 and set(counts.values()) == {3 * (RATE_MONTHS + 1)}
        this_month = date.today().replace(day=1)
        pen = db.session.scalar(select(ExchangeRate.rate).where(ExchangeRate.currency == "PEN",
                                                                ExchangeRate.month == this_month).limit(1))
        assert Decimal("0.25") < pen < Decimal("0.29")


def test_cases_are_enrolled_inside_the_periods_and_charged_only_where_enrolled(demo_app):
    with demo_app.app_context():
        enrolments = db.session.scalars(select(Enrolment)).all()
        assert len(enrolments) >= 8
        for e in enrolments:
            assert e.project.starts_on <= e.enrolled_on <= min(e.project.ends_on, date.today())
            assert e.organisation_id in e.project.organisation_ids
        charged = db.session.scalars(select(ProjectAttribution)).all()
        assert charged, "some work is charged to the projects"
        for a in charged:
            kind = attributable.KINDS[a.record_kind]
            record = db.session.get(kind.model, a.record_id)
            assert a.project_id in {p.id for p in queries.enrolled_projects(a.case_id, a.organisation_id,
                                                                             kind.day(record))}
