"""The scope of each access level (casemgmt/access/scope.py, docs/access.md), walked action by action on real objects.

One case of the Casa Esperanza NGO, opened by its hotline operator and assigned to its caseworker, is referred to the
IOM mission, whose caseworker accepted; its transfer to the Camino Seguro NGO, approved by Casa Esperanza's supervisor,
waits for Camino Seguro's answer. Every row of the table is checked for every level: the policy must answer exactly
what the table says, on a real task, screening, consent record, document, return plan, closure request...
Then the same through the pages: the mission's staff cannot touch the NGO's tasks or see its screenings, and a
second caseworker of the mission (not the one who accepted) cannot open, list or search the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.access.scope import (
    LEVEL_KEYS,
    REFERRAL_LEVELS,
    REFERRAL_SCOPE,
    REVIEW_LEVELS,
    REVIEW_SCOPE,
    SUBJECTS,
    TABLE,
    render_markdown,
)
from casemgmt.accounts.models import User
from casemgmt.bestinterests.models import BestInterestsDetermination, PanelMember
from casemgmt.cases import queries as case_queries
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.models import ConsentRecord
from casemgmt.core.time import utcnow
from casemgmt.counseling.models import CounselingSession
from casemgmt.documents.models import Document
from casemgmt.extensions import db
from casemgmt.families.models import FamilyMember, TracingRequest
from casemgmt.fund.models import FundRequest
from casemgmt.intake import operations as intake
from casemgmt.intake.models import Contact
from casemgmt.journey import operations as journey
from casemgmt.journey import queries as journey_queries
from casemgmt.programmes.models import BudgetLine, Donor, Project, ProjectOrganisation
from casemgmt.referrals import operations as referrals
from casemgmt.reintegration.models import MonitoringVisit, ReintegrationPlan, ServiceDelivered
from casemgmt.returns import operations as returns
from casemgmt.shelter.models import Placement
from casemgmt.tasks import operations as tasks
from casemgmt.tasks import worklist as task_worklist
from casemgmt.tasks.models import Task
from tests import factories
from tests.conftest import signed_in
from tests.shelter.support import facility

TODAY = date.today()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "access.md"

USERNAMES = {
    "hotline": ("a", "hotline_operator"), "caseworker": ("a", "caseworker"), "caseworker_other": ("a", "caseworker"),
    "mission": ("a", "mission_staff"), "supervisor": ("a", "supervisor"), "administrator": ("a", "administrator"),
    "ref_mission": ("b", "mission_staff"), "ref_supervisor": ("b", "supervisor"),
    "ref_caseworker": ("b", "caseworker"), "ref_other": ("b", "caseworker"),
    "rev_supervisor": ("c", "supervisor"), "rev_mission": ("c", "mission_staff"),
    "install_admin": ("installation", "installation_admin"),
    "finance": ("a", "finance_officer"),
}


@dataclass
class Scene:
    owner: object           # the NGO that owns the case
    receiver: object        # the IOM mission it was referred to
    taker: object           # the NGO its transfer waits for
    users: dict             # level -> User (the username is the level's key)
    case: Case
    subjects: dict          # subject -> the object a row is checked on


def _consent(case: Case, actor) -> ConsentRecord:
    record = ConsentRecord(
        id=new_uuid(), case_id=case.id, obtained_on=TODAY, obtained_by_id=actor.id, language="es",
        point_interview=True, consents_to_share=True, consents_to_return=True,
    )
    db.session.add(record)
    db.session.flush()
    return record


def build_scene() -> Scene:
    """Call inside an app (and request) context; everything is committed."""
    owner = factories.organisation("Casa Esperanza", "NGO", "PE")
    receiver = factories.organisation("IOM Haiti", "Intergovernmental", "HT")
    taker = factories.organisation("Camino Seguro", "NGO", "CO")
    orgs = {"a": owner, "b": receiver, "c": taker,
            "installation": factories.organisation("Installation", "NGO", "PE")}
    users = {level: factories.user(orgs[org], role, level.replace("_", "")) for level, (org, role) in USERNAMES.items()}
    u = users
    case = factories.case(u["hotline"])
    case.assigned_to_id = u["caseworker"].id
    consent = _consent(case, u["caseworker"])
    db.session.commit()

    # The NGO's things about the case, made before the referral.
    contact = Contact(id=new_uuid(), organisation_id=owner.id, taken_by_id=u["hotline"].id, occurred_at=utcnow(),
                      channel="phone", call_type="tip", case_id=case.id, linked_as="opened")
    db.session.add(contact)
    intake.record_screening(u["caseworker"], case, {
        "screened_on": TODAY, "consent": consent.id, "finding": "ActualVictimOfTrafficking", "decided_by": "NGO",
        "notes": "Interview held in Tacna.",
    })
    session = CounselingSession(id=new_uuid(), case_id=case.id, session_type="psychosocial", provider="Casa",
                                held_on=TODAY, duration_minutes=50, author_id=u["caseworker"].id)
    document = Document(id=new_uuid(), case_id=case.id, kind="other", content_type="application/pdf", size=10,
                        uploaded_by_id=u["caseworker"].id)
    db.session.add_all([session, document])
    sending_task = tasks.create_task(u["caseworker"], case, {"title": "Call the consulate", "due_on": TODAY})
    referral = referrals.create_referral(u["caseworker"], case, receiver.id, "MigrationOrChangeOfLocation")
    db.session.commit()
    referrals.accept_referral(u["ref_caseworker"], referral)
    db.session.commit()
    # The mission already works on the case: naming it on the return plan sends no second hand-off.
    plan = returns.create_plan(u["caseworker"], case, {"receiving_organisation_id": receiver.id,
                                                      "destination_country": "HT"})
    # A plan waiting for approval; submitting an incomplete one is refused, so the status is set (the scope is tested).
    plan.status, plan.submitted_by_id, plan.submitted_at = "submitted", u["caseworker"].id, utcnow()
    closure = journey.request_closure(u["caseworker"], case, "completed", "Assistance completed.")
    db.session.commit()
    shelter = facility(u["supervisor"])
    # Recorded facts that can be corrected (issue 12, item 6): a placement and a visit the NGO's caseworker made, and
    # a service the mission's staff recorded through the referral.
    placement = Placement(id=new_uuid(), case_id=case.id, facility_id=shelter.id, admitted_on=TODAY,
                          created_by_id=u["caseworker"].id)
    reintegration = ReintegrationPlan(id=new_uuid(), case_id=case.id, created_on=TODAY,
                                      responsible_organisation_id=receiver.id, created_by_id=u["ref_mission"].id)
    service = ServiceDelivered(id=new_uuid(), plan_id=reintegration.id, case_id=case.id, service_type="Health",
                               provider="Clinique Saint-Luc", amount=Decimal("40.00"), currency="USD",
                               delivered_on=TODAY, recorded_by_id=u["ref_mission"].id)
    visit = MonitoringVisit(id=new_uuid(), case_id=case.id, visited_on=TODAY, visited_by_id=u["caseworker"].id,
                            economic_score=3, social_score=3, psychosocial_score=3, recorded_by_id=u["caseworker"].id)
    db.session.add_all([placement, reintegration])
    db.session.flush()
    db.session.add_all([service, visit])
    db.session.commit()

    transfer = referrals.request_transfer(u["caseworker"], case, taker.id, "She moves to Bogotá.")
    db.session.commit()
    referrals.approve_transfer(u["supervisor"], transfer)
    # Another case of the NGO, referred to the mission and not answered yet.
    other = factories.case(u["caseworker"])
    _consent(other, u["caseworker"])
    pending = referrals.create_referral(u["caseworker"], other, receiver.id, "AdditionalServicesRequired")
    db.session.commit()
    # The mission's own task on the shared case, for its mission staff.
    receiving_task = tasks.create_task(u["ref_supervisor"], case, {
        "title": "Meet at the airport", "due_on": TODAY, "assignee_id": u["ref_mission"].id})
    db.session.commit()
    # A project the NGO leads with the mission, and a fund request its caseworker made on the case, waiting.
    donor = Donor(organisation_id=owner.id, name="Bureau of Population, Refugees, and Migration", kind="government")
    db.session.add(donor)
    db.session.flush()
    project = Project(organisation_id=owner.id, donor_id=donor.id, code="PRM-01", title="Return and reintegration",
                      starts_on=TODAY, ends_on=TODAY, currency="USD", single_approval_limit=Decimal("500"),
                      created_by_id=u["supervisor"].id)
    project.implementers = [ProjectOrganisation(organisation_id=owner.id),
                            ProjectOrganisation(organisation_id=receiver.id)]
    line = BudgetLine(name="Medical care", category="medical", amount=Decimal("1000"))
    project.lines = [line]
    db.session.add(project)
    db.session.flush()
    fund_request = FundRequest(case_id=case.id, organisation_id=owner.id, project_id=project.id,
                               budget_line_id=line.id, category="medical", amount=Decimal("40"), currency="USD",
                               project_amount=Decimal("40"), payee_kind="clinic", requested_by_id=u["caseworker"].id)
    db.session.add(fund_request)
    db.session.commit()
    # Children and families (issue 15): a family member and a tracing request for her, and a determination waiting
    # for a panel that names every user of the table (so the table tests who may sign, not who was named).
    member = FamilyMember(id=new_uuid(), case_id=case.id, relationship_code="mother", country="HT",
                          created_by_id=u["caseworker"].id)
    db.session.add(member)
    db.session.flush()
    tracing_request = TracingRequest(id=new_uuid(), case_id=case.id, organisation_id=owner.id,
                                     family_member_id=member.id, reason="separated", opened_on=TODAY,
                                     opened_by_id=u["caseworker"].id)
    determination = BestInterestsDetermination(id=new_uuid(), case_id=case.id, organisation_id=owner.id,
                                               decision="return", recommendation="return_to_family",
                                               proposed_by_id=u["caseworker"].id)
    determination.panel = [PanelMember(id=new_uuid(), case_id=case.id, user_id=user.id, position=i)
                           for i, user in enumerate(users.values())]
    db.session.add_all([tracing_request, determination])
    db.session.commit()
    subjects = {
        "family_member": member, "tracing_request": tracing_request, "determination": determination,
        "project": project, "fund_request": fund_request,
        "none": None, "org": owner, "facility": shelter, "contact": contact, "pending_referral": pending,
        "case": case, "listed": case, "found": case, "consent": consent, "session": session, "return_plan": plan,
        "sending_task": sending_task, "receiving_task": receiving_task, "referral": referral, "transfer": transfer,
        "document": document, "closure": closure, "placement": placement, "service": service, "visit": visit,
    }
    return Scene(owner=owner, receiver=receiver, taker=taker, users=users, case=case, subjects=subjects)


def _listed(user, case) -> bool:
    if not allowed(user, Action.CASE_LIST):
        return False
    page = case_queries.case_list_page(user, case_queries.CaseFilters(), per_page=100)
    return case.id in {c.id for c in page.items}


def _found(user, case) -> bool:
    if not allowed(user, Action.CASE_SEARCH):
        return False
    results = case_queries.search_cases(user, "PE-1234567")
    return case.id in {hit.case.id for hit in results.hits}


def outcome(row, user, scene: Scene) -> bool:
    """What the user gets for this row: the policy's answer on the row's object (or the list, or the search)."""
    if row.subject == "listed":
        return _listed(user, scene.case)
    if row.subject == "found":
        return _found(user, scene.case)
    return allowed(user, Action(row.action), scene.subjects[row.subject])


@pytest.fixture
def scene(ctx) -> Scene:
    return build_scene()


def test_every_action_has_a_row_and_every_row_a_known_subject():
    assert {r.action for r in TABLE} == {str(a) for a in Action}
    assert all(r.subject in SUBJECTS for r in TABLE)


def test_each_level_is_allowed_exactly_what_the_table_says(scene):
    wrong = []
    for row in TABLE:
        for level in LEVEL_KEYS:
            got = outcome(row, scene.users[level], scene)
            if got != row.allow[level]:
                wrong.append(f"{row.action} on {row.subject} for {level}: table says {row.allow[level]}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_a_referral_reaches_identity_consent_documents_return_and_reintegration_only():
    assert {
        "case.view", "case.view_identity", "case.list", "case.search", "case.access_log", "timeline.view",
        "consent.record", "consent.view", "document.upload", "document.download", "return.view", "return.manage",
        "reintegration.manage", "task.manage", "case.follow_event",
    } <= REFERRAL_SCOPE
    # Whatever else it reaches is reintegration's (correcting services and visits the receiving organisation made),
    # or the receiving organisation's own projects and fund: it enrols the case in them and asks its fund (issue 14),
    # or the family: it traces the family in the country of origin and visits it (issue 15). Never the child's
    # best-interests records, and never the family records' editing.
    assert all(a.startswith("reintegration.") for a in REFERRAL_SCOPE - {
        "case.view", "case.view_identity", "case.list", "case.search", "case.access_log", "timeline.view",
        "consent.record", "consent.view", "document.upload", "document.download", "return.view", "return.manage",
        "task.manage", "case.follow_event", "enrolment.manage", "fund.request", "family.view", "tracing.manage"}), \
        REFERRAL_SCOPE
    assert not {a for a in REFERRAL_SCOPE if a.startswith(("bestinterests.", "residence."))} | (
        {"family.manage"} & REFERRAL_SCOPE)
    for row in TABLE:
        if row.action.startswith(("screening.", "counseling.", "placement.", "closure.", "transfer.")) or \
                row.action in ("case.edit", "case.change_stage", "case.erase", "return.approve"):
            assert not any(row.allow[level] for level in REFERRAL_LEVELS), row.action


def test_a_review_reads_what_the_decision_on_a_transfer_needs_and_changes_nothing():
    assert {"case.view", "case.view_identity", "consent.view", "return.view", "document.download",
                            "timeline.view", "transfer.accept"} == REVIEW_SCOPE
    for row in TABLE:
        if row.action not in REVIEW_SCOPE and row.about_case:
            assert not any(row.allow[level] for level in REVIEW_LEVELS), row.action
    # Only supervisors hold a review grant: the receiving organisation's mission staff reach nothing of the case.
    assert not any(row.allow["rev_mission"] for row in TABLE if row.about_case)


def test_docs_access_md_is_rendered_from_the_table():
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/access.md is out of date: python -m casemgmt.access.scope > docs/access.md")


def test_the_sending_organisations_task_is_not_the_receivers_but_their_own_is(scene):
    sending, receiving = scene.subjects["sending_task"], scene.subjects["receiving_task"]
    mission = scene.users["ref_mission"]
    assert receiving.organisation_id == scene.receiver.id and sending.organisation_id == scene.owner.id
    for verb in (tasks.complete_task, lambda a, t: tasks.update_task(a, t, {"title": "Changed"})):
        with pytest.raises(Exception) as refused:
            verb(mission, sending)
        assert getattr(refused.value, "code", None) == 403
        db.session.rollback()
    tasks.complete_task(mission, receiving)
    tasks.reopen_task(mission, receiving)
    db.session.commit()
    # The case's task list: the mission sees its own task only; the NGO sees both, and may act on its own only.
    from casemgmt.tasks import queries as task_queries

    assert [t.title for t in task_queries.case_tasks(mission, scene.case)] == ["Meet at the airport"]
    ngo = scene.users["caseworker"]
    shown = task_queries.case_tasks(ngo, scene.case)
    assert {t.title for t in shown} == {"Call the consulate", "Meet at the airport"}
    assert task_queries.manageable(ngo, shown) == {sending.id}


def test_timeline_entries_through_a_referral_follow_the_scope(scene):
    kinds_for = {level: {e.kind for e in journey_queries.timeline(scene.users[level], scene.case)}
                 for level in ("supervisor", "ref_mission", "ref_supervisor", "ref_caseworker", "ref_other")}
    assert {"screening", "task", "closure", "return", "referral", "stage"} <= kinds_for["supervisor"]
    for level in ("ref_mission", "ref_supervisor", "ref_caseworker"):
        assert "screening" not in kinds_for[level] and "closure" not in kinds_for[level], level
        assert {"return", "referral", "stage", "task"} <= kinds_for[level], level
    assert kinds_for["ref_other"] == set()
    titles = [e.title for e in journey_queries.timeline(scene.users["ref_mission"], scene.case)]
    assert "Task set: Meet at the airport" in titles and not any("Call the consulate" in t for t in titles)


def test_the_home_work_list_offers_only_tasks_the_user_may_still_act_on(scene):
    mission = scene.users["ref_mission"]
    assert [i.title for i in task_worklist.items(mission)] == [f"{scene.case.reference}: Meet at the airport"]
    referral = scene.subjects["referral"]
    referrals.revoke_referral(scene.users["supervisor"], referral)
    db.session.commit()
    # The referral revoked, the mission's task on the case is no longer theirs to act on: off the list.
    assert task_worklist.items(mission) == []
    assert not allowed(mission, Action.TASK_MANAGE, scene.subjects["receiving_task"])


# --- through the pages ------------------------------------------------------------------------------------------


@pytest.fixture
def ids(app):
    with app.test_request_context():
        s = build_scene()
        found = {
            "case": s.case.id, "sending_task": s.subjects["sending_task"].id,
            "receiving_task": s.subjects["receiving_task"].id, "reference": s.case.reference,
        }
        db.session.remove()
    return found




def _task(app, task_id: str) -> Task:
    with app.app_context():
        task = db.session.get(Task, task_id)
        db.session.expunge(task)
        return task


def test_receiving_mission_staff_cannot_open_edit_complete_or_reopen_the_senders_task(app, ids):
    web = signed_in(app, "refmission")
    sending = ids["sending_task"]
    before = _task(app, sending)
    assert web.get(f"/tasks/{sending}/edit").status_code == 403
    assert web.post(f"/tasks/{sending}/edit", {"title": "Hijacked", "due_on": str(TODAY), "priority": "normal",
                                               "assignee_id": ""}).status_code == 403
    assert web.post(f"/tasks/{sending}/complete", {}).status_code == 403
    with app.app_context():
        row = db.session.get(Task, sending)
        row.done_at = utcnow()  # done by the NGO, so that reopening it is a real change
        db.session.commit()
    assert web.post(f"/tasks/{sending}/reopen", {}).status_code == 403
    after = _task(app, sending)
    assert (after.title, after.updated_at) == (before.title, before.updated_at) and after.done_at is not None
    # The shared case's task page lists the mission's own task, with its buttons, and nothing of the NGO's.
    page = web.get(f"/cases/{ids['case']}/tasks").get_data(as_text=True)
    assert "Meet at the airport" in page and "Call the consulate" not in page
    assert f"/tasks/{ids['receiving_task']}/edit" in page and f"/tasks/{sending}/" not in page
    assert web.post(f"/tasks/{ids['receiving_task']}/complete", {}).status_code == 302
    assert _task(app, ids["receiving_task"]).done_at is not None


def test_my_tasks_offers_no_buttons_or_case_link_once_the_referral_is_revoked(app, ids):
    mission = signed_in(app, "refmission")
    task_id, case_id = ids["receiving_task"], ids["case"]
    mine = mission.get("/tasks/").get_data(as_text=True)
    assert f"/tasks/{task_id}/complete" in mine and f"/cases/{case_id}/tasks" in mine
    with app.test_request_context():
        from casemgmt.referrals.models import Referral

        referral = db.session.scalar(select(Referral).where(Referral.case_id == case_id,
                                                            Referral.status == "accepted"))
        referrals.revoke_referral(db.session.scalar(select(User).where(User.username == "supervisor")), referral)
        db.session.commit()
    mine = mission.get("/tasks/").get_data(as_text=True)
    assert "Meet at the airport" in mine and ids["reference"] in mine
    assert f"/tasks/{task_id}/" not in mine and f"/cases/{case_id}/" not in mine
    assert mission.post(f"/tasks/{task_id}/complete", {}).status_code == 404
    assert f"/tasks/{task_id}" not in mission.get("/").get_data(as_text=True)


def test_the_owner_sees_the_receivers_task_without_buttons_for_it(app, ids):
    page = signed_in(app, "caseworker").get(f"/cases/{ids['case']}/tasks").get_data(as_text=True)
    assert "Meet at the airport" in page and "Call the consulate" in page
    assert f"/tasks/{ids['sending_task']}/edit" in page and f"/tasks/{ids['receiving_task']}/" not in page


def test_receiving_users_see_no_screening_on_any_page(app, ids):
    case_id = ids["case"]
    for username in ("refmission", "refsupervisor", "refcaseworker"):
        web = signed_in(app, username)
        contacts = web.get(f"/cases/{case_id}/contacts")
        timeline = web.get(f"/cases/{case_id}/timeline")
        assert contacts.status_code == 200 and timeline.status_code == 200, username
        for html in (contacts.get_data(as_text=True), timeline.get_data(as_text=True)):
            assert "Victim of trafficking" not in html and "Screening" not in html and "Tacna" not in html, username
        assert web.get(f"/cases/{case_id}/screening/new").status_code == 403
    owner = signed_in(app, "caseworker").get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    assert "Screening: Victim of trafficking" in owner


def test_a_second_caseworker_of_the_receiving_organisation_cannot_open_list_or_search_the_case(app, ids):
    case_id = ids["case"]
    accepted = signed_in(app, "refcaseworker")
    other = signed_in(app, "refother")
    assert accepted.get(f"/cases/{case_id}").status_code == 200
    assert ids["reference"] in accepted.get("/cases/").get_data(as_text=True)
    for path in ("", "/timeline", "/tasks", "/return", "/consent", "/documents", "/referrals", "/contacts"):
        assert other.get(f"/cases/{case_id}{path}").status_code == 404, path
    listing = other.get("/cases/").get_data(as_text=True)
    assert ids["reference"] not in listing and "0 cases" in listing
    search = {"term": "PE-1234567"}
    assert ids["reference"] in accepted.post("/cases/search", search, token_page="/cases/search").get_data(
        as_text=True)
    found = other.post("/cases/search", search, token_page="/cases/search")
    assert found.status_code == 200 and ids["reference"] not in found.get_data(as_text=True)
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == "refother"))
        assert case_queries.case_list_page(user, case_queries.CaseFilters(), per_page=10).total == 0
        assert journey_queries.my_cases(user) == ([], 0)
    assert _task(app, ids["receiving_task"]).done_at is None


@pytest.mark.parametrize("username", ["refmission", "refsupervisor", "refcaseworker"])
def test_receiving_users_cannot_edit_the_core_record_or_reach_counseling(app, ids, username):
    web = signed_in(app, username)
    case_id = ids["case"]
    assert web.get(f"/cases/{case_id}/edit").status_code == 403
    assert web.get(f"/cases/{case_id}/counseling").status_code == 403
    assert web.get(f"/cases/{case_id}/shelter").status_code == 403
    assert web.get(f"/cases/{case_id}/closure").status_code == 403


def test_a_case_not_yet_referred_is_out_of_the_receiving_organisations_reach(ctx):
    owner = factories.organisation("Casa Esperanza", "NGO", "PE")
    receiver = factories.organisation("IOM Haiti", "Intergovernmental", "HT")
    case = factories.case(factories.user(owner, "caseworker"))
    for role in ("mission_staff", "supervisor", "caseworker"):
        user = factories.user(receiver, role)
        assert not allowed(user, Action.CASE_VIEW, case) and not _listed(user, case), role
