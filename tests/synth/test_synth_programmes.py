"""The synthetic projects and emergency fund (casemgmt/synth_programmes.py) hold what the fund's operations would
guarantee: budgets that cover every line, conversions at the month's recorded rate, refunds that add up, two
different approvers above the limit and never the requester, enrolments and attributions inside their periods, and
sealed text that decrypts under the case's key."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from sqlalchemy import func, select, text

from casemgmt.accounts.models import Organisation, User
from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case
from casemgmt.core import money
from casemgmt.counseling.models import CounselingSession
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.fund import budget
from casemgmt.fund.models import STATUSES, Disbursement, FundApproval, FundRequest, Refund
from casemgmt.programmes.models import (
    Enrolment,
    ExchangeRate,
    Project,
    ProjectAttribution,
    ProjectOrganisation,
)
from casemgmt.programmes.rates import month_start
from casemgmt.reintegration.models import ServiceDelivered
from casemgmt.returns.models import ReturnPlan
from casemgmt.shelter.models import Placement
from tests.conftest import Web
from tests.synth.conftest import N_CASES, NOW


def _all(model, *where):
    return list(db.session.scalars(select(model).where(*where)))


def test_every_organisation_has_two_to_four_projects_and_a_finance_officer(built):
    with built.app.app_context():
        orgs = _all(Organisation)
        assert len(orgs) == 3
        for org in orgs:
            implemented = db.session.scalar(select(func.count()).select_from(ProjectOrganisation)
                                            .where(ProjectOrganisation.organisation_id == org.id))
            assert 2 <= implemented <= 4, org.name
            assert db.session.scalar(select(func.count()).select_from(User).where(
                User.organisation_id == org.id, User.role == "finance_officer")) == 1, org.name
        # One project is implemented by an NGO and the IOM mission together.
        joint = [p for p in _all(Project) if len(p.organisation_ids) > 1]
        assert len(joint) == 1
        kinds = {db.session.get(Organisation, i).org_type for i in joint[0].organisation_ids}
        assert kinds == {"NGO", "Intergovernmental"}
        for project in _all(Project):
            assert project.donor is not None and project.single_approval_limit > 0
            assert {line.category for line in project.lines if line.category} and any(
                line.category is None for line in project.lines)
        # The longest project of each organisation covers every synthetic case's dates.
        first = db.session.scalar(select(func.min(Case.created_at)))
        for org in orgs:
            periods = [(p.starts_on, p.ends_on) for p in _all(Project) if org.id in p.organisation_ids]
            assert any(start <= first.date() and end >= NOW.date() for start, end in periods), org.name


def test_about_seventy_percent_of_cases_are_enrolled_within_the_periods(built):
    with built.app.app_context():
        enrolments = _all(Enrolment)
        per_case = Counter(e.case_id for e in enrolments)
        assert 0.55 <= len(per_case) / N_CASES <= 0.85, len(per_case)
        assert any(n == 2 for n in per_case.values()), "some cases are in two projects"
        for e in enrolments:
            project = db.session.get(Project, e.project_id)
            case = db.session.get(Case, e.case_id)
            assert e.organisation_id in project.organisation_ids
            assert e.organisation_id == case.organisation_id
            assert project.starts_on <= e.enrolled_on <= project.ends_on
            assert e.enrolled_on >= case.created_at.date()
            assert e.ended_on is None or e.enrolled_on <= e.ended_on <= NOW.date()


def test_attributions_name_the_case_s_own_records_inside_an_enrolment(built):
    with built.app.app_context():
        attributions = _all(ProjectAttribution)
        assert {a.record_kind for a in attributions} == {"placement", "counseling", "return", "reintegration_service"}
        dated = {
            "placement": (Placement, lambda r: r.admitted_on),
            "counseling": (CounselingSession, lambda r: r.held_on),
            "return": (ReturnPlan, lambda r: r.created_at.date()),
            "reintegration_service": (ServiceDelivered, lambda r: r.delivered_on),
        }
        for a in attributions:
            model, day_of = dated[a.record_kind]
            record = db.session.get(model, a.record_id)
            assert record is not None and record.case_id == a.case_id
            day = day_of(record)
            assert any(e.enrolled_on <= day and (e.ended_on is None or day <= e.ended_on) for e in _all(
                Enrolment, Enrolment.case_id == a.case_id, Enrolment.project_id == a.project_id)), a.record_id


def test_requests_come_in_every_status_about_six_per_ten_enrolled_cases(built):
    with built.app.app_context():
        requests = _all(FundRequest)
        statuses = Counter(r.status for r in requests)
        assert set(statuses) == set(STATUSES), statuses
        assert statuses["disbursed"] > sum(statuses.values()) / 2  # mostly paid
        enrolled = db.session.scalar(select(func.count(func.distinct(Enrolment.case_id))))
        assert 0.4 <= len(requests) / enrolled <= 0.9
        for r in requests:
            assert db.session.scalar(select(func.count()).select_from(Enrolment).where(
                Enrolment.case_id == r.case_id, Enrolment.project_id == r.project_id,
                Enrolment.organisation_id == r.organisation_id)) == 1
            assert r.requested_at <= NOW
            assert r.budget_line.project_id == r.project_id and r.budget_line.category == r.category
            if r.status == "refused":
                assert r.remaining_when_refused < r.project_amount and not r.approvals


def test_every_budget_line_covers_what_its_requests_hold(built):
    with built.app.app_context():
        held: dict[int, Decimal] = defaultdict(Decimal)
        for r in _all(FundRequest, FundRequest.status.in_(("requested", "approved", "disbursed", "refunded"))):
            held[r.budget_line_id] += r.project_amount - r.refunded_project_amount
        for project in _all(Project):
            for figures in budget.line_figures(project):
                assert figures.remaining >= 0, (project.code, figures.line.name)
                # The same figure, counted independently of fund.budget.
                assert figures.waiting + figures.committed + figures.spent == held.get(figures.line.id, 0)
                assert figures.budget > 0
            totals = budget.totals(budget.line_figures(project))
            assert totals.spent > 0 and totals.remaining > 0, project.code


def test_amounts_convert_at_the_rate_recorded_for_the_month(built):
    with built.app.app_context():
        converted = 0
        for r in _all(FundRequest):
            project = r.project
            assert r.amount == money.quantize(r.amount, r.currency) and r.amount > 0
            if r.currency == project.currency:
                assert r.rate is None and r.rate_month is None and r.project_amount == r.amount
                continue
            recorded = db.session.scalar(select(ExchangeRate).where(
                ExchangeRate.organisation_id == r.organisation_id, ExchangeRate.currency == r.currency,
                ExchangeRate.quote_currency == project.currency, ExchangeRate.month == r.rate_month))
            assert r.rate_month == month_start(r.requested_at.date())
            assert recorded is not None and recorded.rate == r.rate
            assert r.project_amount == money.convert(r.amount, r.rate, project.currency)
            converted += 1
        assert converted > 0
        assert {r.currency for r in _all(FundRequest)} >= {"PEN", "COP", "HTG", "USD"}


def test_refunds_add_up_exactly(built):
    with built.app.app_context():
        refunded = 0
        for r in _all(FundRequest):
            parts = r.refunds
            assert sum((p.amount for p in parts), Decimal(0)) == r.refunded_amount
            assert sum((p.project_amount for p in parts), Decimal(0)) == r.refunded_project_amount
            if r.status == "refunded":
                assert r.refunded_amount == r.amount and r.refunded_project_amount == r.project_amount
                refunded += 1
            elif r.status == "disbursed":
                assert r.refunded_amount < r.amount
            else:
                assert not parts
            for p in parts:
                assert p.refunded_on >= r.disbursement.paid_on
        assert refunded > 0 and db.session.scalar(select(func.count()).select_from(Refund)) > refunded


def test_approvals_follow_the_delegation_and_nobody_approves_their_own_request(built):
    with built.app.app_context():
        two = 0
        for r in _all(FundRequest):
            assert r.approvals_needed == (2 if r.project_amount > r.project.single_approval_limit else 1)
            approvers = [a.approver_id for a in r.approvals]
            assert len(approvers) == len(set(approvers))
            assert r.requested_by_id not in approvers
            if r.status in ("approved", "disbursed", "refunded"):
                assert len(approvers) == r.approvals_needed
                two += r.approvals_needed == 2
            else:
                assert len(approvers) < r.approvals_needed or r.status in ("declined", "cancelled")
            for a in r.approvals:
                user = db.session.get(User, a.approver_id)
                assert user.organisation_id == r.organisation_id and a.approver_role == user.role
                assert user.role in ("supervisor", "finance_officer")
                assert a.approved_at >= r.requested_at
            if r.approvals_needed == 2 and len(approvers) == 2:
                assert {db.session.get(User, i).role for i in approvers} == {"supervisor", "finance_officer"}
        assert two > 0, "some requests above the limit were approved by two people"


def test_disbursements_follow_the_approvals_without_receipts(built):
    with built.app.app_context():
        paid = {d.request_id: d for d in _all(Disbursement)}
        for r in _all(FundRequest):
            d = paid.get(r.id)
            assert (d is not None) == (r.status in ("disbursed", "refunded")), r.status
            if d is None:
                continue
            assert d.case_id == r.case_id and d.receipt_document_id is None
            assert d.paid_on >= max(a.approved_at for a in r.approvals).date()
            assert d.paid_on <= NOW.date()


def test_fund_text_is_sealed_under_the_case_s_key(built):
    with built.app.test_request_context():
        request = db.session.scalar(select(FundRequest).where(FundRequest.reason.is_not(None)).limit(1))
        name = unseal(request, "payee_name")
        assert name and unseal(request, "justification") and unseal(request, "reason")
        stored = db.session.execute(text("SELECT payee_name FROM fund_requests WHERE id = :id"),
                                    {"id": request.id}).scalar_one()
        assert name.encode() not in bytes(stored)
        disbursement = db.session.scalar(select(Disbursement).where(Disbursement.reference.is_not(None)).limit(1))
        assert unseal(disbursement, "reference")
        refund = db.session.scalar(select(Refund).limit(1))
        assert unseal(refund, "reason")


def test_every_step_is_audited(built):
    with built.app.app_context():
        def count(action):
            return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))

        statuses = Counter(db.session.scalars(select(FundRequest.status)))
        assert count("fund.request") == sum(statuses.values())
        refused = select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "fund.request", AuditEvent.details.like('%"status":"refused"%'))
        assert db.session.scalar(refused) == statuses["refused"]
        assert count("fund.approve") == db.session.scalar(select(func.count()).select_from(FundApproval))
        assert count("fund.disburse") == db.session.scalar(select(func.count()).select_from(Disbursement))
        assert count("fund.refund") == db.session.scalar(select(func.count()).select_from(Refund))
        assert count("fund.decline") == statuses["declined"] and count("fund.cancel") == statuses["cancelled"]
        assert count("enrolment.create") == db.session.scalar(select(func.count()).select_from(Enrolment))
        assert count("attribution.create") == db.session.scalar(select(func.count()).select_from(ProjectAttribution))
        # Events name codes, ids and amounts, never the payee or the justification.
        for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("fund.%"))):
            assert "payee" not in event.details and "justification" not in event.details


def test_the_project_and_fund_pages_open_on_the_synthetic_data(built):
    with built.app.app_context():
        org = db.session.scalar(select(Organisation).order_by(Organisation.id))
        project = db.session.scalar(select(Project).where(Project.organisation_id == org.id).order_by(Project.id))
        request = db.session.scalar(select(FundRequest).where(FundRequest.organisation_id == org.id,
                                                              FundRequest.status == "disbursed").limit(1))
        case_id = request.case_id
    supervisor = Web(built.app.test_client())
    supervisor.login("supervisor")
    for url in (f"/projects/{project.id}", "/fund/", f"/fund/?project={project.id}&figure=spent",
                f"/fund/{request.id}", f"/cases/{case_id}/programmes", f"/cases/{case_id}/fund", "/projects/"):
        assert supervisor.get(url).status_code == 200, url
    export = supervisor.get(f"/projects/{project.id}/financial.xlsx")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    finance = Web(built.app.test_client())
    finance.login("finance")
    for url in (f"/projects/{project.id}", "/fund/", f"/fund/{request.id}"):
        assert finance.get(url).status_code == 200, url
