"""Need to know: a child's best interests are for the case's organisation (bestinterests.view), never the receiving
organisation of a referral, the hotline or finance; the assessment's text is encrypted in the database and the
timeline names no text."""

from __future__ import annotations

from markupsafe import escape
from sqlalchemy import text

from casemgmt.bestinterests import timeline
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from tests import factories
from tests.bestinterests.support import BIA, REASONS, child_case, convene, family_member
from tests.conftest import signed_in


def _setup(app, w):
    with app.app_context():
        case = child_case(w)
        made = convene(w, case)
        member = family_member(case)
        guardian_id = None
        factories.accepted_referral(db.session.get(Case, case.id), db.session.merge(w.mission_org),
                                    db.session.merge(w.mission))
        factories.user(db.session.merge(w.ngo), "finance_officer", "finance")
        db.session.commit()
        return case.id, made.id, made.assessment_id, member.id, guardian_id


def _urls(case_id, bid, bia):
    gets = [f"/cases/{case_id}/best-interests", f"/cases/{case_id}/best-interests/assessments/new",
            f"/cases/{case_id}/best-interests/assessments/{bia}/edit",
            f"/cases/{case_id}/best-interests/determinations/new", f"/best-interests/determinations/{bid}",
            f"/cases/{case_id}/best-interests/guardians/new", f"/cases/{case_id}/best-interests/care/new"]
    posts = [f"/cases/{case_id}/best-interests/assessments/new",
             f"/cases/{case_id}/best-interests/determinations/new", f"/best-interests/determinations/{bid}/sign",
             f"/best-interests/determinations/{bid}/withdraw", f"/cases/{case_id}/best-interests/guardians/new",
             f"/cases/{case_id}/best-interests/care/new"]
    return gets, posts


def test_only_the_cases_organisation_opens_a_childs_best_interests(app, web, w):
    case_id, bid, bia, _, _ = _setup(app, w)
    gets, posts = _urls(case_id, bid, bia)
    # The receiving organisation of an accepted referral works on the case, but not on this (403); another NGO does
    # not know the case exists (404); the hotline, a caseworker not on the case and finance: 403.
    for username, expected in (("mission", {403}), ("caseworker2", {404}), ("hotline", {403}),
                               ("caseworkerb", {403}), ("finance", {403})):
        client = signed_in(app, username)
        for url in gets:
            assert client.get(url).status_code in expected, (username, url)
        for url in posts:
            assert client.post(url, {"vote": "concur", "reasons": "x"}).status_code in expected, (username, url)
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        assert "/best-interests" not in page, username
    with app.app_context():
        determination_status = db.session.execute(
            text("SELECT status FROM best_interests_determinations")).scalar()
        assert determination_status == "convened"
    web.login("supervisor")
    for url in gets:
        assert web.get(url).status_code == 200, url


def test_the_assessment_text_is_encrypted_and_shown_to_those_who_may_view(app, web, w):
    case_id, bid, _, _, _ = _setup(app, w)
    with app.app_context():
        row = db.session.execute(text("SELECT child_views, safety, family, health, education, recommendations "
                                      "FROM best_interests_assessments")).one()
        for value, section in zip(row, ("child_views", "safety", "family", "health", "education",
                                         "recommendations"), strict=True):
            assert BIA[section].encode() not in bytes(value)
        reasons = db.session.execute(text("SELECT reasons FROM best_interests_determinations")).scalar()
        assert REASONS.encode() not in bytes(reasons)
    web.login("supervisor")
    page = web.get(f"/cases/{case_id}/best-interests").get_data(as_text=True)
    assert "Quiere volver con su abuela en Jacmel." in page and str(escape(REASONS)) in page
    assert str(escape(REASONS)) in web.get(f"/best-interests/determinations/{bid}").get_data(as_text=True)


def test_the_timeline_shows_the_steps_without_the_text_and_only_to_those_who_may_view(app, web, w):
    case_id, _, _, _, _ = _setup(app, w)
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/timeline").get_data(as_text=True)
    assert "Best-interests assessment" in page and "Best-interests panel convened" in page
    assert "Jacmel" not in page and str(escape(REASONS)) not in page
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        assert timeline.entries(db.session.merge(w.mission), case) == []
        assert timeline.entries(db.session.merge(w.hotline), case) == []
        assert len(timeline.entries(db.session.merge(w.supervisor), case)) == 2


def test_an_adults_page_says_the_procedure_is_for_children_and_offers_nothing(app, web, w):
    with app.app_context():
        case_id = factories.case(w.caseworker, assigned_to_id=w.caseworker.id).id
    web.login("caseworker")
    page = web.get(f"/cases/{case_id}/best-interests").get_data(as_text=True)
    assert "The best-interests procedure is for children" in page
    assert "/best-interests/assessments/new" not in page and "/best-interests/guardians/new" not in page
    for kind in ("assessments", "determinations", "guardians", "care"):
        assert web.get(f"/cases/{case_id}/best-interests/{kind}/new").status_code == 302  # back to the tab
    refused = web.post(f"/cases/{case_id}/best-interests/assessments/new", {**{k: str(v) for k, v in BIA.items()}})
    assert refused.status_code == 422 and "procedure is for children" in refused.get_data(as_text=True)
