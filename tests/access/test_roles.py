"""Who may see which case (ASVS 4.2.1): the policy table, then the same rules through the pages."""

from __future__ import annotations

import pytest

from casemgmt.access import Action, allowed
from casemgmt.access.roles import Role
from casemgmt.cases import operations
from casemgmt.extensions import db
from tests.auth.support import events, new_web

T, F = True, False
ROLES = ("hotline", "caseworker", "mission", "supervisor", "admin")
# The coarse answer (no object yet), per role in ROLES order.
COARSE = {
    Action.CASE_LIST: (T, T, T, T, F),
    Action.CASE_CREATE: (T, T, T, T, F),
    Action.CASE_VIEW: (T, T, T, T, F),
    Action.CASE_VIEW_IDENTITY: (T, T, T, T, F),
    Action.CASE_EDIT: (T, T, T, T, F),
    Action.CASE_CHANGE_STAGE: (F, T, T, T, F),
    Action.CASE_FOLLOW_EVENT: (F, T, T, T, F),
    Action.CASE_ASSIGN: (F, F, F, T, F),
    Action.CASE_SEARCH: (T, T, T, T, F),
    Action.CASE_ACCESS_LOG: (F, F, F, T, F),
    Action.CASE_ERASE: (F, F, F, T, F),
    Action.AUDIT_VIEW: (F, F, F, T, T),
    Action.USERS_LIST: (F, F, F, F, T),
    Action.USERS_MANAGE: (F, F, F, F, T),
    Action.USERS_BOOTSTRAP: (F, F, F, F, F),  # the operator at the shell only
    Action.ACCOUNTS_APPROVE: (F, F, F, T, F),
    Action.ACCOUNTS_HISTORY: (F, F, F, T, F),
    # Organisations and keys are the installation administrator's (tests/admin/test_separation_of_duties.py).
    Action.ORGS_MANAGE: (F, F, F, F, F),
    Action.KEYS_MANAGE: (F, F, F, F, F),
    Action.ACCOUNT_SELF: (T, T, T, T, T),
    Action.HOME: (T, T, T, T, T),
    # The journey
    Action.CONTACT_LOG: (T, T, T, T, F),
    Action.CONTACT_VIEW: (T, T, T, T, F),
    # Corrections and deletions (issue 12, item 6): the object says whose record it is.
    Action.CONTACT_CORRECT: (T, T, T, T, F),
    Action.CONTACT_DELETE: (T, T, T, T, F),
    Action.SCREENING_RECORD: (T, T, T, T, F),
    Action.SCREENING_VIEW: (T, T, T, T, F),
    Action.CONSENT_RECORD: (T, T, T, T, F),
    Action.CONSENT_VIEW: (T, T, T, T, F),
    Action.FACILITY_MANAGE: (F, F, F, T, F),
    Action.FACILITY_VIEW: (F, T, F, T, F),
    Action.PLACEMENT_MANAGE: (F, T, F, T, F),
    Action.PLACEMENT_CORRECT: (F, T, F, T, F),
    Action.PLACEMENT_DELETE: (F, T, F, T, F),
    Action.COUNSELING_RECORD: (F, T, F, T, F),
    Action.COUNSELING_VIEW: (F, T, T, T, F),
    Action.COUNSELING_READ_NOTES: (F, T, F, T, F),
    Action.COUNSELING_CORRECT: (F, T, F, T, F),
    Action.COUNSELING_DELETE: (F, T, F, T, F),
    Action.RETURN_VIEW: (F, T, T, T, F),
    Action.RETURN_MANAGE: (F, T, T, T, F),
    Action.RETURN_APPROVE: (F, F, F, T, F),
    Action.REINTEGRATION_MANAGE: (F, T, T, T, F),
    Action.SERVICE_CORRECT: (F, T, T, T, F),
    Action.SERVICE_DELETE: (F, T, T, T, F),
    Action.VISIT_CORRECT: (F, T, T, T, F),
    Action.VISIT_DELETE: (F, T, T, T, F),
    Action.TASK_MANAGE: (T, T, T, T, F),
    Action.REFERRAL_CREATE: (F, T, T, T, F),
    Action.REFERRAL_RESPOND: (F, T, T, T, F),
    Action.REFERRAL_REVOKE: (F, T, T, T, F),
    Action.REFERRAL_LIST: (F, T, T, T, F),
    Action.TRANSFER_REQUEST: (F, T, T, T, F),
    Action.TRANSFER_APPROVE: (F, F, F, T, F),
    Action.TRANSFER_ACCEPT: (F, F, F, T, F),  # a supervisor of the receiving organisation
    Action.DOCUMENT_UPLOAD: (F, T, T, T, F),
    Action.DOCUMENT_DOWNLOAD: (F, T, T, T, F),
    Action.CLOSURE_APPROVE: (F, F, F, T, F),
    Action.CLOSURE_WITHDRAW: (F, T, T, T, F),  # those who may request a closure; the object says whose it is
    Action.TIMELINE_VIEW: (T, T, T, T, F),
    # Reports: supervisors, for their own organisation
    Action.REPORT_VIEW: (F, F, F, T, F),
    Action.EXPORT_CASELOAD: (F, F, F, T, F),
    Action.EXPORT_IDENTIFIED: (F, F, F, F, F),  # needs the grant as well (tests/admin/test_export_grant.py)
    Action.EXPORT_DEIDENTIFIED: (F, F, F, T, F),
    # Projects and the emergency fund (issue 14); the finance officer's column is tests/fund's and access/scope.py's.
    Action.PROJECT_VIEW: (F, F, F, T, F),
    Action.PROJECT_MANAGE: (F, F, F, T, F),
    Action.RATES_MANAGE: (F, F, F, T, F),
    Action.ENROLMENT_MANAGE: (F, T, T, T, F),
    Action.FUND_REQUEST: (F, T, T, T, F),
    Action.FUND_LIST: (F, T, T, T, F),
    Action.FUND_VIEW: (F, T, T, T, F),
    Action.FUND_APPROVE: (F, F, F, T, F),
    Action.FUND_DISBURSE: (F, F, F, T, F),
    Action.FUND_CANCEL: (F, T, T, T, F),
    Action.FUND_CORRECT: (F, T, T, T, F),
    # Children and families (issue 15)
    Action.FAMILY_VIEW: (F, T, T, T, F),
    Action.FAMILY_MANAGE: (F, T, T, T, F),
    Action.TRACING_MANAGE: (F, T, T, T, F),
    Action.BEST_INTERESTS_VIEW: (F, T, T, T, F),
    Action.BEST_INTERESTS_RECORD: (F, T, T, T, F),
    Action.BID_SIGN: (F, T, T, T, F),
    Action.RESIDENCE_VIEW: (F, T, T, T, F),
    Action.RESIDENCE_MANAGE: (F, T, T, T, F),
}


def test_reports_cover_the_supervisors_own_organisation_only(ctx, world):
    from casemgmt.accounts.models import Organisation

    world.supervisor.may_export_identified = True
    for action in (Action.REPORT_VIEW, Action.EXPORT_CASELOAD, Action.EXPORT_IDENTIFIED, Action.EXPORT_DEIDENTIFIED):
        assert allowed(world.supervisor, action, db.session.get(Organisation, world.supervisor.organisation_id))
        assert not allowed(world.supervisor, action, db.session.get(Organisation, world.supervisor2.organisation_id))
    world.caseworker.may_export_identified = True  # a stray grant does nothing without the role
    assert not allowed(world.caseworker, Action.EXPORT_IDENTIFIED)


def test_the_coarse_policy_table(ctx, world):
    assert set(COARSE) == set(Action)
    for action, expected in COARSE.items():
        for username, want in zip(ROLES, expected, strict=True):
            assert allowed(getattr(world, username), action) is want, (username, action)


# Per-case answers: (user, case attribute) -> may view, may edit, may change stage, may see the access log.
PER_CASE = [
    ("caseworker", "by_caseworker", (T, T, T, F)),
    ("caseworker_b", "by_caseworker", (F, F, F, F)),
    ("caseworker2", "by_caseworker", (F, F, F, F)),
    ("supervisor", "by_caseworker", (T, T, T, T)),
    ("supervisor", "by_hotline", (T, T, T, T)),
    ("supervisor2", "by_caseworker", (F, F, F, F)),
    ("hotline", "by_hotline", (T, T, F, F)),
    ("hotline", "by_caseworker", (F, F, F, F)),
    ("mission", "by_caseworker", (F, F, F, F)),
    ("mission", "mission", (T, T, T, F)),
    ("admin", "by_caseworker", (F, F, F, F)),
    ("admin", "by_hotline", (F, F, F, F)),
]


def test_the_per_case_policy_table(ctx, world, cases):
    actions = (Action.CASE_VIEW, Action.CASE_EDIT, Action.CASE_CHANGE_STAGE, Action.CASE_ACCESS_LOG)
    for username, which, expected in PER_CASE:
        user, case = getattr(world, username), getattr(cases, which)
        assert tuple(allowed(user, a, case) for a in actions) == expected, (username, which)
        assert allowed(user, Action.CASE_VIEW_IDENTITY, case) is expected[0], (username, which)


def test_an_erased_case_is_out_of_everyones_scope(ctx, world, cases):
    operations.erase_case(world.supervisor, cases.by_caseworker)
    db.session.commit()
    for user in (world.supervisor, world.caseworker):
        assert not allowed(user, Action.CASE_VIEW, cases.by_caseworker)


# --- through the pages ------------------------------------------------------------------------------------------

def _as(app, username):
    web = new_web(app)
    assert web.login(username).status_code == 302
    return web


def _case_urls(case) -> dict[str, str]:
    return {
        "view": f"/cases/{case.id}",
        "edit": f"/cases/{case.id}/edit",
        "access-log": f"/cases/{case.id}/access-log",
    }


def _stage(web, case, to="shelter"):
    return web.post(f"/cases/{case.id}/stage", {"to_stage": to, "reason": ""}, token_page="/account")


def test_administrator_cannot_list_view_search_or_create_cases(app, world, cases):
    web = _as(app, "admin")
    for url in ("/cases/", "/cases/search", "/cases/new", *_case_urls(cases.by_caseworker).values(),
                *_case_urls(cases.other_ngo).values()):
        assert web.get(url).status_code == 403, url
    assert web.post("/cases/search", {"term": "María José Quispe Mamani"}).status_code == 403
    assert _stage(web, cases.by_caseworker).status_code == 403
    assert web.get("/").headers["Location"] == "/admin/users"


def test_administrator_sees_no_case_contents_anywhere(app, world, cases):
    web = _as(app, "admin")
    secrets_of_cases = ("María", "Quispe", "Majo", "PE-1234567", "987 654", "Puno", "textile", "Rosa", "Huamán")
    from tests.auth.support import dummy_url, rules

    for rule in rules(app, "GET"):
        if rule.endpoint.endswith("static") or rule.endpoint.startswith("cases."):
            continue
        url = dummy_url(app, rule)
        if "user_id" in rule.arguments:
            url = f"/admin/users/{world.caseworker.id}"
        html = web.get(url, follow_redirects=True).get_data(as_text=True)
        for secret in secrets_of_cases:
            assert secret not in html, (url, secret)


NOWHERE = "00000000-0000-4000-8000-000000000000"


def test_caseworker_of_another_ngo_gets_404_everywhere(app, world, cases):
    web = _as(app, "caseworker2")
    for name in ("view", "edit"):
        response = web.get(_case_urls(cases.by_caseworker)[name])
        assert response.status_code == 404, name
        assert "Quispe" not in response.get_data(as_text=True)
    # Caseworkers may see no access log at all, so the answer is 403 before any case is looked up: the same for a
    # case that exists elsewhere and one that does not exist, so nothing is disclosed.
    assert web.get(f"/cases/{cases.by_caseworker.id}/access-log").status_code == 403
    assert web.get(f"/cases/{NOWHERE}/access-log").status_code == 403
    supervisor = _as(app, "supervisor2")
    for name, url in _case_urls(cases.by_caseworker).items():
        assert supervisor.get(url).status_code == 404, name
    assert _stage(supervisor, cases.by_caseworker).status_code == 404
    assert _stage(web, cases.by_caseworker).status_code == 404
    assert web.post(f"/cases/{cases.by_caseworker.id}/edit", {"given_name": "Changed"}).status_code == 404
    # Indistinguishable from a case that does not exist.
    assert web.get(f"/cases/{NOWHERE}").status_code == 404
    db.session.refresh(cases.by_caseworker)
    assert cases.by_caseworker.stage == "intake"


def test_same_org_caseworker_not_assigned_gets_403(app, world, cases):
    web = _as(app, "caseworkerb")
    for name, url in _case_urls(cases.by_caseworker).items():
        assert web.get(url).status_code == 403, name
    assert _stage(web, cases.by_caseworker).status_code == 403
    assert web.post(f"/cases/{cases.by_caseworker.id}/edit", {"given_name": "Changed"}).status_code == 403
    db.session.refresh(cases.by_caseworker)
    assert cases.by_caseworker.stage == "intake"


def test_assigned_caseworker_may_work_on_the_case(app, world, cases):
    web = _as(app, "caseworker")
    assert web.get(f"/cases/{cases.by_caseworker.id}").status_code == 200
    assert web.get(f"/cases/{cases.by_caseworker.id}/edit").status_code == 200
    assert web.get(f"/cases/{cases.by_caseworker.id}/access-log").status_code == 403  # supervisors only
    assert _stage(web, cases.by_caseworker).status_code == 302
    db.session.refresh(cases.by_caseworker)
    assert cases.by_caseworker.stage == "shelter"


def test_hotline_operator_sees_only_own_cases_and_loses_edit_after_intake(app, world, cases):
    web = _as(app, "hotline")
    listing = web.get("/cases/").get_data(as_text=True)
    assert cases.by_hotline.reference in listing
    assert cases.by_caseworker.reference not in listing
    assert web.get(f"/cases/{cases.by_caseworker.id}").status_code == 403
    assert web.get(f"/cases/{cases.by_hotline.id}/edit").status_code == 200
    assert _stage(web, cases.by_hotline).status_code == 403  # hotline records intake only
    supervisor = _as(app, "supervisor")
    assert _stage(supervisor, cases.by_hotline).status_code == 302
    db.session.refresh(cases.by_hotline)
    assert cases.by_hotline.stage == "shelter"
    assert web.get(f"/cases/{cases.by_hotline.id}").status_code == 200
    assert web.get(f"/cases/{cases.by_hotline.id}/edit").status_code == 403
    posted = web.post(f"/cases/{cases.by_hotline.id}/edit", {"given_name": "Changed", "family_name": "X",
                                                              "status": "Active", "version": "2"})
    assert posted.status_code == 403
    db.session.refresh(cases.by_hotline)
    assert "Changed" not in str(operations.snapshot(cases.by_hotline)["given_name"])


def test_supervisor_sees_every_case_of_own_organisation_and_no_other(app, world, cases):
    web = _as(app, "supervisor")
    listing = web.get("/cases/").get_data(as_text=True)
    assert cases.by_caseworker.reference in listing and cases.by_hotline.reference in listing
    assert cases.other_ngo.reference not in listing and cases.mission.reference not in listing
    for case in (cases.by_caseworker, cases.by_hotline):
        for url in _case_urls(case).values():
            assert web.get(url).status_code == 200, url
    assert web.get(f"/cases/{cases.other_ngo.id}").status_code == 404


def test_mission_staff_cannot_see_the_ngos_cases(app, world, cases):
    web = _as(app, "mission")
    listing = web.get("/cases/").get_data(as_text=True)
    assert cases.mission.reference in listing
    for case in (cases.by_caseworker, cases.by_hotline, cases.other_ngo):
        assert case.reference not in listing
        assert web.get(f"/cases/{case.id}").status_code == 404


@pytest.mark.parametrize("username", ["caseworker2", "supervisor2", "mission", "hotline", "caseworkerb"])
def test_list_and_search_never_show_cases_out_of_scope(app, world, cases, username):
    web = _as(app, username)
    listing = web.get("/cases/").get_data(as_text=True)
    assert cases.by_caseworker.reference not in listing
    found = web.post("/cases/search", {"term": "María José Quispe Mamani"}, token_page="/cases/search")
    assert found.status_code == 200
    html = found.get_data(as_text=True)
    assert cases.by_caseworker.reference not in html
    found = web.post("/cases/search", {"term": "PE-1234567"}, token_page="/cases/search")
    assert cases.by_caseworker.reference not in found.get_data(as_text=True)
    if username in ("caseworker2", "supervisor2"):
        # Their own organisation's case with the same name and document is found; the first NGO's is not.
        assert cases.other_ngo.reference in html


def test_denied_access_is_audited(app, world, cases):
    _as(app, "caseworkerb").get(f"/cases/{cases.by_caseworker.id}")
    _as(app, "caseworker2").get(f"/cases/{cases.by_caseworker.id}")
    _as(app, "admin").get("/cases/")
    denied = events("access.denied")
    assert len(denied) == 3
    by_user = {e.actor_name: e for e in denied}
    assert by_user["caseworkerb"].case_id == cases.by_caseworker.id
    assert by_user["caseworkerb"].details == '{"action":"case.view"}'
    assert by_user["caseworker2"].case_id == cases.by_caseworker.id
    assert by_user["admin"].details == '{"action":"case.list"}'
    assert all(e.outcome == "denied" for e in denied)
    assert all(e.actor_role for e in denied)
    assert by_user["admin"].actor_role == Role.ADMIN


def test_non_admins_cannot_reach_the_admin_pages(app, world):
    for username in ("caseworker", "supervisor", "hotline", "mission"):
        web = _as(app, username)
        for url in ("/admin/users", "/admin/users/new", f"/admin/users/{world.caseworker.id}",
                    "/admin/organisations", "/admin/keys"):
            assert web.get(url).status_code == 403, (username, url)
