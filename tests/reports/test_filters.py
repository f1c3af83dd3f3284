"""Report filters: what a period means (open at some time during it), validation, and the cohort's boundaries."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import and_, select
from werkzeug.datastructures import MultiDict

from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.reports import figures
from casemgmt.reports.filters import ReportFilters, conditions, default_period, parse
from tests import factories

ASSIGNEES = [(7, "Rosa"), (9, "Luis")]


def _parse(**args):
    return parse(MultiDict(args), ASSIGNEES)


def test_valid_filters_are_parsed(ctx):
    filters, form = _parse(start="2026-01-01", end="2026-03-31", citizenship="HT", exploitation_country="CL",
                           exploitation="ForcedLabour", assignee="9")
    assert form.errors == {}
    assert filters == ReportFilters(date(2026, 1, 1), date(2026, 3, 31), "HT", "CL", "ForcedLabour", 9)
    assert filters.args() == {"start": "2026-01-01", "end": "2026-03-31", "citizenship": "HT",
                              "exploitation_country": "CL", "exploitation": "ForcedLabour", "assignee": "9"}
    assert _parse(assignee="0")[0].assignee == 0  # "not assigned"


@pytest.mark.parametrize("args, field", [
    ({"start": "2026-13-01"}, "start"),
    ({"start": "2026-03-01", "end": "2026-02-01"}, "end"),
    ({"start": "1990-01-01", "end": "2026-02-01"}, "end"),
    ({"citizenship": "XX"}, "citizenship"),
    ({"exploitation_country": "<script>"}, "exploitation_country"),
    ({"exploitation": "Nonsense"}, "exploitation"),
    ({"assignee": "8"}, "assignee"),
    ({"assignee": "abc"}, "assignee"),
])
def test_invalid_filters_are_reported_and_ignored(ctx, args, field):
    filters, form = _parse(**args)
    assert field in form.errors
    assert getattr(filters, field) is None


def test_default_period_is_the_last_twelve_whole_months():
    assert default_period(date(2026, 11, 27)) == ReportFilters(start=date(2025, 12, 1), end=date(2026, 11, 27))
    assert default_period(date(2026, 1, 5), months=1) == ReportFilters(start=date(2026, 1, 1), end=date(2026, 1, 5))
    filters, _form = parse(MultiDict(), ASSIGNEES, default=default_period(date(2026, 11, 27)))
    assert filters.start == date(2025, 12, 1)
    # An explicit (even empty) period wins over the default.
    filters, _form = parse(MultiDict({"start": ""}), ASSIGNEES, default=default_period(date(2026, 11, 27)))
    assert filters.start is None


def _cohort(org_id, filters, extra=None):
    conds = conditions(org_id, filters) + ([extra] if extra is not None else [])
    return set(db.session.scalars(select(Case.reference).where(and_(*conds))))


def test_the_cohort_is_the_organisations_cases_open_during_the_period(ctx, world):
    def make(created, closed=None, actor=None, **values):
        c = factories.case(actor or world.caseworker, **values)
        c.created_at = created
        c.closed_at = closed
        if closed:
            c.stage = "closed"
        db.session.commit()
        return c.reference

    before_closed = make(datetime(2025, 6, 1), closed=datetime(2025, 12, 31, 23, 59))
    closed_on_first_day = make(datetime(2025, 6, 1), closed=datetime(2026, 1, 1, 0, 0))
    still_open = make(datetime(2024, 1, 1))
    last_day = make(datetime(2026, 3, 31, 23, 59))
    after = make(datetime(2026, 4, 1))
    haitian = make(datetime(2026, 2, 1), citizenship="HT", exploitation=["SexualExploitation"],
                   exploitation_country=["DO"])
    other_org = make(datetime(2026, 2, 1), actor=world.caseworker2)
    erased = make(datetime(2026, 2, 1))
    db.session.scalar(select(Case).where(Case.reference == erased)).erased_at = datetime(2026, 5, 1)
    db.session.commit()

    org = world.caseworker.organisation_id
    period = ReportFilters(start=date(2026, 1, 1), end=date(2026, 3, 31))
    assert _cohort(org, period) == {closed_on_first_day, still_open, last_day, haitian}
    assert _cohort(org, ReportFilters()) == {before_closed, closed_on_first_day, still_open, last_day, after, haitian}
    assert _cohort(org, ReportFilters(citizenship="HT")) == {haitian}
    assert _cohort(org, ReportFilters(exploitation_country="DO")) == {haitian}
    assert _cohort(org, ReportFilters(exploitation="SexualExploitation")) == {haitian}
    assert _cohort(org, ReportFilters(assignee=world.caseworker.id)) == _cohort(org, ReportFilters())
    assert _cohort(org, ReportFilters(assignee=0)) == set()
    assert _cohort(world.caseworker2.organisation_id, ReportFilters()) == {other_org}


def test_figure_keys_resolve_or_refuse(ctx, world):
    context = figures.FigureContext(world.caseworker.organisation_id, ReportFilters(), date(2026, 11, 27))
    for good in ("stage:shelter", "assignee:0", "assignee:7", "opened:2026-02", "gender:Feminine", "gender:",
                 "age:18-20", "citizenship:HT", "citizenship:", "exploitation:ForcedLabour", "tasks_overdue",
                 "approval:return", "approval:closure", "approval:transfer", "facility:3", "return:planned",
                 "visits:due", "visits:overdue"):
        resolved = figures.resolve(good, context)
        assert resolved is not None, good
        condition, label = resolved
        db.session.scalar(select(Case.id).where(condition).limit(1))  # valid SQL on this backend
        assert label
    for bad in ("", "nope", "stage:nowhere", "assignee:x", "opened:2026-13", "opened:x", "gender:Other!",
                "age:200", "citizenship:XX", "exploitation:Nope", "approval:coffee", "facility:a", "return:lost",
                "visits:maybe", "stage:" + "x" * 100):
        assert figures.resolve(bad, context) is None, bad


def test_the_country_lists_render_as_wtforms_renders_them_and_are_kept(ctx):
    """The filters' country lists use LongSelect, which keeps each distinct rendering: the HTML must be exactly
    WTForms' own, selection, errors and attributes included, and a different selection must not reuse another's."""
    from wtforms.widgets import Select

    from casemgmt.core import widgets

    def both(args: dict, **attrs):
        _filters, form = _parse(**args)
        return form.citizenship(**attrs), Select()(form.citizenship, **attrs)

    seen = set()
    for args, attrs in (({"citizenship": "HT"}, {"class_": "form-select"}), ({}, {"class_": "form-select"}),
                        ({"citizenship": "<zz>"}, {"class_": "form-select is-invalid", "aria-describedby": 'x"y'})):
        kept, stock = both(args, **attrs)
        again, _stock = both(args, **attrs)
        assert str(kept) == str(stock) and again is kept
        seen.add(str(kept))
    assert len(seen) == 3
    assert sum('selected value="HT"' in html for html in seen) == 1
    widget = _parse()[1].citizenship.widget
    assert isinstance(widget, widgets.LongSelect) and len(widget._kept) <= widgets.MAX_KEPT
