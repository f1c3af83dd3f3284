"""Finding 1 of issue 10: administrators could read cases after all, by creating an account anywhere with a
passphrase of their choosing, or by resetting someone's passphrase. Each test here failed before the fix.

The design (SECURITY.md, "Separation of duties"): an organisation's administrator manages their own organisation's
case-reading accounts only; the installation administrator creates organisations and their administrators and reads
no case; nobody chooses or learns another person's passphrase; a case-reading account, a role change into such a
role and a reset of such an account take effect when another supervisor of the organisation approves, and the link
goes to that supervisor."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound

from casemgmt.access import Action, allowed
from casemgmt.accounts import approvals
from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import User
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from tests import factories
from tests.admin.support import decide, link_on, links, pending, set_passphrase
from tests.auth.support import events, logged_in, new_web, user_row

CHOSEN = "amber-quarry-whistle-nectar-27"
MINE = "copper-lantern-saffron-orbit-93"


def _users() -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(User.username)))


def _hash(username: str) -> str:
    return user_row(username).password_hash


def test_an_administrator_cannot_create_an_account_in_another_organisation(admin, world):
    before = _users()
    # The request of the attack: another organisation, a supervisor, a passphrase of the administrator's choosing.
    response = admin.post("/admin/users/new", {
        "username": "mole", "display_name": "Mole", "organisation_id": str(world.ngo2.id), "role": "supervisor",
        "password": CHOSEN, "confirm": CHOSEN, "admin_password": factories.PASSWORD,
    }, token_page="/admin/users/new")
    assert response.status_code in (302, 403, 404, 422)
    mole = user_row("mole")
    # The organisation field is not on an administrator's form: at most an account in their own organisation,
    # waiting for one of its supervisors, with no passphrase anybody chose.
    assert mole is None or (mole.organisation_id == world.ngo.id and pending(mole.id) is not None)
    assert not {u.username for u in db.session.scalars(select(User).where(User.organisation_id == world.ngo2.id))
                } - before
    assert new_web(admin.client.application).login("mole", CHOSEN).status_code == 200  # refused
    # The operation refuses it whatever the form: another organisation answers 404, like its cases.
    with pytest.raises(NotFound):
        accounts.add_account(world.admin, "mole2", "Mole", world.ngo2.id, "supervisor")
    db.session.rollback()
    assert user_row("mole2") is None


def test_an_administrator_cannot_see_or_reset_another_organisations_user(admin, world):
    target = world.caseworker2
    before = _hash("caseworker2")
    assert admin.get(f"/admin/users/{target.id}").status_code == 404
    for path in ("reset", "password", "two-factor", "role", "disable"):
        response = admin.post(f"/admin/users/{target.id}/{path}",
                              {"admin_password": factories.PASSWORD, "password": CHOSEN, "role": "supervisor"},
                              token_page="/admin/users")
        assert response.status_code in (404, 405), path
    row = user_row("caseworker2")
    assert row.password_hash == before and row.active and row.role == "caseworker"
    assert pending(target.id) is None and links(target.id) == []
    assert new_web(admin.client.application).login("caseworker2").status_code == 302  # still theirs


def test_no_page_lets_anyone_choose_another_persons_passphrase(app, admin, world):
    """The passphrase fields are gone, and a passphrase posted anyway is never set."""
    for page in ("/admin/users/new", f"/admin/users/{world.caseworker.id}"):
        html = admin.get(page).get_data(as_text=True)
        assert 'name="password"' not in html and 'name="confirm"' not in html
    old = _hash("caseworker")
    response = admin.post(f"/admin/users/{world.caseworker.id}/password",
                          {"password": CHOSEN, "admin_password": factories.PASSWORD}, token_page="/admin/users")
    assert response.status_code in (404, 405)
    assert _hash("caseworker") == old
    admin.post("/admin/users/new", {"username": "newbie", "display_name": "N", "role": "caseworker",
                                    "password": CHOSEN, "confirm": CHOSEN, "admin_password": factories.PASSWORD},
               token_page="/admin/users/new")
    assert user_row("newbie") is not None
    for username in ("caseworker", "newbie"):
        assert new_web(app).login(username, CHOSEN).status_code == 200


def test_a_case_reading_account_is_unusable_until_a_supervisor_approves_it(app, admin, world):
    response = admin.post("/admin/users/new", {"username": "newbie", "display_name": "Nina Nueva",
                                               "role": "supervisor", "admin_password": factories.PASSWORD},
                          token_page="/admin/users/new")
    assert response.status_code == 302
    assert "/enrol/" not in admin.get(response.headers["Location"]).get_data(as_text=True)
    newbie = user_row("newbie")
    # No link exists for anyone to follow, and no passphrase anyone knows opens it.
    assert links(newbie.id) == []
    assert new_web(app).login("newbie", CHOSEN).status_code == 200
    request = pending(newbie.id)
    assert (request.kind, request.role, request.requested_by_id) == ("create", "supervisor", world.admin.id)
    # The supervisor sees it on the home page and the approvals page, approves, and receives the link once.
    supervisor = new_web(app)
    supervisor.login("supervisor")
    assert "New account newbie as Supervisor" in supervisor.get("/").get_data(as_text=True)
    approved = decide(app, "supervisor", request.id)
    assert approved.status_code == 200
    path = link_on(approved)
    assert approvals.pending_request(user_row("newbie")) is None
    assert set_passphrase(app, path, MINE)[0].status_code == 302
    newcomer = new_web(app)
    assert newcomer.login("newbie", MINE).status_code == 302
    assert newcomer.get("/cases/").status_code == 200


def test_an_account_waiting_for_approval_is_shown_so_and_offers_no_refused_action(admin, world):
    """Never offer what will be refused: a reset or a role change of an account whose creation waits for approval
    is refused (approvals.file_request), so the page offers neither, and does not call the account active."""
    response = admin.post("/admin/users/new", {"username": "waiting", "display_name": "Wanda Espera",
                                               "role": "caseworker", "admin_password": factories.PASSWORD},
                          token_page="/admin/users/new")
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Waiting for approval" in html and ">Active<" not in html
    assert "/reset" not in html and "/role" not in html
    assert "/disable" in html  # withdrawing the account before it is approved stays possible
    waiting = user_row("waiting")
    refused = admin.post(f"/admin/users/{waiting.id}/reset", {"admin_password": factories.PASSWORD})
    assert refused.status_code == 302 and pending(waiting.id).kind == "create"


def test_a_refused_account_stays_unusable(app, admin, world):
    accounts.add_account(world.admin, "newbie", "N", world.ngo.id, "caseworker")
    db.session.commit()
    assert decide(app, "supervisor", pending(user_row("newbie").id).id, "refuse").status_code == 302
    row = user_row("newbie")
    assert not row.active and links(row.id) == [] and pending(row.id) is None
    assert events("account_request.refuse")[-1].subject_organisation_id == world.ngo.id


def test_nobody_approves_their_own_request_or_a_change_to_their_own_account(app, admin, world):
    # A reset of the only supervisor's own account: they may not approve it.
    accounts.request_reset(world.admin, world.supervisor)
    db.session.commit()
    about_me = pending(world.supervisor.id)
    # A request filed by the supervisor (as the operator's commands or a future page might): not theirs to approve.
    mine = approvals.file_request(world.supervisor, world.caseworker, "role", "supervisor")
    db.session.commit()
    for request in (about_me, mine):
        assert not allowed(user_row("supervisor"), Action.ACCOUNTS_APPROVE, request)
        assert decide(app, "supervisor", request.id).status_code == 403
    supervisor = new_web(app)
    supervisor.login("supervisor")
    page = supervisor.get("/admin/approvals").get_data(as_text=True)
    assert "Waits for another supervisor." in page and f"/admin/approvals/{mine.id}/approve" not in page
    assert "Reset of supervisor" not in supervisor.get("/").get_data(as_text=True)
    assert pending(world.supervisor.id) is not None and user_row("caseworker").role == "caseworker"
    # Another supervisor of the organisation may; one of another organisation answers 404.
    factories.user(world.ngo, "supervisor", "supervisorb")
    assert decide(app, "supervisor2", mine.id).status_code == 404
    assert decide(app, "supervisorb", mine.id).status_code == 302
    assert user_row("caseworker").role == "supervisor"


def test_an_enrolment_link_works_once_expires_and_is_replaced_by_a_newer_one(app, world):
    token = accounts.reset_now(SYSTEM, world.caseworker)
    db.session.commit()
    path = f"/enrol/{token}"
    page = new_web(app).get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert set_passphrase(app, path, MINE)[0].status_code == 302
    used, _web = set_passphrase(app, path, CHOSEN)
    assert used.status_code == 410 and "already been used" in used.get_data(as_text=True)
    assert new_web(app).login("caseworker", CHOSEN).status_code == 200
    # Expired.
    token = accounts.reset_now(SYSTEM, world.caseworker)
    db.session.commit()
    row = links(world.caseworker.id)[-1]
    row.expires_at = row.created_at - timedelta(seconds=1)
    db.session.commit()
    expired = new_web(app).get(f"/enrol/{token}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    # Superseded.
    older = accounts.reset_now(SYSTEM, world.caseworker)
    newer = accounts.reset_now(SYSTEM, world.caseworker)
    db.session.commit()
    replaced = new_web(app).get(f"/enrol/{older}")
    assert replaced.status_code == 410 and "newer link" in replaced.get_data(as_text=True)
    assert new_web(app).get(f"/enrol/{newer}").status_code == 200
    assert new_web(app).get("/enrol/not-a-real-token").status_code == 404
    # Only the SHA-256 of each token is stored.
    stored = {link.token_hash for link in links(world.caseworker.id)}
    assert all(len(h) == 64 for h in stored) and newer not in stored and older not in stored


def test_a_weak_passphrase_on_the_enrolment_page_leaves_the_link_usable(app, world):
    token = accounts.reset_now(SYSTEM, world.caseworker)
    db.session.commit()
    response, _web = set_passphrase(app, f"/enrol/{token}", "caseworker-2024")
    assert response.status_code == 422 and "too easy to guess" in response.get_data(as_text=True)
    assert links(world.caseworker.id)[-1].used_at is None
    assert set_passphrase(app, f"/enrol/{token}", MINE)[0].status_code == 302


def test_a_reset_stops_the_old_passphrase_and_sessions_at_approval(app, admin, world):
    victim = new_web(app)
    victim.login("caseworker")
    html = admin.post(f"/admin/users/{world.caseworker.id}/reset", {"admin_password": factories.PASSWORD},
                      token_page=f"/admin/users/{world.caseworker.id}")
    assert html.status_code == 302
    assert logged_in(victim.client)  # nothing happens until a supervisor approves
    response = decide(app, "supervisor", pending(world.caseworker.id).id)
    path = link_on(response)
    assert not logged_in(victim.client)
    assert new_web(app).login("caseworker").status_code == 200
    assert set_passphrase(app, path, MINE)[0].status_code == 302
    assert new_web(app).login("caseworker", MINE).status_code == 302


def test_the_installation_administrator_reads_no_case(app, world):
    install = factories.user(world.ngo, "installation_admin", "install")
    case = factories.case(world.caseworker)
    for action in (Action.CASE_LIST, Action.CASE_VIEW, Action.CASE_SEARCH, Action.REPORT_VIEW, Action.AUDIT_VIEW,
                   Action.ACCOUNTS_APPROVE):
        assert not allowed(install, action), action
    assert not allowed(install, Action.CASE_VIEW, case)
    web = new_web(app)
    assert web.login("install").status_code == 302
    assert web.get("/cases/").status_code == 403
    assert web.get(f"/cases/{case.id}").status_code in (403, 404)
    # It creates organisations and administrators, never an account that reads cases.
    assert allowed(install, Action.ORGS_MANAGE) and allowed(install, Action.KEYS_MANAGE)
    with pytest.raises((Forbidden, NotFound)):
        accounts.add_account(install, "spy", "Spy", world.ngo.id, "supervisor")
    db.session.rollback()
    assert user_row("spy") is None


def test_an_organisation_administrator_cannot_create_organisations_or_administrators(admin, world):
    assert admin.get("/admin/organisations").status_code == 403
    with pytest.raises(Forbidden):
        accounts.add_account(world.admin, "boss2", "Boss", world.ngo.id, "administrator")
    db.session.rollback()
    assert user_row("boss2") is None


def test_account_changes_are_audited_for_the_organisations_supervisors(app, admin, world):
    admin.post(f"/admin/users/{world.caseworker.id}/role", {"role": "supervisor", "admin_password": factories.PASSWORD},
               token_page=f"/admin/users/{world.caseworker.id}")
    admin.post(f"/admin/users/{world.hotline.id}/disable", {"admin_password": factories.PASSWORD},
               token_page=f"/admin/users/{world.hotline.id}")
    decide(app, "supervisor", pending(world.caseworker.id).id)
    db.session.expire_all()
    about_ngo = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ["account_request.create", "account_request.approve", "user.disable", "user.set_role"]))))
    assert {e.action for e in about_ngo} >= {"account_request.create", "account_request.approve", "user.disable"}
    assert {e.subject_organisation_id for e in about_ngo} == {world.ngo.id}
    approve = [e for e in about_ngo if e.action == "account_request.approve"][-1]
    assert json.loads(approve.details)["to"] == "supervisor"
    supervisor = new_web(app)
    supervisor.login("supervisor")
    page = supervisor.get("/admin/account-changes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for action in ("account_request.create", "account_request.approve", "user.disable"):
        assert action in html
    other = new_web(app)
    other.login("supervisor2")
    assert "account_request.create" not in other.get("/admin/account-changes").get_data(as_text=True)
    assert admin.get("/admin/account-changes").status_code == 403
    # A role change within the case-reading roles keeps the person's own passphrase: no link is made.
    assert links(world.caseworker.id) == []


def test_an_account_moved_into_a_case_reading_role_gets_a_passphrase_only_its_new_holder_knows(app, world):
    """An administrator account (whose passphrase an administrator may know) moved to supervisor: at approval its
    passphrase, second factor and sessions die, and the link goes to the approving supervisor."""
    boss = factories.user(world.ngo, "administrator", "boss")
    request = approvals.file_request(SYSTEM, boss, "role", "supervisor")
    db.session.commit()
    response = decide(app, "supervisor", request.id)
    path = link_on(response)
    assert user_row("boss").role == "supervisor"
    assert new_web(app).login("boss").status_code == 200  # the old passphrase no longer opens it
    assert set_passphrase(app, path, MINE)[0].status_code == 302
    assert new_web(app).login("boss", MINE).status_code == 302


def test_the_installation_administrator_resets_an_administrator_and_receives_the_link(app, world):
    factories.user(world.mission_org, "installation_admin", "install")
    install = new_web(app)
    install.login("install")
    page = f"/admin/users/{world.admin.id}"
    response = install.post(f"{page}/reset", {"admin_password": factories.PASSWORD}, token_page=page)
    assert response.status_code == 200
    path = link_on(response)
    assert new_web(app).login("admin").status_code == 200
    assert set_passphrase(app, path, MINE)[0].status_code == 302
    # Case-reading accounts are not the installation administrator's to change.
    for action in ("reset", "disable"):
        assert install.post(f"/admin/users/{world.caseworker.id}/{action}", {"admin_password": factories.PASSWORD},
                            token_page=page).status_code in (403, 404)
    assert pending(world.caseworker.id) is None and user_row("caseworker").active
