"""Projects, rates, enrolments and attributions through their operations: the rules and their refusals, the audit."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.core import versions
from casemgmt.extensions import db
from casemgmt.programmes import attributable, operations, queries
from casemgmt.programmes.models import Enrolment, ExchangeRate, ProjectAttribution
from casemgmt.programmes.operations import ProgrammeError
from casemgmt.shelter.models import Facility, Placement
from tests import factories
from tests.programmes.support import DAYS, END, START, TODAY, edit_values, fund_request, line_of, make_project


def events(action: str) -> list[dict]:
    return [json.loads(e.details) for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))]


def test_a_supervisor_creates_a_project_with_its_donor_lines_and_implementers(world):
    project = make_project(world.supervisor, organisation_ids=[world.mission_org.id])
    assert project.organisation_id == world.ngo.id
    assert project.organisation_ids == {world.ngo.id, world.mission_org.id}  # the lead always included
    assert project.donor.name == "Global Affairs Canada" and project.donor.kind == "foreign_ministry"
    assert [(line.name, line.category, line.amount) for line in project.lines] == [
        ("Medical care", "medical", Decimal("1000.00")), ("Travel and return", "travel_return", Decimal("3000.00")),
        ("Staff", None, Decimal("5000.00"))]
    assert project.country_codes == ["HT", "PE"]
    (created,) = events("project.create")
    assert created["code"] == "HT-AVR-01" and created["budget"] == "9000.00" and created["lines"] == 3
    # A second project names the same donor: it is chosen, not made twice.
    second = make_project(world.supervisor, code="HT-AVR-02")
    assert second.donor_id == project.donor_id


@pytest.mark.parametrize(("overrides", "field"), [
    ({"ends_on": START - DAYS}, "ends_on"),
    ({"currency": "XYZ"}, "currency"),
    ({"code": " "}, "code"),
    ({"donor_name": "", "donor_id": None}, "donor_name"),
    ({"donor_kind": "bank"}, "donor_kind"),
    ({"single_approval_limit": "12.345"}, "single_approval_limit"),
    ({"countries": ["XX"]}, "countries"),
    ({"lines": []}, "lines"),
    ({"lines": [{"name": "A", "category": "medical", "amount": "10"},
                {"name": "B", "category": "medical", "amount": "10"}]}, "lines"),
    ({"lines": [{"name": "A", "category": "medical", "amount": "ten"}]}, "lines"),
    ({"lines": [{"name": "A", "category": "medical", "amount": "-5"}]}, "lines"),
])
def test_bad_projects_are_refused_with_the_field_named(world, overrides, field):
    with pytest.raises(ProgrammeError) as refused:
        operations.save_project(world.supervisor, None, edit_values_for_new(**overrides))
    assert refused.value.field == field
    db.session.rollback()


def edit_values_for_new(**overrides):
    from tests.programmes.support import project_values

    return project_values(**overrides)


def test_a_code_is_unique_per_organisation(world):
    make_project(world.supervisor)
    with pytest.raises(ProgrammeError, match="already has a project with the code HT-AVR-01"):
        operations.save_project(world.supervisor, None, edit_values_for_new())
    db.session.rollback()
    # Another organisation may use the same code.
    assert make_project(world.supervisor2).code == "HT-AVR-01"


def test_the_currency_cannot_change_once_the_fund_has_requests(world):
    project = make_project(world.supervisor)
    operations.save_project(world.supervisor, project, edit_values(project, currency="EUR"), project.version)
    db.session.commit()
    assert project.currency == "EUR"
    case = factories.case(world.caseworker)
    fund_request(case, project, "medical", "10")
    with pytest.raises(ProgrammeError, match="currency cannot change") as refused:
        operations.save_project(world.supervisor, project, edit_values(project, currency="USD"), project.version)
    assert refused.value.field == "currency"


def test_a_line_cannot_go_below_what_it_holds_and_the_refusal_gives_the_figures(world):
    project = make_project(world.supervisor)
    case = factories.case(world.caseworker)
    fund_request(case, project, "medical", "300", "requested")
    fund_request(case, project, "medical", "200", "approved")
    fund_request(case, project, "medical", "150", "disbursed", refunded="50")
    values = edit_values(project)
    medical = next(line for line in values["lines"] if line["category"] == "medical")
    medical["amount"] = "599.99"  # holds 300 + 200 + 100 = 600
    with pytest.raises(ProgrammeError) as refused:
        operations.save_project(world.supervisor, project, values, project.version)
    message = str(refused.value)
    assert "$600.00" in message and "$300.00" in message and "$200.00" in message and "$100.00" in message
    db.session.rollback()
    medical["amount"] = "600"
    operations.save_project(world.supervisor, project, values, project.version)
    db.session.commit()
    assert line_of(project, "medical").amount == Decimal("600.00")


def test_a_line_with_requests_is_not_removed_but_one_without_is(world):
    project = make_project(world.supervisor)
    case = factories.case(world.caseworker)
    fund_request(case, project, "medical", "10", "declined")
    values = edit_values(project)
    values["lines"] = [line for line in values["lines"] if line["category"] != "medical"]
    with pytest.raises(ProgrammeError, match="has fund requests"):
        operations.save_project(world.supervisor, project, values, project.version)
    db.session.rollback()
    values = edit_values(project)
    values["lines"] = [line for line in values["lines"] if line["category"] != "travel_return"]
    values["lines"].append({"name": "Legal assistance", "category": "legal", "amount": "700"})
    operations.save_project(world.supervisor, project, values, project.version)
    db.session.commit()
    assert sorted(line.category or "" for line in project.lines) == ["", "legal", "medical"]


def test_a_category_can_move_between_lines_in_one_save(world):
    project = make_project(world.supervisor)
    values = edit_values(project)
    for line in values["lines"]:
        line["category"] = {"medical": "travel_return", "travel_return": "medical"}.get(line["category"],
                                                                                         line["category"])
    operations.save_project(world.supervisor, project, values, project.version)
    db.session.commit()
    assert {line.name: line.category for line in project.lines}["Medical care"] == "travel_return"


def test_an_edit_from_an_older_version_is_a_conflict(world):
    project = make_project(world.supervisor)
    old = project.version
    operations.save_project(world.supervisor, project, edit_values(project, title="New title"), old)
    db.session.commit()
    with pytest.raises(versions.EditConflict) as clash:
        operations.save_project(world.supervisor, project, edit_values(project, title="Another title"), old)
    assert "title" in clash.value.differences


def test_only_the_lead_organisations_supervisor_manages_the_project(world):
    project = make_project(world.supervisor, organisation_ids=[world.mission_org.id])
    lead = factories.user(world.mission_org, "supervisor")
    from werkzeug.exceptions import NotFound

    with pytest.raises(NotFound):
        operations.save_project(lead, project, edit_values(project), project.version)


# Exchange rates ----------------------------------------------------------------------------------------------------


def test_a_second_rate_for_a_month_is_refused_unless_corrected_with_a_reason(world):
    finance = factories.user(world.ngo, "finance_officer")
    row, corrected = operations.record_rate(finance, {"month": "2026-03", "currency": "PEN", "quote_currency": "USD",
                                                      "rate": "0.2689", "source": "BCRP"})
    db.session.commit()
    assert row.month.isoformat() == "2026-03-01" and row.rate == Decimal("0.2689") and not corrected
    with pytest.raises(ProgrammeError, match="already recorded"):
        operations.record_rate(finance, {"month": "2026-03-15", "currency": "PEN", "quote_currency": "USD",
                                         "rate": "0.27"})
    with pytest.raises(ProgrammeError, match="already recorded"):  # a correction needs its reason
        operations.record_rate(finance, {"month": "2026-03", "currency": "PEN", "quote_currency": "USD",
                                         "rate": "0.27", "correction": True})
    db.session.rollback()
    fixed, corrected = operations.record_rate(finance, {
        "month": "2026-03", "currency": "PEN", "quote_currency": "USD", "rate": "0.2701", "correction": True,
        "reason": "typo"})
    db.session.commit()
    assert corrected and fixed.id == row.id and fixed.rate == Decimal("0.2701") and "typo" in fixed.source
    assert db.session.scalar(select(ExchangeRate.rate)) == Decimal("0.2701")
    (event,) = events("exchange_rate.correct")
    assert event["old_rate"] == "0.2689000000" and event["new_rate"] == "0.2701"
    assert "typo" not in json.dumps(event)  # no free text in the audit trail


@pytest.mark.parametrize(("values", "field"), [
    ({"month": "March"}, "month"), ({"rate": "0"}, "rate"), ({"rate": "-1"}, "rate"), ({"rate": "abc"}, "rate"),
    ({"rate": "0.12345678901"}, "rate"), ({"quote_currency": "PEN"}, "quote_currency"),
    ({"currency": "ZZZ"}, "currency"),
])
def test_bad_rates_are_refused(world, values, field):
    with pytest.raises(ProgrammeError) as refused:
        operations.record_rate(world.supervisor, {"month": "2026-03", "currency": "PEN", "quote_currency": "USD",
                                                  "rate": "0.27", **values})
    assert refused.value.field == field


# Enrolments and attributions --------------------------------------------------------------------------------------


def test_enrolment_inside_the_period_once_and_ending_waits_for_open_requests(world):
    project = make_project(world.supervisor)
    case = factories.case(world.caseworker)
    with pytest.raises(ProgrammeError, match="within that period"):
        operations.enrol(world.caseworker, case, project.id, START - DAYS)
    with pytest.raises(ProgrammeError, match="future"):
        operations.enrol(world.caseworker, case, project.id, TODAY + DAYS)
    enrolment = operations.enrol(world.caseworker, case, project.id, START + 10 * DAYS)
    db.session.commit()
    with pytest.raises(ProgrammeError, match="already enrolled"):
        operations.enrol(world.caseworker, case, project.id, TODAY)
    db.session.rollback()
    # The database refuses a second open enrolment too (two people at the same instant).
    db.session.add(Enrolment(case_id=case.id, project_id=project.id, organisation_id=world.ngo.id,
                             enrolled_on=TODAY))
    with pytest.raises(Exception):  # noqa: B017 (IntegrityError of either driver)
        db.session.flush()
    db.session.rollback()

    request = fund_request(case, project, "medical", "50", "approved")
    with pytest.raises(ProgrammeError, match="waiting for approval or payment"):
        operations.end_enrolment(world.caseworker, enrolment, TODAY)
    db.session.rollback()
    request.status = "disbursed"
    db.session.commit()
    with pytest.raises(ProgrammeError, match="before it started"):
        operations.end_enrolment(world.caseworker, enrolment, START)
    operations.end_enrolment(world.caseworker, enrolment, TODAY)
    db.session.commit()
    assert enrolment.ended_on == TODAY
    # Enrolled again after it ended.
    with pytest.raises(ProgrammeError, match="earlier enrolment"):
        operations.enrol(world.caseworker, case, project.id, TODAY)
    assert [e["project_id"] for e in events("enrolment.create")] == [project.id]


def test_only_projects_the_organisation_implements_take_its_cases(world):
    other = make_project(world.supervisor2)
    case = factories.case(world.caseworker)
    with pytest.raises(ProgrammeError, match="projects your organisation implements"):
        operations.enrol(world.caseworker, case, other.id, TODAY)


def _placement(world, case, day):
    facility = Facility(organisation_id=world.ngo.id, name="Casa Refugio", facility_type="Shelter",
                        bed_capacity=10, age_group="adults")
    db.session.add(facility)
    db.session.flush()
    placement = Placement(case_id=case.id, facility_id=facility.id, admitted_on=day, created_by_id=world.caseworker.id)
    db.session.add(placement)
    db.session.commit()
    return placement


def test_work_is_charged_only_to_a_project_the_case_was_enrolled_in_that_day(world):
    project = make_project(world.supervisor)
    spare = make_project(world.supervisor, code="PE-OTHER")
    case = factories.case(world.caseworker)
    placement = _placement(world, case, TODAY - 5 * DAYS)
    operations.enrol(world.caseworker, case, project.id, TODAY - 3 * DAYS)
    db.session.commit()
    with pytest.raises(ProgrammeError, match="not enrolled in that project"):  # enrolled after the stay began
        operations.attribute(world.caseworker, case, "placement", placement.id, project.id)
    db.session.rollback()
    operations.enrol(world.caseworker, case, spare.id, TODAY - 10 * DAYS)
    db.session.commit()
    operations.attribute(world.caseworker, case, "placement", placement.id, spare.id)
    db.session.commit()
    (charged,) = db.session.scalars(select(ProjectAttribution))
    assert (charged.project_id, charged.organisation_id) == (spare.id, world.ngo.id)
    assert operations.attribute(world.caseworker, case, "placement", placement.id, None) is None
    db.session.commit()
    assert db.session.scalars(select(ProjectAttribution)).all() == []
    assert [e.get("project_id") for e in events("attribution.create")] == [spare.id]
    assert events("attribution.remove") == [{"project_id": spare.id}]


def test_deleted_records_are_not_listed_or_charged(world):
    from casemgmt.core.time import utcnow

    project = make_project(world.supervisor)
    case = factories.case(world.caseworker)
    placement = _placement(world, case, TODAY - DAYS)
    operations.enrol(world.caseworker, case, project.id, TODAY - 2 * DAYS)
    assert [r.id for r in attributable.records_of(world.caseworker, case)] == [placement.id]
    placement.deleted_at = utcnow()
    db.session.commit()
    assert attributable.records_of(world.caseworker, case) == []
    with pytest.raises(ProgrammeError):
        operations.attribute(world.caseworker, case, "placement", placement.id, project.id)


def test_a_finance_officer_enrols_nothing_and_another_organisations_caseworker_gets_404(world):
    from werkzeug.exceptions import Forbidden, NotFound

    project = make_project(world.supervisor)
    case = factories.case(world.caseworker)
    finance = factories.user(world.ngo, "finance_officer")
    with pytest.raises(Forbidden):
        operations.enrol(finance, case, project.id, TODAY)
    with pytest.raises(NotFound):
        operations.enrol(world.caseworker2, case, project.id, TODAY)
    assert queries.enrolled_projects(case.id, world.ngo.id, TODAY) == []
    assert END > TODAY


def test_an_enrolment_does_not_end_before_work_charged_to_it_and_shows_on_the_timeline(world):
    from casemgmt.programmes import timeline

    project = make_project(world.supervisor)
    case = factories.case(world.caseworker)
    enrolment = operations.enrol(world.caseworker, case, project.id, TODAY - 10 * DAYS)
    placement = _placement(world, case, TODAY - 2 * DAYS)
    operations.attribute(world.caseworker, case, "placement", placement.id, project.id)
    db.session.commit()
    with pytest.raises(ProgrammeError, match="dated after that day are charged"):
        operations.end_enrolment(world.caseworker, enrolment, TODAY - 5 * DAYS)
    db.session.rollback()
    operations.end_enrolment(world.caseworker, enrolment, TODAY - 2 * DAYS)
    db.session.commit()
    shown = timeline.entries(world.caseworker, case)
    assert [e.title for e in shown] == ["Enrolled in a project", "Enrolment in a project ended"]
    assert all("HT-AVR-01" in e.detail for e in shown)
    # Another organisation's staff see none of it.
    assert timeline.entries(world.caseworker2, case) == []


def test_a_correction_that_would_overflow_the_source_is_refused_not_cut(world):
    """A correction adds its reason to the source: a source of 120 characters (the most the form takes) and a reason
    of 70 (the same) make 204, past the column's 200, and the end of the reason used to be cut silently."""
    finance = factories.user(world.ngo, "finance_officer")
    row, _ = operations.record_rate(finance, {"month": "2026-03", "currency": "PEN", "quote_currency": "USD",
                                              "rate": "0.2689", "source": "B" * 120})
    db.session.commit()
    reason = "r" * 69 + "!"
    with pytest.raises(ProgrammeError, match="over its limit of 200") as refused:
        operations.record_rate(finance, {"month": "2026-03", "currency": "PEN", "quote_currency": "USD",
                                         "rate": "0.27", "correction": True, "reason": reason})
    assert refused.value.field == "source"
    db.session.rollback()
    kept = db.session.get(ExchangeRate, row.id)
    assert kept.rate == Decimal("0.2689") and kept.source == "B" * 120
    fixed, corrected = operations.record_rate(finance, {
        "month": "2026-03", "currency": "PEN", "quote_currency": "USD", "rate": "0.27", "correction": True,
        "reason": "the bank revised it", "source": "BCRP"})
    assert corrected and fixed.source.endswith("the bank revised it)") and fixed.source.startswith("BCRP")
