"""Demo requests to the emergency fund, made through the operations (so encryption and audit are real) by the demo
users: some for enrolled cases as they are populated, then in finish() whatever is missing so that the demo shows
every status, one request above a project's limit approved by two people (a supervisor and the finance officer), and
one refused because its line had run out.

Projects and enrolments come from programmes/demo.py, which runs before this module (core.journey.FEATURES). A
request in the local currency (PEN, COP, HTG) is made only when finance recorded that month's rate; otherwise the
project's currency is used.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.core import money
from casemgmt.extensions import db
from casemgmt.fund import budget, operations
from casemgmt.fund.models import FundRequest
from casemgmt.fund.operations import FundError
from casemgmt.programmes import queries as programmes
from casemgmt.programmes.models import Enrolment, Project
from casemgmt.programmes.rates import rate_for

LOCAL_CURRENCY = {"PE": "PEN", "CO": "COP", "HT": "HTG"}
REQUESTERS = ("caseworker", "caseworker2", "mission", "supervisor", "supervisor2", "missionlead")
# (organisation's requester usernames, its approvers in order: a supervisor, then its finance officer if any)
APPROVERS = {0: ("supervisor", "finance"), 1: ("supervisor2",), 2: ("missionlead", "finance3")}
CLINICS = ("Clínica San Juan de Dios", "Hôpital Sacré-Cœur de Milot", "Hospital San José de Bogotá")
VENDORS = ("Hostal Los Andes", "Transportes Cruz del Sur", "Farmacia Universal", "Supermarché Caribbean")
JUSTIFICATIONS = {
    "emergency_shelter": "Three nights in a safe hostel until a shelter place is free; the family home is not safe.",
    "medical": "Dental treatment and medicines prescribed after the medical check; no health insurance yet.",
    "legal": "Notary and court fees for the complaint against the recruiter.",
    "travel_return": "Bus ticket home with an escort, agreed in the return plan.",
    "family_reunification_travel": "Her mother travels to accompany her at the hearing.",
    "subsistence": "Food and hygiene items for the first two weeks.",
    "education_livelihood": "Enrolment fee and materials for the vocational course.",
    "other": "Replacement of identity documents withheld by the employer.",
}
RECEIPT = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
           b"% Demo receipt\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _today() -> date:
    return date.today()


def _requester(case: Case, people: dict[str, User]) -> tuple[User, list[Project]] | None:
    for name in REQUESTERS:
        user = people.get(name)
        if user is None or not allowed(user, Action.FUND_REQUEST, case):
            continue
        projects = [p for p in programmes.enrolled_projects(case.id, user.organisation_id, _today())
                    if any(line.category for line in p.lines)]
        if projects:
            return user, projects
    return None


def _currency(user: User, project: Project, rng: random.Random) -> str:
    local = LOCAL_CURRENCY.get(getattr(user.organisation, "country", None) or "")
    if local and local != project.currency and rng.random() < 0.5 \
            and rate_for(user.organisation_id, local, project.currency, _today()) is not None:
        return local
    return project.currency


def _amount(user: User, project: Project, line, currency: str, rng: random.Random, share: float) -> Decimal | None:
    """An amount worth about `share` of what the line has left, in `currency`; None when too little is left."""
    left = budget.remaining_on(line)
    target = (left * Decimal(str(share))).quantize(Decimal("1"))
    if target < 20:
        return None
    target = min(target, project.single_approval_limit) if project.single_approval_limit > 20 else target
    if currency != project.currency:
        found = rate_for(user.organisation_id, currency, project.currency, _today())
        target = (target / found.rate).quantize(Decimal("1"))
    return money.quantize(target, currency)


def _values(project: Project, line, amount: Decimal, currency: str, rng: random.Random) -> dict:
    kind = rng.choice(("person", "vendor", "clinic") if line.category == "medical" else ("person", "vendor"))
    name = {"person": "", "vendor": rng.choice(VENDORS), "clinic": rng.choice(CLINICS)}[kind]
    return {"project_id": project.id, "category": line.category, "amount": str(amount), "currency": currency,
            "payee_kind": kind, "payee_name": name, "justification": JUSTIFICATIONS.get(line.category, "Assistance"),
            "needed_by": None}


def _make(case: Case, people: dict[str, User], rng: random.Random, share: float = 0.1,
          over_limit: bool = False) -> FundRequest | None:
    found = _requester(case, people)
    if found is None:
        return None
    user, projects = found
    project = rng.choice(projects)
    lines = [line for line in project.lines if line.category]
    rng.shuffle(lines)
    for line in lines:
        currency = project.currency if over_limit else _currency(user, project, rng)
        if over_limit:
            amount = project.single_approval_limit + Decimal("50.00")
            if budget.remaining_on(line) < amount:
                continue
            amount = money.quantize(amount, currency)
        else:
            amount = _amount(user, project, line, currency, rng, share)
        if amount is None or amount <= 0:
            continue
        try:
            return operations.request_assistance(user, case, _values(project, line, amount, currency, rng))
        except FundError:
            db.session.rollback()
            return None
    return None


def _approvers(request: FundRequest, people: dict[str, User]) -> list[User]:
    names = next((names for names in APPROVERS.values()
                  if (u := people.get(names[0])) is not None and u.organisation_id == request.organisation_id), ())
    return [people[n] for n in names if n in people and people[n].id != request.requested_by_id]


def _approve(request: FundRequest, people: dict[str, User]) -> bool:
    for approver in _approvers(request, people):
        if request.status != "requested":
            break
        if allowed(approver, Action.FUND_APPROVE, request):
            operations.approve(approver, request)
    return request.status == "approved"


def _payer(request: FundRequest, people: dict[str, User]) -> User | None:
    for approver in reversed(_approvers(request, people)):
        if allowed(approver, Action.FUND_DISBURSE, request):
            return approver
    return None


def _pay(request: FundRequest, people: dict[str, User], rng: random.Random, receipt: bool = True) -> bool:
    payer = _payer(request, people)
    if payer is None or request.status != "approved":
        return False
    operations.disburse(payer, request, {"method": rng.choice(("cash", "voucher", "bank_transfer")),
                                         "paid_on": _today(), "reference": f"V-{rng.randint(1000, 9999)}"},
                        ("receipt.pdf", RECEIPT) if receipt else None)
    return True


def _refund(request: FundRequest, people: dict[str, User], full: bool) -> None:
    payer = _payer(request, people)
    if payer is None:
        return
    left = request.amount - request.refunded_amount
    amount = left if full else money.quantize(left / 3, request.currency)
    if amount > 0:
        operations.refund(payer, request, {"amount": str(amount), "refunded_on": _today(),
                                           "reason": "Part of the money was not used and was given back."
                                           if not full else "The service was covered by public insurance."})


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    if case.erased_at is not None or case.stage == "closed" or rng.random() > 0.35:
        return
    request = _make(case, people, rng)
    if request is None or request.status != "requested":
        return
    step = rng.random()
    if step < 0.3:
        return  # waiting
    if step < 0.4:
        approver = next(iter(_approvers(request, people)), None)
        if approver is not None:
            operations.decline(approver, request, "Another programme already covers this.")
        return
    if not _approve(request, people) or step < 0.55:
        return
    _pay(request, people, rng, receipt=rng.random() < 0.8)


def _enrolled_cases(people: dict[str, User]) -> list[Case]:
    today = _today()
    return list(db.session.scalars(
        select(Case).join(Enrolment, Enrolment.case_id == Case.id)
        .where(Case.erased_at.is_(None), Case.stage != "closed", Enrolment.enrolled_on <= today,
               (Enrolment.ended_on.is_(None)) | (Enrolment.ended_on >= today))
        .order_by(Case.created_at).distinct()
    ))


def _statuses() -> dict[str, int]:
    rows = db.session.execute(select(FundRequest.status, db.func.count()).group_by(FundRequest.status)).all()
    return dict(rows)


def finish(people: dict[str, User], rng: random.Random) -> None:
    cases = _enrolled_cases(people)
    if not cases:
        return
    org0 = people.get("caseworker")
    own = [c for c in cases if org0 is not None and c.organisation_id == org0.organisation_id] or cases

    def fresh(over_limit: bool = False, share: float = 0.05) -> FundRequest | None:
        for case in rng.sample(own, len(own)):
            made = _make(case, people, rng, share=share, over_limit=over_limit)
            if made is not None and made.status == "requested":
                return made
        return None

    # The over-limit request approved by a supervisor and the finance officer, then paid with its receipt.
    big = fresh(over_limit=True)
    if big is not None and big.approvals_needed == 2 and _approve(big, people):
        _pay(big, people, rng)
    waiting_two = fresh(over_limit=True)
    if waiting_two is not None:
        first = next(iter(_approvers(waiting_two, people)), None)
        if first is not None:
            operations.approve(first, waiting_two)  # 1 of 2
    have = _statuses()
    if not db.session.scalar(select(FundRequest.id).where(FundRequest.status == "requested",
                                                          FundRequest.approvals_needed == 1).limit(1)):
        fresh()
    if have.get("approved", 0) == 0 and (r := fresh()) is not None:
        _approve(r, people)
    for full in (None, False, True):  # paid; refunded in part; refunded in full
        r = fresh()
        if r is not None and _approve(r, people) and _pay(r, people, rng) and full is not None:
            _refund(r, people, full)
    # A payment whose receipt is still missing (the page asks for it).
    if (r := fresh()) is not None and _approve(r, people):
        _pay(r, people, rng, receipt=False)
    if have.get("declined", 0) == 0 and (r := fresh()) is not None:
        approver = next(iter(_approvers(r, people)), None)
        if approver is not None:
            operations.decline(approver, r, "The person already receives this support from the municipality.")
    if have.get("cancelled", 0) == 0 and (r := fresh()) is not None:
        requester = db.session.get(User, r.requested_by_id)
        operations.cancel(requester, r, "The family paid it themselves.")
    _refused_for_budget(people, cases, rng)
    db.session.flush()
    _spread_over_time(rng)


def _spread_over_time(rng: random.Random) -> None:
    """The operations date every step today, and a fund whose requests all fall on one day shows no months (the
    financial report's "By month", the burn rate). A request in its project's own currency has no rate tied to a
    month, so it moves back to a day of the case's enrolment, its steps a few days after it; a converted request
    keeps this month, the month of the rate it was converted at."""
    today = _today()
    requests = db.session.scalars(select(FundRequest).where(FundRequest.rate.is_(None))
                                  .order_by(FundRequest.requested_at, FundRequest.id))
    for r in list(requests):
        enrolled = db.session.scalar(select(func.min(Enrolment.enrolled_on)).where(
            Enrolment.case_id == r.case_id, Enrolment.project_id == r.project_id))
        if enrolled is None:
            continue
        start = max(enrolled, r.project.starts_on)
        if (today - start).days < 20:
            continue
        back = timedelta(days=(today - start).days - rng.randint(0, (today - start).days - 15))
        r.requested_at -= back
        r.updated_at = r.requested_at
        for step, approval in enumerate(r.approvals, start=1):
            approval.approved_at = r.requested_at + timedelta(days=step)
        if r.decided_at is not None:
            r.decided_at = r.requested_at + timedelta(days=2)
        if r.disbursement is not None:
            r.disbursement.paid_on = r.requested_at.date() + timedelta(days=4)
        for refund in r.refunds:
            refund.refunded_on = r.requested_at.date() + timedelta(days=12)
    db.session.flush()


def _refused_for_budget(people: dict[str, User], cases: list[Case], rng: random.Random) -> None:
    """Exhaust the smallest line of a project of supervisor2's organisation (the Colombian NGO) and ask for more."""
    lead = people.get("supervisor2")
    if lead is None:
        return
    for case in cases:
        if case.organisation_id != lead.organisation_id:
            continue
        found = _requester(case, people)
        if found is None:
            continue
        user, projects = found
        for project in projects:
            lines = sorted((line for line in project.lines if line.category), key=lambda line: line.amount)
            for line in lines:
                left = budget.remaining_on(line)
                values = _values(project, line, Decimal(0), project.currency, rng)
                if left > 0:
                    values["amount"] = str(money.quantize(left, project.currency))
                    operations.request_assistance(user, case, values)  # takes what is left (waits for approval)
                values["amount"] = str(money.quantize(Decimal("150"), project.currency))
                made = operations.request_assistance(user, case, values)
                if made.status == "refused":
                    return
