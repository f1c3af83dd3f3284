"""The fund's demo: every status, the over-limit request with two approvals, the refusal for budget."""

from __future__ import annotations

import random

from sqlalchemy import select

from casemgmt.extensions import db
from casemgmt.fund import demo
from casemgmt.fund.models import FundApproval, FundRequest
from tests import factories
from tests.fund import support


def test_the_demo_has_requests_in_every_status(fund, world):
    people = {"caseworker": world.caseworker, "supervisor": world.supervisor, "caseworker2": world.caseworker2,
              "supervisor2": world.supervisor2, "finance": fund.finance}
    big = support.project(world.ngo, limit="200.00", lines={"medical": "5000.00", "subsistence": "3000.00"})
    co = support.project(world.ngo2, lines={"medical": "2000.00", "legal": "250.00"}, code="CO-1")
    rng = random.Random(7)
    cases = [fund.case]
    for _ in range(6):
        case = factories.case(world.caseworker)
        support.enrol(case, big, world.ngo, world.caseworker)
        cases.append(case)
    co_case = factories.case(world.caseworker2)
    support.enrol(co_case, co, world.ngo2, world.caseworker2)
    for case in [*cases, co_case]:
        demo.populate(case, people, rng)
        db.session.commit()
    demo.finish(people, rng)
    db.session.commit()
    statuses = set(db.session.scalars(select(FundRequest.status)))
    assert statuses >= {"requested", "approved", "disbursed", "refunded", "declined", "cancelled", "refused"}
    requests = list(db.session.scalars(select(FundRequest)))
    assert any(r.status == "disbursed" and r.refunded_amount > 0 for r in requests)  # refunded in part
    assert any(r.disbursement and r.disbursement.receipt_document_id for r in requests)
    assert any(r.disbursement and not r.disbursement.receipt_document_id for r in requests)  # receipt missing
    assert any(r.status == "requested" and r.approvals_needed == 2 and len(r.approvals) == 1 for r in requests)
    assert any(r.status == "requested" and r.approvals_needed == 1 and not r.approvals for r in requests)
    two = [r for r in requests if r.approvals_needed == 2 and len(r.approvals) == 2]
    assert two and {a.approver_id for a in two[0].approvals} == {world.supervisor.id, fund.finance.id}
    refused = [r for r in requests if r.status == "refused"]
    assert any(r.organisation_id == world.ngo2.id for r in refused)
    assert db.session.scalar(select(db.func.count()).select_from(FundApproval)) >= 3
