"""`casemgmt synth` builds data the application reads like its own: the pages open and decrypt it, blind-index search
finds the people, the audit chain verifies, and the journeys hold together (the stage guards' records are there).

One build of ~200 cases per backend is shared by the package's tests (the `built` fixture, tests/synth/conftest.py).
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from casemgmt.accounts.models import Organisation, User
from casemgmt.audit.models import AuditEvent
from casemgmt.audit.verify import verify_chain
from casemgmt.cases import identity
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case, CaseCode, Person, StageChange
from casemgmt.cases.stages import TRANSITIONS
from casemgmt.consent.models import ConsentRecord
from casemgmt.counseling.models import CounselingSession
from casemgmt.crypto import unseal
from casemgmt.crypto.models import DataKey
from casemgmt.demo import USERS
from casemgmt.extensions import db
from casemgmt.fund.models import FundRequest
from casemgmt.intake.models import Contact, Screening
from casemgmt.intake.sealing import unseal_contact
from casemgmt.journey.models import ClosureRequest
from casemgmt.matching import engine, keys
from casemgmt.matching.models import PersonMatchKey
from casemgmt.programmes.models import Enrolment
from casemgmt.referrals.models import Referral
from casemgmt.reintegration.models import MonitoringVisit, ReintegrationPlan, ServiceDelivered
from casemgmt.reports import dashboard
from casemgmt.reports.figures import today_context
from casemgmt.reports.filters import ReportFilters
from casemgmt.returns.models import ReturnPlan
from casemgmt.shelter.models import Facility, Placement
from casemgmt.synth import build, synth_command
from casemgmt.synth_journey import MISSION_PATHS, NGO_PATHS
from casemgmt.synth_programmes import FINANCE_USERS, SETUP_ACTIONS
from casemgmt.synth_rows import index_generations, match_key_rows
from casemgmt.tasks.models import Task
from tests import factories
from tests.conftest import Web, make_test_app
from tests.migrations.logging_guard import keep_logging_config  # noqa: F401  (autouse fixture)
from tests.synth.conftest import N_CASES, NOW

# The journey's records, one table per kind (the audit trail and categorical code rows are counted apart).
JOURNEY_TABLES = (StageChange, Contact, ConsentRecord, Screening, Placement, CounselingSession, ReturnPlan, Referral,
                  ReintegrationPlan, ServiceDelivered, MonitoringVisit, Task, ClosureRequest)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _first_org() -> Organisation:
    return db.session.scalar(select(Organisation).order_by(Organisation.id))


def test_the_journey_paths_follow_the_stage_machine():
    for path in (*NGO_PATHS, *MISSION_PATHS):
        assert path[0] == "intake"
        for before, after in itertools.pairwise(path):
            assert after in TRANSITIONS[before], path


def test_cases_have_about_ten_related_records_and_their_audit_events(built):
    with built.app.app_context():
        assert _count(Case) == N_CASES
        assert _count(Person) == _count(DataKey) == N_CASES
        related = sum(_count(model) for model in JOURNEY_TABLES)
        assert 8 <= related / N_CASES <= 16, related / N_CASES
        # Every kind of record is there, and each case has its own creation event.
        assert all(_count(model) > 0 for model in JOURNEY_TABLES)
        assert _count(AuditEvent, AuditEvent.action == "case.create") == N_CASES
        assert _count(AuditEvent) >= 10 * N_CASES
        assert built.result["rows"]["cases"] == N_CASES
        # Besides the journeys' events: three organisations, one per user, one export grant, the facilities, and the
        # donors, projects, budgets and exchange rates.
        setup = 3 + len(USERS) + len(FINANCE_USERS) + 1 + _count(Facility)
        assert _count(AuditEvent) == built.result["audit_events"] + setup + _count(
            AuditEvent, AuditEvent.action.in_(SETUP_ACTIONS))


def test_the_audit_chain_is_intact(built):
    with built.app.app_context():
        checked, problems = verify_chain()
        assert problems == []
        assert checked == _count(AuditEvent)
        output = built.app.test_cli_runner().invoke(args=["audit", "verify"])
    assert output.exit_code == 0, output.output
    assert f"audit chain intact: {checked} events verified" in output.output


def test_the_audit_chain_notices_an_edit_of_a_synthetic_event(built):
    with built.app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.create").limit(1))
        original = event.details
        event.details = original.replace("given_name", "nothing")
        db.session.commit()
        try:
            _checked, problems = verify_chain()
            assert [p.kind for p in problems] == ["edited"]
        finally:
            event.details = original
            db.session.commit()


def test_stages_and_statuses_are_consistent(built):
    with built.app.app_context():
        for case in db.session.scalars(select(Case)):
            changes = db.session.scalars(
                select(StageChange).where(StageChange.case_id == case.id).order_by(StageChange.changed_at)
            ).all()
            assert changes[0].from_stage is None and changes[0].to_stage == "intake"
            assert [c.to_stage for c in changes[:-1]] == [c.from_stage for c in changes[1:]], case.id
            # The derived columns hold what the application would have written (see the 9360dd4436d1 migration).
            assert [c.stay_started_at for c in changes] == [None] + [c.changed_at for c in changes[:-1]], case.id
            latest = db.session.scalars(
                select(MonitoringVisit).where(MonitoringVisit.case_id == case.id)
                .order_by(MonitoringVisit.visited_on.desc(), MonitoringVisit.created_at.desc()).limit(1)
            ).first()
            assert case.next_visit_due == (latest.next_visit_due if latest else None), case.id
            assert changes[-1].to_stage == case.stage
            assert case.version == len(changes)
            if case.stage == "closed":
                assert case.closed_at == changes[-1].changed_at
                assert case.status in ("Closed", "ClosedReferred")
                closure = db.session.scalar(select(ClosureRequest).where(
                    ClosureRequest.stage_change_id == changes[-1].id))
                assert closure is not None and closure.status == "approved"
                assert _count(Placement, Placement.case_id == case.id, Placement.discharged_on.is_(None)) == 0
            else:
                assert case.closed_at is None and case.status in ("Active", "FollowUp")
            if case.stage in ("return", "reintegration"):
                plan = db.session.scalar(select(ReturnPlan).where(ReturnPlan.case_id == case.id))
                assert plan is not None and plan.approved_at is not None and plan.risk_assessed
                assert _count(ConsentRecord, ConsentRecord.case_id == case.id,
                              ConsentRecord.consents_to_return.is_(True)) >= 1
            if case.stage == "reintegration":
                assert plan.status == "arrived"


def test_open_stays_fit_the_facilities(built):
    with built.app.app_context():
        for facility in db.session.scalars(select(Facility)):
            taken = _count(Placement, Placement.facility_id == facility.id, Placement.discharged_on.is_(None))
            assert taken <= facility.bed_capacity
        assert _count(Placement, Placement.discharged_on.is_(None)) > 0


def test_categories_are_skewed_and_sometimes_missing(built):
    with built.app.app_context():
        genders = Counter(db.session.scalars(select(Person.gender)))
        citizenships = Counter(db.session.scalars(select(Person.citizenship)))
        stages = Counter(db.session.scalars(select(Case.stage)))
        exploitation = Counter(db.session.scalars(select(CaseCode.code).where(CaseCode.kind == "exploitation")))
        bands = Counter(db.session.scalars(select(Person.age_band)))
    assert genders.most_common(1)[0][0] == "Feminine" and None in genders
    assert len(citizenships) >= 5 and None in citizenships
    assert set(stages) >= {"intake", "shelter", "counseling", "return", "reintegration", "closed"}
    assert len(exploitation) >= 4
    assert len(bands) >= 6 and None in bands


def _a_case(**where) -> tuple[str, dict]:
    """A case of the first NGO (the supervisor's) matching `where` on Person, with its decrypted identity."""
    query = (select(Case).join(Person).where(Case.organisation_id == _first_org().id)
             .where(*(getattr(Person, k) == v if v is not None else getattr(Person, k).is_not(None)
                      for k, v in where.items())).order_by(Case.reference).limit(1))
    case = db.session.scalar(query)
    return case.id, identity.read_identity(case.person)


def _a_case_with_document_and_phone() -> tuple[str, dict]:
    with_both = (select(PersonMatchKey.case_id).where(PersonMatchKey.kind.in_(("doc", "ph")))
                 .group_by(PersonMatchKey.case_id).having(func.count(func.distinct(PersonMatchKey.kind)) == 2))
    case = db.session.scalar(select(Case).where(Case.organisation_id == _first_org().id, Case.id.in_(with_both))
                             .order_by(Case.reference).limit(1))
    return case.id, identity.read_identity(case.person)


def _stored_keys(case_id: str) -> set[tuple]:
    return set(db.session.execute(select(PersonMatchKey.generation, PersonMatchKey.kind, PersonMatchKey.value)
                                  .where(PersonMatchKey.case_id == case_id)).all())


def test_a_case_page_opens_for_the_supervisor_with_the_decrypted_name(built):
    with built.app.test_request_context():
        case_id, revealed = _a_case()
    web = Web(built.app.test_client())
    assert web.login("supervisor").status_code == 302
    page = web.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert revealed["given_name"] in page.get_data(as_text=True)
    assert revealed["family_name"] in page.get_data(as_text=True)


def test_blind_index_search_finds_a_synthetic_person(built):
    with built.app.test_request_context():
        case_id, revealed = _a_case_with_document_and_phone()
        org = _first_org()
        mine, theirs = Case.organisation_id == org.id, Case.organisation_id != org.id
        name = f"{revealed['given_name']} {revealed['family_name']}"
        for values in ({"given_name": name.upper(), "date_of_birth": revealed["date_of_birth"],
                        "birth_year": revealed["birth_year"]},
                       {"given_name": revealed["given_name"], "document_number": revealed["document_number"]},
                       {"family_name": revealed["family_name"], "phone": revealed["phone"].replace(" ", "")}):
            query = keys.identity_of(values, org.country)
            found = [f.case.id for f in engine.best_matches(query, mine, org.country)]
            assert case_id in found, sorted(values)
        # Another organisation's scope does not even hold the person as a candidate.
        query = keys.identity_of(revealed, org.country)
        assert case_id not in [f.case.id for f in engine.best_matches(query, theirs, org.country,
                                                                      threshold=float("-inf"))]
        db.session.rollback()


def test_identity_is_sealed_and_indexed_exactly_as_the_case_form_does(built):
    """The bulk writer against the real operation: the same values give the same blind indexes, and what the writer
    sealed, unseal() reads."""
    with built.app.test_request_context():
        values = factories.case_values(document_number="AB1234567", phone="+51 912 345 678")
        worker = _user("caseworker")
        real = cases.create_case(worker, values)
        country = db.session.get(Organisation, real.organisation_id).country
        mine = match_key_rows(real.id, values, country, index_generations())
        assert {(r["generation"], r["kind"], r["value"]) for r in mine} == _stored_keys(real.id)
        assert {r["kind"] for r in mine} == {"p", "py", "dob", "ph", "doc"}
        db.session.rollback()
        case_id, revealed = _a_case_with_document_and_phone()
        assert revealed["given_name"]
        dob = revealed["date_of_birth"]
        again = match_key_rows(case_id, {**revealed, "date_of_birth": date.fromisoformat(dob) if dob else None},
                               _first_org().country, index_generations())
        assert {(r["generation"], r["kind"], r["value"]) for r in again} == _stored_keys(case_id)
        db.session.rollback()


def test_every_kind_of_sealed_value_decrypts(built):
    with built.app.test_request_context():
        session = db.session.scalar(select(CounselingSession).where(CounselingSession.notes.is_not(None)).limit(1))
        assert unseal(session, "notes")
        visit = db.session.scalar(select(MonitoringVisit).where(MonitoringVisit.observations.is_not(None)).limit(1))
        assert unseal(visit, "observations")
        change = db.session.scalar(select(StageChange).where(StageChange.reason.is_not(None)).limit(1))
        assert unseal(change, "reason")
        plan = db.session.scalar(select(ReturnPlan).limit(1))
        assert unseal(plan, "risk_summary") and unseal(plan, "destination_locality")
        case = db.session.scalar(select(Case).where(Case.narrative.is_not(None)).limit(1))
        assert unseal(case, "narrative")
        # Contacts of a case are under its key; contacts that never became cases under a key of their own.
        on_case = db.session.scalar(select(Contact).where(Contact.case_id.is_not(None),
                                                          Contact.summary.is_not(None)).limit(1))
        alone = db.session.scalar(select(Contact).where(Contact.case_id.is_(None)).limit(1))
        assert unseal_contact(on_case, "summary") and unseal_contact(alone, "summary")


def test_the_dashboard_counts_are_plausible(built):
    with built.app.test_request_context():
        org = _first_org()
        data = dashboard.build(today_context(org.id, ReportFilters()))
        assert sum(data.stages.values()) == data.headline.cases == _count(Case, Case.organisation_id == org.id)
        assert data.headline.open == _count(Case, Case.organisation_id == org.id, Case.stage != "closed")
        assert 0.3 < data.stages["closed"] / data.headline.cases < 0.9
        assert all(f.occupied <= f.capacity for f in data.facilities)
    web = Web(built.app.test_client())
    web.login("supervisor")
    assert web.get("/reports/").status_code == 200
    assert web.get("/reports/donor").status_code == 200


def test_journey_pages_open_for_a_sample_of_cases(built):
    with built.app.app_context():
        org = _first_org()
        sample = {}
        for case in db.session.scalars(select(Case).where(Case.organisation_id == org.id).order_by(Case.reference)):
            sample.setdefault(case.stage, case.id)
        mission_case = db.session.scalar(select(Referral.case_id).where(Referral.status == "accepted",
                                                                        Referral.reason != "AdditionalServicesRequired")
                                         .limit(1))
    web = Web(built.app.test_client())
    web.login("supervisor")
    assert web.get("/cases/").status_code == 200
    for stage, case_id in sample.items():
        for page in ("", "/timeline", "/contacts", "/consent", "/shelter", "/counseling", "/return",
                     "/reintegration", "/tasks", "/referrals"):
            response = web.get(f"/cases/{case_id}{page}")
            assert response.status_code == 200, (stage, page, response.status_code)
    # The mission works on the NGOs' returns referred to it.
    mission = Web(built.app.test_client())
    mission.login("mission")
    for page in ("", "/timeline", "/return", "/reintegration"):
        assert mission.get(f"/cases/{mission_case}{page}").status_code == 200, page


def _snapshot(app: Flask) -> list[tuple]:
    with app.test_request_context():
        rows = []
        for case in db.session.scalars(select(Case).order_by(Case.id)):
            rows.append((case.id, case.reference, case.stage, case.created_at, case.closed_at,
                         identity.read_identity(case.person)["family_name"], _count(Task, Task.case_id == case.id)))
        # The projects' side too: enrolments and fund requests with their amounts and where each ended.
        rows += sorted((e.id, e.case_id, e.project_id, e.enrolled_on, e.ended_on) for e in db.session.scalars(
            select(Enrolment)))
        rows += sorted((r.id, r.case_id, r.status, r.amount, r.currency, r.project_amount, r.approvals_needed,
                        r.refunded_amount) for r in db.session.scalars(select(FundRequest)))
        return rows


def test_the_same_seed_gives_the_same_data(tmp_path):
    apps = [make_test_app(tmp_path / str(i), None) for i in range(3)]
    for app, seed in zip(apps, (5, 5, 6), strict=True):
        with app.app_context():
            db.create_all()
            build(25, seed=seed, password=factories.PASSWORD, now=NOW)
    first, second, other = (_snapshot(app) for app in apps)
    assert first == second
    assert {r[0] for r in first}.isdisjoint({r[0] for r in other})
    assert all(NOW - timedelta(days=3 * 365) <= r[3] <= NOW for r in first if isinstance(r[3], datetime))
    assert any(len(r) == 8 for r in first), "the fund's requests are part of the data"


def test_the_command_builds_prints_the_accounts_and_refuses_a_second_run(tmp_path):
    app = make_test_app(tmp_path, None)
    runner = app.test_cli_runner()
    with app.app_context():
        result = runner.invoke(synth_command, ["--cases", "12", "--password", factories.PASSWORD, "--batch", "5"])
        assert result.exit_code == 0, result.output
        assert "12 cases" in result.output
        assert f"supervisor   {factories.PASSWORD}" in result.output
        assert _count(Case) == 12
        again = runner.invoke(synth_command, ["--cases", "3"])
        assert again.exit_code != 0 and "already has data" in again.output
        weak = runner.invoke(synth_command, ["--cases", "3", "--reset", "--password", "password"])
        assert weak.exit_code != 0
        reset = runner.invoke(synth_command, ["--cases", "3", "--reset", "--password", factories.PASSWORD])
        assert reset.exit_code == 0, reset.output
        assert _count(Case) == 3
        db.session.remove()
        db.engine.dispose()
