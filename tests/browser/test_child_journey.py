"""Issue 12, "Done means": a 16-year-old, known by her date of birth only, from a crisis call to reintegration in
Haiti, across the NGO caseworker, the NGO supervisor and the IOM mission, in headless Chromium.

Nobody ticks a box to say she is a child: the date of birth does. The adults-only shelter is not offered to her (the
page says why) and the children's home takes her; her consent needs her assent and a guardian's; her return cannot be
submitted (so never reaches a supervisor who could not approve it) until an escort or a travelling guardian is named.
The return plan names IOM Haiti as the receiving organisation, and the mission finds the hand-off on its home page
without anyone sending a referral. The stages move by themselves (admission, departure, arrival, closure), the
departure frees her bed, and the closure can be approved.

Only the organisations and users come from factories. Screenshots go to test-artifacts/ (child-journey-*.png).
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta

import pytest

from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, assert_styled, serve
from tests.browser.test_journey import choose, form_with, succeeded, tab
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TODAY = date.today()
GIVEN, FAMILY = "Roseline", "Désir"
PERSON = f"{GIVEN} {FAMILY}"
ADULTS_ONLY, CHILDREN_HOME = "Refugio Mujeres Tacna", "Hogar Santa Inés"


def sixteen_today() -> date:
    """Her date of birth: 16 years and a few months ago (a 29 February birthday is avoided)."""
    born = TODAY - timedelta(days=16 * 365 + 120)
    return born.replace(day=min(born.day, 28))


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture
def server(tmp_path):
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'child.db'}")
    with app.app_context():
        db.create_all()
        factories.world()
        db.session.remove()
    with serve(app) as base_url:
        yield base_url


def stage_is(expect, page, case_url: str, stage: str) -> None:
    page.goto(case_url)
    expect(page.locator(".case-stage")).to_contain_text(stage)


def create_facility(page, name: str, takes: str, beds: int) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Facilities", exact=True).click()
    page.get_by_role("link", name="New facility", exact=True).click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Type of facility", exact=True).select_option("shelter")
    page.get_by_label("Bed capacity", exact=True).fill(str(beds))
    page.get_by_label("Takes", exact=True).select_option(takes)
    page.get_by_role("button", name="Save", exact=True).click()


def test_a_sixteen_year_old_from_crisis_call_to_reintegration(server, browser, expect, request):
    base_url = server
    sessions: dict[str, Session] = {}

    def open_session(label: str) -> Session:
        sessions[label] = Session(browser, base_url, label)
        sessions[label].login(label)
        return sessions[label]

    try:
        # 0. The NGO's two shelters: one for adult women, one for children. -----------------------------------------
        supervisor = open_session("supervisor")
        spage = supervisor.page
        create_facility(spage, ADULTS_ONLY, "adults", 10)
        succeeded(expect, spage, f"Facility {ADULTS_ONLY} created.")
        create_facility(spage, CHILDREN_HOME, "children", 6)
        succeeded(expect, spage, f"Facility {CHILDREN_HOME} created.")
        children_home_url = spage.url

        # 1. The crisis call ("a minor is involved") opens a case with her date of birth; no box is ticked. --------
        caseworker = open_session("caseworker")
        page = caseworker.page
        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="New contact", exact=True).click()
        page.get_by_label("Channel", exact=True).select_option("phone")
        page.get_by_label("Call type", exact=True).select_option("crisis")
        page.get_by_label("Caller", exact=True).select_option("PotentialVictim")
        page.get_by_label("Language of the contact", exact=True).select_option("ht")
        page.get_by_label("A minor is involved", exact=True).check()
        page.get_by_label("Someone is in immediate danger", exact=True).check()
        page.get_by_label("Caller's name (optional)", exact=True).fill(GIVEN)
        page.get_by_label("Summary", exact=True).fill("A girl calls from a market stall in Tacna; she was brought "
                                                      "from Haiti and is not allowed to leave.")
        page.get_by_role("button", name="Save contact", exact=True).click()
        succeeded(expect, page, "Contact recorded.")
        page.get_by_role("link", name="Open a new case from this contact", exact=True).click()
        page.get_by_label("Family name(s)", exact=True).fill(FAMILY)
        page.get_by_label("Date of birth", exact=True).fill(sixteen_today().isoformat())
        page.get_by_label("Gender", exact=True).select_option("Feminine")
        page.get_by_label("Citizenship", exact=True).select_option("HT")
        expect(page.get_by_label(re.compile("^Unaccompanied or separated"))).not_to_be_checked()
        page.get_by_role("button", name="Check for duplicates and open the case", exact=True).click()
        page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
        case_url = page.url
        case_id = case_url.rsplit("/", 1)[1]
        reference = re.search(r"Case (C-[A-Z0-9]+)", page.locator("h1").inner_text()).group(1)
        # The date of birth makes her a child, on every tab.
        for name in ("Record", "Consent", "Shelter", "Return"):
            tab(page, name)
            expect(page.locator(".case-age")).to_contain_text("16")
            expect(page.locator(".case-child-marker")).to_have_text("Child (under 18)")
        # The call's "a minor is involved" is answered: the age is recorded, so no prompt remains.
        expect(page.locator(".age-prompt")).to_have_count(0)

        # 2. Consent: her assent and her mother's consent. ----------------------------------------------------------
        tab(page, "Consent")
        page.get_by_label("Date consent was obtained", exact=True).fill(day(0))
        page.get_by_label("The person's language", exact=True).select_option("ht")
        page.get_by_label("Consents (or, for a child, assents) to the interview", exact=True).check()
        page.get_by_label("Consents to sharing the case with other organisations (referrals)", exact=True).check()
        page.get_by_label("Consents to assisted voluntary return", exact=True).check()
        page.get_by_role("button", name="Record consent", exact=True).click()
        # Without the guardian's consent and her assent, the record is refused with what is missing.
        expect(page.locator(".alert-danger", has_text="guardian")).to_be_visible()
        expect(page.locator(".consent-record")).to_have_count(0)  # nothing was recorded
        page.get_by_label("The child assents (agrees) to what is recorded here", exact=True).check()
        page.get_by_label("Who gave consent for the child (name)", exact=True).fill("Mireille Désir")
        page.get_by_label("Their relationship to the child", exact=True).select_option("parent")
        page.get_by_role("button", name="Record consent", exact=True).click()
        succeeded(expect, page, "Consent recorded.")

        # 3. Shelter: the adults-only shelter is not offered, and the page says why. -------------------------------
        tab(page, "Shelter")
        facility = page.get_by_label("Facility", exact=True)
        expect(facility.locator("option", has_text=ADULTS_ONLY)).to_have_count(0)
        expect(page.locator(".facility-withheld", has_text=ADULTS_ONLY)).to_be_visible()
        choose(facility, CHILDREN_HOME)
        page.get_by_label("Admitted on", exact=True).fill(day(0))
        page.get_by_role("button", name="Admit", exact=True).click()
        succeeded(expect, page, "Admission recorded.")
        expect(page.locator(".alert-info", has_text="The case moved to “Shelter”.")).to_be_visible()
        spage.goto(children_home_url)
        expect(spage.locator(".occupancy")).to_contain_text("1 of 6 beds taken")

        # 4. The return plan names IOM Haiti: the hand-off goes by itself. ------------------------------------------
        tab(page, "Return")
        choose(page.get_by_label("Receiving organisation (in the country of origin)", exact=True), "IOM Haiti")
        page.get_by_label("Town or district of destination", exact=True).fill("Jacmel, Sud-Est")
        page.get_by_role("button", name="Start the plan", exact=True).click()
        succeeded(expect, page, "Return plan started.")
        expect(page.locator(".return-handoff")).to_contain_text("waiting for IOM Haiti to accept or decline it")

        mission = open_session("mission")
        mpage = mission.page
        handoff = mpage.locator("section.work-referrals")
        expect(handoff).to_contain_text(f"Return hand-off of case {reference} from Casa Esperanza")
        assert GIVEN not in mpage.content() and FAMILY not in mpage.content()
        mpage.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals", exact=True).click()
        pending = mpage.locator("table.incoming-pending tbody tr")
        expect(pending).to_have_count(1)
        expect(pending).to_contain_text(reference)
        pending.get_by_role("button", name="Accept", exact=True).click()
        mpage.wait_for_url(case_url)
        expect(mpage.locator("h1")).to_contain_text(PERSON)
        expect(mpage.locator(".case-child-marker")).to_be_visible()  # the mission sees she is a child too

        tab(mpage, "Return")
        risk = form_with(mpage, "Save the risk assessment")
        risk.get_by_label("Level of risk", exact=True).select_option("low")
        risk.get_by_label("Summary of the risk assessment", exact=True).fill("No threat known in Jacmel.")
        risk.get_by_label("Assessed on", exact=True).fill(day(0))
        risk.get_by_role("button", name="Save the risk assessment", exact=True).click()
        succeeded(expect, mpage, "Risk assessment saved.")
        family = form_with(mpage, "Save the family assessment")
        family.get_by_label("Outcome", exact=True).select_option("found_willing")
        family.get_by_label("Summary of the family assessment", exact=True).fill("Her mother was visited.")
        family.get_by_label("Assessed on", exact=True).fill(day(0))
        family.get_by_role("button", name="Save the family assessment", exact=True).click()
        succeeded(expect, mpage, "Family assessment saved.")
        travel = form_with(mpage, "Save the travel document status")
        travel.get_by_label("Travel document", exact=True).select_option("issued")
        travel.get_by_label("Issued on", exact=True).fill(day(0))
        travel.get_by_role("button", name="Save the travel document status", exact=True).click()
        succeeded(expect, mpage, "Travel document status saved.")
        itinerary = form_with(mpage, "Save the itinerary")
        itinerary.get_by_label("Planned departure date", exact=True).fill(day(3))
        itinerary.get_by_label("Route and flight details", exact=True).fill("Lima, Panama City, Port-au-Prince.")
        itinerary.get_by_role("button", name="Save the itinerary", exact=True).click()
        succeeded(expect, mpage, "Itinerary saved.")

        # Without an escort or a travelling guardian the plan cannot go to a supervisor: no button, the reason.
        expect(mpage.get_by_role("button", name="Submit for approval", exact=True)).to_have_count(0)
        expect(mpage.locator(".return-missing")).to_contain_text("escort")
        itinerary = form_with(mpage, "Save the itinerary")
        itinerary.get_by_label("Escort required", exact=True).check()
        itinerary.get_by_label("Escort's name", exact=True).fill("Marie-Claude Jean (IOM)")
        itinerary.get_by_role("button", name="Save the itinerary", exact=True).click()
        succeeded(expect, mpage, "Itinerary saved.")
        mpage.get_by_role("button", name="Submit for approval", exact=True).click()
        succeeded(expect, mpage, "The plan was submitted for a supervisor's approval.")

        # 5. The NGO supervisor approves; the mission confirms departure and arrival; the stages follow. -----------
        spage.goto("/")
        spage.locator("section.work-approvals").get_by_role(
            "link", name=f"Approve the return plan of case {reference}").click()
        spage.once("dialog", lambda dialog: dialog.accept())
        spage.get_by_role("button", name="Approve the return", exact=True).click()
        succeeded(expect, spage, "Return plan approved.")

        mpage.reload()
        mpage.get_by_label("Departed on", exact=True).fill(day(0))
        mpage.get_by_role("button", name="Confirm departure", exact=True).click()
        succeeded(expect, mpage, "Departure confirmed.")
        expect(mpage.locator(".alert-info", has_text="The case moved to “Return”.")).to_be_visible()
        # Her bed is free: the stay ended with the departure.
        tab(page, "Shelter")
        expect(page.get_by_label("Discharged on", exact=True)).to_have_count(0)
        spage.goto(children_home_url)
        expect(spage.locator(".occupancy")).to_contain_text("0 of 6 beds taken")

        mpage.get_by_label("Arrived on", exact=True).fill(day(0))
        mpage.get_by_role("button", name="Confirm arrival", exact=True).click()
        succeeded(expect, mpage, "Arrival confirmed.")
        expect(mpage.locator(".alert-info", has_text="The case moved to “Reintegration”.")).to_be_visible()
        stage_is(expect, page, case_url, "Reintegration")

        tab(mpage, "Reintegration")
        mpage.get_by_label("Plan made on", exact=True).fill(day(0))
        mpage.get_by_label("Types of support", exact=True).select_option(["Education", "SocialCare"])
        mpage.get_by_label("Objectives", exact=True).fill("Back to school in Jacmel; family support.")
        mpage.get_by_label("Planned end", exact=True).fill(day(180))
        mpage.get_by_role("button", name="Save the plan", exact=True).click()
        succeeded(expect, mpage, "Reintegration plan saved.")

        # 6. The caseworker asks to close; the supervisor approves, and the case closes. ---------------------------
        page.goto(f"/cases/{case_id}/closure")
        expect(page.locator(".closure-blockers")).to_have_count(0)  # no stay left open to block it
        page.get_by_label("Why close the case", exact=True).select_option("completed")
        page.get_by_label("Reason", exact=False).first.fill("Returned and reintegrated with her mother in Jacmel.")
        page.get_by_role("button", name="Request closure", exact=True).click()
        spage.goto(f"/cases/{case_id}/closure")
        spage.get_by_role("button", name="Approve and close the case", exact=True).click()
        expect(spage.locator(".alert-info", has_text="The case moved to “Closed”.")).to_be_visible()
        stage_is(expect, spage, case_url, "Closed")
        assert_styled(spage)
        supervisor.screenshot("child-journey-closed.png")

        for session in sessions.values():
            violations = session.csp_violations()
            assert not violations, f"Content-Security-Policy violations for {session.label}: {violations}"
            errors = session.unexplained_errors()
            assert not errors, f"browser console errors for {session.label}: {errors}"
    except BaseException:
        for session in sessions.values():
            with contextlib.suppress(Exception):
                session.screenshot(f"FAILED-{request.node.name}-{session.label}.png")
        raise
    finally:
        for session in sessions.values():
            session.close()
