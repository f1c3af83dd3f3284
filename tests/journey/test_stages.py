"""The stage machine: which moves exist, which must say why, and what the case page says before anyone tries."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.cases import operations as cases
from casemgmt.cases import stages
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.htcds import STAGES
from tests import factories


def test_every_stage_is_reachable_from_intake_and_every_open_stage_can_close():
    assert set(stages.TRANSITIONS) == set(STAGES)
    seen, todo = {"intake"}, ["intake"]
    while todo:
        for nxt in stages.TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(STAGES)
    for stage, following in stages.TRANSITIONS.items():
        assert stage not in following
        assert ("closed" in following) == (stage != "closed")


def test_no_shelter_no_return_and_reintegration_only_after_a_return():
    assert {"counseling", "return", "closed"} <= stages.TRANSITIONS["intake"]  # shelter is not a must
    assert "closed" in stages.TRANSITIONS["counseling"]  # staying in the destination country
    assert [s for s, following in stages.TRANSITIONS.items() if "reintegration" in following] == ["return"]
    assert stages.TRANSITIONS["closed"] == {"intake", "counseling"}  # reopening


@pytest.mark.parametrize(
    ("from_stage", "to_stage", "needed"),
    [("counseling", "closed", True), ("closed", "intake", True), ("closed", "counseling", True),
     ("return", "counseling", True), ("return", "shelter", True), ("intake", "shelter", False),
     ("return", "reintegration", False), ("shelter", "counseling", False)],
)
def test_which_moves_must_say_why(from_stage, to_stage, needed):
    assert stages.needs_reason(from_stage, to_stage) is needed


def test_an_impossible_transition_is_refused_and_nothing_changes(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    cases.change_stage(w.caseworker, case, "shelter", None)
    db.session.commit()
    with pytest.raises(cases.CaseError, match="cannot move from this stage to that one"):
        cases.change_stage(w.caseworker, case, "reintegration", None)
    db.session.rollback()
    assert db.session.get(Case, case.id).stage == "shelter"


def test_the_stage_change_event_says_whether_a_reason_was_given_never_what(app, ctx):
    w = factories.world()
    case = factories.case(w.caseworker)
    cases.change_stage(w.caseworker, case, "shelter", "Her employer found the old flat.")
    db.session.commit()
    details = db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "case.stage_change")).one()
    assert details == '{"from":"intake","reason_given":true,"to":"shelter"}'


def test_the_case_page_lists_the_next_stages_and_what_is_needed(app, web, w):
    with app.app_context():
        case = factories.case(w.caseworker)
        case_id = case.id
        refusals = {s: stages.refusal(case, s) for s in stages.allowed_next(case.stage)}
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    section = page.split("Move to another stage")[1].split("Stage history")[0]
    assert refusals["closed"] and refusals["shelter"] is None
    for stage, refusal in refusals.items():
        offered = f'<option value="{stage}">' in section
        # A stage a guard would refuse is not offered; its reason is listed instead (closure links to its request).
        assert offered is (refusal is None), stage
        if refusal and stage != "closed":
            assert refusal.replace("'", "&#39;") in section
    assert "Request closure" in section and f'href="/cases/{case_id}/closure"' in section
    web.logout()
    web.login("hotline")  # may not change stages: no form at all
    assert "Move to another stage" not in web.get(f"/cases/{case_id}").get_data(as_text=True)
