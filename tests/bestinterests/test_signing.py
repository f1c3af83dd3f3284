"""Each panel member signs for themselves: concur, or dissent with a reason. Every concurrence decides; the first
dissent fails the determination; nobody signs twice, for another, or without being named."""

from __future__ import annotations

from sqlalchemy import select

from casemgmt.bestinterests.models import BestInterestsDetermination, PanelMember
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.notifications.models import Notification
from tests import factories
from tests.bestinterests.support import REASONS, TODAY, child_case, convene, events
from tests.conftest import signed_in


def _convened(app, w):
    with app.app_context():
        case = child_case(w)
        made = convene(w, case)
        return case.id, made.id


def _load(app, determination_id):
    with app.app_context():
        found = db.session.get(BestInterestsDetermination, determination_id)
        votes = {m.user_id: m.vote for m in found.panel}
        return found.status, found.determined_on, votes


def test_every_member_concurs_and_the_determination_stands(app, web, w):
    case_id, bid = _convened(app, w)
    web.login("caseworker")
    page = web.get(f"/best-interests/determinations/{bid}").get_data(as_text=True)
    assert "bi-sign-form" in page and "bi-withdraw-form" in page
    assert web.post(f"/best-interests/determinations/{bid}/sign", {"vote": "concur"}).status_code == 302
    assert _load(app, bid)[0] == "convened"
    boss = signed_in(app, "supervisor")
    assert boss.post(f"/best-interests/determinations/{bid}/sign", {"vote": "concur"}).status_code == 302
    status, determined_on, votes = _load(app, bid)
    assert (status, determined_on) == ("determined", TODAY)
    assert set(votes.values()) == {"concur"}
    with app.app_context():
        assert [e.action for e in events("bid.")] == ["bid.convene", "bid.view", "bid.sign", "bid.sign",
                                                      "bid.determined"]
        # Codes and ids only: never the reasons or a name.
        assert not any(REASONS[:20] in (e.details or "") or "Gestora" in (e.details or "") for e in events(""))
    page = web.get(f"/cases/{case_id}/best-interests").get_data(as_text=True)
    assert "The determination of" in page and "bi-sign" not in page


def test_a_dissent_fails_the_determination_and_needs_a_reason(app, web, w):
    _, bid = _convened(app, w)
    boss = signed_in(app, "supervisor")
    refused = boss.post(f"/best-interests/determinations/{bid}/sign", {"vote": "dissent", "dissent_reason": " "})
    assert refused.status_code == 422 and "Say why you dissent." in refused.get_data(as_text=True)
    assert _load(app, bid)[0] == "convened"
    reason = "The family assessment visit found the uncle was the recruiter."
    assert boss.post(f"/best-interests/determinations/{bid}/sign",
                     {"vote": "dissent", "dissent_reason": reason}).status_code == 302
    status, _, votes = _load(app, bid)
    assert status == "not_agreed" and votes[w.supervisor.id] == "dissent" and votes[w.caseworker.id] == "pending"
    with app.app_context():
        member = db.session.scalar(select(PanelMember).where(PanelMember.user_id == w.supervisor.id))
        assert reason.encode() not in member.dissent_reason.blob and unseal(member, "dissent_reason") == reason
        assert [e.action for e in events("bid.")][-2:] == ["bid.sign", "bid.not_agreed"]
    # The other member can no longer sign: the panel has not agreed.
    web.login("caseworker")
    assert web.post(f"/best-interests/determinations/{bid}/sign", {"vote": "concur"}).status_code == 403
    assert "bi-sign-form" not in web.get(f"/best-interests/determinations/{bid}").get_data(as_text=True)


def test_nobody_signs_twice_for_another_or_unnamed(app, web, w):
    case_id, bid = _convened(app, w)
    with app.app_context():
        factories.user(db.session.get(type(w.ngo), w.ngo.id), "supervisor", "supervisor_other")
    web.login("caseworker")
    # The form names no one: whatever is sent, the signature is the signer's own.
    assert web.post(f"/best-interests/determinations/{bid}/sign",
                    {"vote": "concur", "user_id": str(w.supervisor.id)}).status_code == 302
    _, _, votes = _load(app, bid)
    assert votes == {w.caseworker.id: "concur", w.supervisor.id: "pending"}
    # Twice: refused, and no button any more.
    assert web.post(f"/best-interests/determinations/{bid}/sign", {"vote": "dissent",
                                                                   "dissent_reason": "changed my mind"}
                    ).status_code == 403
    assert "bi-sign-form" not in web.get(f"/best-interests/determinations/{bid}").get_data(as_text=True)
    # A supervisor of the organisation who is not on the panel: may read it, not sign it, and is offered nothing.
    other = signed_in(app, "supervisor_other")
    assert other.get(f"/best-interests/determinations/{bid}").status_code == 200
    assert "bi-sign-form" not in other.get(f"/best-interests/determinations/{bid}").get_data(as_text=True)
    assert "bi-sign" not in other.get(f"/cases/{case_id}/best-interests").get_data(as_text=True)
    assert other.post(f"/best-interests/determinations/{bid}/sign", {"vote": "concur"}).status_code == 403
    assert _load(app, bid)[0] == "convened"


def test_the_proposer_withdraws_with_a_reason_and_nobody_else_may(app, web, w):
    _, bid = _convened(app, w)
    boss = signed_in(app, "supervisor")
    assert "bi-withdraw-form" not in boss.get(f"/best-interests/determinations/{bid}").get_data(as_text=True)
    assert boss.post(f"/best-interests/determinations/{bid}/withdraw",
                     {"withdrawal_reason": "not mine"}).status_code == 422
    web.login("caseworker")
    assert web.post(f"/best-interests/determinations/{bid}/withdraw",
                    {"withdrawal_reason": ""}).status_code == 422
    assert _load(app, bid)[0] == "convened"
    assert web.post(f"/best-interests/determinations/{bid}/withdraw",
                    {"withdrawal_reason": "The child's aunt has been found: a new assessment first."}
                    ).status_code == 302
    assert _load(app, bid)[0] == "withdrawn"
    assert boss.post(f"/best-interests/determinations/{bid}/sign", {"vote": "concur"}).status_code == 403


def test_each_member_is_asked_to_sign_and_the_notice_settles(app, web, w):
    _, bid = _convened(app, w)
    with app.app_context():
        notices = list(db.session.scalars(select(Notification).where(Notification.kind == "bid_sign")))
        # The proposer convened it: their own signature waits on their home page, not in a notice.
        assert [(n.user_id, n.done_at) for n in notices] == [(w.supervisor.id, None)]
        assert notices[0].link == f"/best-interests/determinations/{bid}"
    boss = signed_in(app, "supervisor")
    home = boss.get("/").get_data(as_text=True)
    assert "Sign the best-interests determination of case" in home and f"/best-interests/determinations/{bid}" in home
    web.login("caseworker")
    assert f"/best-interests/determinations/{bid}" in web.get("/").get_data(as_text=True)
    boss.post(f"/best-interests/determinations/{bid}/sign", {"vote": "concur"})
    with app.app_context():
        (notice,) = db.session.scalars(select(Notification).where(Notification.kind == "bid_sign"))
        assert notice.done_at is not None
    assert f"/best-interests/determinations/{bid}" not in boss.get("/").get_data(as_text=True)
