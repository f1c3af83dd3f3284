"""Issue 3: one person's whole journey, in headless Chromium, through the pages as the people who do it would.

A crisis call is logged and opens a case; the NGO caseworker records consent and a screening, places the person in a
shelter and records a counseling session, then refers the case to the IOM mission in the country of origin. The
mission sees the referral without the person's name, accepts it, never sees the counseling notes, and prepares the
return; the NGO supervisor approves it (after refusing it once, while the travel document was still missing); the
mission confirms departure and arrival and monitors the reintegration. The case timeline shows the steps in order, and
the supervisor's home page shows what waits for them.

Only the organisations, the users and the same person at another NGO come from factories; the facility is created by
the supervisor on the Facilities page. Every page is checked for Content-Security-Policy violations and console
errors. Screenshots go to test-artifacts/ (journey-*.png).
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime, timedelta

import pytest

from casemgmt.extensions import db
from tests import factories
from tests.browser.menus import menu_link
from tests.browser.support import Session, assert_styled, pick, serve, set_select
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TODAY = date.today()

GIVEN, FAMILY = "Nadège", "Saint-Fleur"
PERSON = f"{GIVEN} {FAMILY}"
BIRTH = date(1998, 3, 2)
FACILITY = "Albergue Santa Rosa"
# Counseling notes: the most sensitive text in the system. The marker must never reach the mission's browser.
NOTES_MARKER = "NOTE-7Q4-NIGHTMARES"
NOTES = f"Sleeps badly since the raid and asks about her daughter every day. {NOTES_MARKER}"
REFERRAL_NOTE = "She wishes to go home to her mother in Jacmel; the family can receive her."


def day(offset: int) -> str:
    """A date relative to today, as a date input takes it. The journey is entered as it happened, over weeks."""
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture
def server(tmp_path):
    """The app on a SQLite file with the test world, served over real HTTP on a free loopback port."""
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'journey.db'}")
    with app.app_context():
        db.create_all()
        world = factories.world()
        # The same person, known to another NGO on the route: the duplicate check must not say so (issue 10).
        factories.case(world.caseworker2, given_name=GIVEN, family_name=FAMILY, date_of_birth=BIRTH,
                       phone="+57 310 555 0199", document_number="HT-0455821", citizenship="HT")
        db.session.remove()
    with serve(app) as base_url:
        yield base_url


# Helpers ------------------------------------------------------------------------------------------------------------

def form_with(page, button: str):
    """The form whose submit button says `button` (pages such as the return page hold one form per step)."""
    return page.locator("form").filter(has=page.get_by_role("button", name=button, exact=True))


def choose(select, text: str) -> None:
    """Select the option whose label contains `text` (labels such as '<name>: 12 of 12 beds free' vary)."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value)


def tab(page, name: str) -> None:
    """Open one of the case's pages through its tab bar."""
    page.locator(".case-nav").get_by_role("link", name=name, exact=True).click()


def succeeded(expect, page, text: str) -> None:
    expect(page.locator(".alert-success", has_text=text)).to_be_visible()


def timeline_entries(page) -> list[tuple[str, datetime, str]]:
    """(title, when, kind) of each timeline entry, in the order shown."""
    rows = page.locator("li.timeline-entry").evaluate_all(
        """els => els.map(e => [e.querySelector('.fw-semibold').innerText.trim(),
                                e.querySelector('time').getAttribute('datetime'), e.className])"""
    )
    return [(title, datetime.fromisoformat(at), kind) for title, at, kind in rows]


class DocumentWatch:
    """Every HTML page a browser context receives (error pages included), searched for text that must never reach
    it. Response events are handled while the test waits on the browser; flush() lets the last ones through."""

    def __init__(self, session: Session, forbidden: tuple[str, ...]):
        self.page = session.page
        self.forbidden = forbidden
        self.pages: list[tuple[int, str]] = []
        self.leaks: list[str] = []
        self.page.on("response", self._check)

    def _check(self, response) -> None:
        if response.request.resource_type != "document" or 300 <= response.status < 400:
            return  # a redirect has no body worth reading
        try:
            body = response.text()
        except Exception as exc:  # recorded as a leak: an unread page is an unchecked page
            self.leaks.append(f"could not read {response.url}: {exc}")
            return
        self.pages.append((response.status, response.url))
        self.leaks += [f"{text!r} on {response.status} {response.url}" for text in self.forbidden if text in body]

    def flush(self) -> None:
        self.page.evaluate("0")
        self.page.wait_for_timeout(50)


# The journey's steps as the timeline names them, in the order they happened.
STEPS = [
    ("contact", "Hotline contact: Crisis"),
    ("consent", "Consent recorded"),
    ("screening", "Screening: Victim of trafficking"),
    ("placement", f"Admitted to {FACILITY}"),
    ("session", "Psychosocial session"),
    ("referral accepted", "Referral accepted by IOM Haiti"),
    ("return approved", "Return plan approved"),
    ("departed", "Departure confirmed"),
    ("arrived", "Arrival confirmed"),
    ("monitoring visit", "Monitoring visit"),
]
# Steps entered as a date (departure, arrival, visit) that are recorded on their day take the recording time, so
# they follow the approval they depend on, although all three happen on the approval's day.


def positions(entries, steps=STEPS) -> dict[str, int]:
    found = {}
    for name, prefix in steps:
        index = next((i for i, (title, _, _) in enumerate(entries) if title.startswith(prefix)), None)
        assert index is not None, f"no {name!r} step ({prefix}...) on the timeline: {[t for t, _, _ in entries]}"
        found[name] = index
    return found


# The test -----------------------------------------------------------------------------------------------------------

def test_one_persons_journey_from_crisis_call_to_reintegration(server, browser, expect, request):
    base_url = server
    sessions: dict[str, Session] = {}

    def open_session(label: str) -> Session:
        sessions[label] = Session(browser, base_url, label)
        sessions[label].login(label)
        return sessions[label]

    try:
        # 0. The supervisor adds the shelter on the Facilities page. ------------------------------------------------
        supervisor = open_session("supervisor")
        spage = supervisor.page
        menu_link(spage, "Facilities").click()
        spage.get_by_role("link", name="New facility", exact=True).click()
        spage.get_by_label("Name", exact=True).fill(FACILITY)
        pick(spage, "Type of facility", "shelter")
        spage.get_by_label("Bed capacity", exact=True).fill("12")
        pick(spage, "Takes", "adults")  # whom it takes: a facility says so
        spage.get_by_label("Address of the facility", exact=True).fill("Av. Grau 410, Tacna")
        spage.get_by_role("button", name="Save", exact=True).click()
        succeeded(expect, spage, f"Facility {FACILITY} created.")

        # 1. The caseworker logs the crisis call, finds it on top of the queue and opens a case from it. ------------
        caseworker = open_session("caseworker")
        page = caseworker.page
        menu_link(page, "New contact").click()
        pick(page, "Channel", "phone")
        pick(page, "Call type", "crisis")
        page.get_by_label("Date (empty: today)", exact=True).fill(day(-20))
        page.get_by_label("Time, UTC (empty: now)", exact=True).fill("21:40")
        pick(page, "Caller", "PotentialVictim")
        set_select(page, "language", "ht")
        page.get_by_label("Someone is in immediate danger", exact=True).check()
        for indicator in ("Identity documents taken away", "Not free to leave or move about",
                          "Debt owed to an employer or recruiter"):
            page.get_by_label(indicator, exact=True).check()
        page.get_by_label("Emergency coordination", exact=True).check()
        page.get_by_label("The caller consents to our sharing what they told us", exact=True).check()
        page.get_by_label("Caller's name (optional)", exact=True).fill(GIVEN)
        page.get_by_label("Caller's phone (optional)", exact=True).fill("+51 952 300 418")
        page.get_by_label("Summary", exact=True).fill("Calls from a farm near Tacna: her passport was taken, she "
                                                      "is not allowed to leave and owes the recruiter for the trip.")
        page.get_by_role("button", name="Save contact", exact=True).click()
        succeeded(expect, page, "Contact recorded.")
        contact_url = page.url

        # A tip that comes in later must not push the waiting crisis call down the queue.
        menu_link(page, "New contact").click()
        pick(page, "Channel", "sms")
        pick(page, "Call type", "tip")
        pick(page, "Caller", "Anonymous")
        page.get_by_role("button", name="Save contact", exact=True).click()
        succeeded(expect, page, "Contact recorded.")

        menu_link(page, "Intake").click()
        rows = page.locator("table.intake-queue tbody tr")
        expect(rows).to_have_count(2)
        top = rows.first
        expect(top).to_have_class(re.compile(r"\bcontact-waiting\b"))
        expect(top).to_contain_text("Crisis")
        expect(top).to_contain_text("Waiting")
        expect(rows.nth(1)).to_contain_text("Tip")
        top.get_by_role("link").click()
        page.wait_for_url(contact_url)

        page.get_by_role("link", name="Open a new case from this contact", exact=True).click()
        expect(page.get_by_label("Given name(s)", exact=True)).to_have_value(GIVEN)  # the caller gave her name
        page.get_by_label("Family name(s)", exact=True).fill(FAMILY)
        page.get_by_label("Date of birth", exact=True).fill(BIRTH.isoformat())
        pick(page, "Gender", "Feminine")
        set_select(page, "citizenship", "HT")
        pick(page, "Languages spoken", ["ht", "fr"])
        page.get_by_role("button", name="Check for duplicates and open the case", exact=True).click()
        # The duplicate check does not look at the other NGO's cases: the case is opened at once.
        page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
        case_url = page.url
        case_id = case_url.rsplit("/", 1)[1]
        heading = page.locator("h1").inner_text()
        reference = re.search(r"Case (C-[A-Z0-9]+)", heading).group(1)
        succeeded(expect, page, f"Case {reference} opened from this contact.")
        assert PERSON in page.locator(".case-header .person-name").inner_text()

        # The call has been acted on: the caseworker marks it handled (from the case's contacts).
        tab(page, "Contacts and screening")
        page.locator("table.case-contacts tbody tr").first.get_by_role("link").click()
        page.get_by_role("button", name="Mark as handled", exact=True).click()
        succeeded(expect, page, "Marked as handled.")
        page.goto(case_url)

        # 2. Consent, screening, shelter, counseling. ---------------------------------------------------------------
        tab(page, "Consent")
        page.get_by_label("Date consent was obtained", exact=True).fill(day(-19))
        set_select(page, "language", "ht")
        page.get_by_label("An interpreter was used", exact=True).check()
        page.get_by_label("Interpreter's name", exact=True).fill("Jean-Robert Michel")
        for point in (
            "Consents (or, for a child, assents) to the interview", "The purpose of the interview was explained",
            "The actual and potential uses of the data were explained",
            "Agrees to non-identifying use of the data for research", "Was told of the right to request their own data",
            "Was told how long the data is kept", "Was told how to withdraw consent",
        ):
            page.get_by_label(point, exact=True).check()
        page.get_by_label("Consents to sharing the case with other organisations (referrals)", exact=True).check()
        page.get_by_label("Consents to assisted voluntary return", exact=True).check()
        page.get_by_role("button", name="Record consent", exact=True).click()
        succeeded(expect, page, "Consent recorded.")
        record = page.locator(".consent-record.consent-active")
        expect(record).to_have_count(1)
        expect(record).to_contain_text("Consents to assisted voluntary return")
        expect(record.locator("li", has_text="✗")).to_have_count(0)  # all seven points

        tab(page, "Contacts and screening")
        page.get_by_role("link", name="Record a screening", exact=True).click()
        page.get_by_label("Date of the interview", exact=True).fill(day(-18))
        choose(page.get_by_label("Consent to the interview", exact=True), "obtained by Caseworker")
        pick(page, "Language of the interview", "ht")
        page.get_by_label("An interpreter was used", exact=True).check()
        page.get_by_label("Interpreter's name", exact=True).fill("Jean-Robert Michel")
        for indicator in ("Identity documents taken away", "Deceived about the job or its conditions",
                          "No pay or very little pay"):
            page.get_by_label(indicator, exact=True).check()
        pick(page, "Finding", "ActualVictimOfTrafficking")
        pick(page, "Decided by", "NGO")
        page.get_by_role("button", name="Save screening", exact=True).click()
        succeeded(expect, page, "The case's trafficking status is now: Victim of trafficking.")

        tab(page, "Record")
        pick(page, "Move to stage", "shelter")
        page.get_by_role("button", name="Change stage", exact=True).click()
        succeeded(expect, page, "Stage changed to Shelter.")

        tab(page, "Shelter")
        choose(page.get_by_label("Facility", exact=True), FACILITY)
        page.get_by_label("Admitted on", exact=True).fill(day(-17))
        page.get_by_label("Reflection period until", exact=True).fill(day(13))
        page.get_by_role("button", name="Admit", exact=True).click()
        succeeded(expect, page, "Admission recorded.")
        expect(page.locator("tr.table-info")).to_contain_text(FACILITY)

        tab(page, "Counseling")
        page.get_by_role("link", name="Record a session", exact=True).click()
        pick(page, "Type of session", "psychosocial")
        page.get_by_label("Provider (professional or service)", exact=True).fill("Ps. Teresa Ramos, Albergue")
        page.get_by_label("Held on", exact=True).fill(day(-15))
        page.get_by_label("Duration (minutes)", exact=True).fill("50")
        page.get_by_label("Notes", exact=True).fill(NOTES)
        page.get_by_role("button", name="Save", exact=True).click()
        succeeded(expect, page, "Session recorded.")
        expect(page.locator(".counseling-notes")).to_contain_text(NOTES_MARKER)  # the author reads them
        session_url = page.url

        # 3. The referral to the IOM mission. ------------------------------------------------------------------------
        tab(page, "Referrals")
        referral = form_with(page, "Send referral")  # the transfer form below has the same labels
        choose(referral.get_by_label("Receiving organisation", exact=True), "IOM Haiti")
        pick(referral, "Reason for the referral", "MigrationOrChangeOfLocation")
        referral.get_by_label("Note for the receiving organisation", exact=True).fill(REFERRAL_NOTE)
        pick(referral, "Basis for sharing", "consent")
        referral.get_by_role("button", name="Send referral", exact=True).click()
        succeeded(expect, page, "Referral sent to IOM Haiti.")
        expect(page.locator("table.referrals tbody tr").first).to_contain_text("Waiting for an answer")

        # 4. The mission: the referral without the name, then the case, never the counseling notes. ----------------
        mission = sessions["mission"] = Session(browser, base_url, "mission")
        mpage = mission.page
        # Whatever the mission opens, its browser never receives the counseling notes, nor the shelter's name.
        mission_watch = DocumentWatch(mission, (NOTES_MARKER, "Sleeps badly", FACILITY))
        mission.login("mission")

        home_referrals = mpage.locator("section.work-referrals")
        expect(home_referrals).to_contain_text(f"Referral of case {reference} from Casa Esperanza")
        assert GIVEN not in mpage.content() and FAMILY not in mpage.content()
        menu_link(mpage, "Referrals").click()
        pending = mpage.locator("table.incoming-pending tbody tr")
        expect(pending).to_have_count(1)
        expect(pending).to_contain_text(reference)
        expect(pending).to_contain_text("Migration or change of location")
        expect(pending).to_contain_text("Casa Esperanza")
        inbox = mpage.content()
        for secret in (GIVEN, FAMILY, "Saint", "1998", "Jacmel", "+51 952"):  # nothing of the person before accepting
            assert secret not in inbox, f"{secret!r} shown in the referrals inbox before acceptance"
        pending.get_by_role("button", name="Accept", exact=True).click()
        mpage.wait_for_url(case_url)
        succeeded(expect, mpage, "Referral accepted. The case is now in your case list.")
        # Accepted: the mission works with the person.
        expect(mpage.locator(".case-header .person-name")).to_contain_text(PERSON)
        case_tabs = mpage.locator(".case-nav")
        expect(case_tabs.get_by_role("link", name="Return", exact=True)).to_be_visible()
        expect(case_tabs.get_by_role("link", name="Counseling", exact=True)).to_have_count(0)
        expect(case_tabs.get_by_role("link", name="Shelter", exact=True)).to_have_count(0)
        for url in (f"/cases/{case_id}/counseling", session_url):
            response = mpage.goto(url)
            assert response.status in (403, 404), f"{url} answered {response.status} to the mission"
        mpage.goto(case_url)

        tab(mpage, "Return")
        # Her citizenship, chosen already in the searchable select (its original <select> holds the value).
        expect(mpage.locator("main select[name=destination_country]")).to_have_value("HT")
        shown = mpage.get_by_role("combobox", name="Destination country", exact=True).locator("xpath=..")
        expect(shown).to_contain_text("Haiti")
        choose(mpage.get_by_label("Receiving organisation (in the country of origin)", exact=True), "IOM Haiti")
        mpage.get_by_label("Town or district of destination", exact=True).fill("Jacmel, Sud-Est")
        mpage.get_by_role("button", name="Start the plan", exact=True).click()
        succeeded(expect, mpage, "Return plan started.")

        risk = form_with(mpage, "Save the risk assessment")
        pick(risk, "Level of risk", "low")
        risk.get_by_label("Summary of the risk assessment", exact=True).fill(
            "The recruiter operates in Peru only; no threats to the family in Jacmel were reported.")
        risk.get_by_label("Assessed on", exact=True).fill(day(0))
        risk.get_by_role("button", name="Save the risk assessment", exact=True).click()
        succeeded(expect, mpage, "Risk assessment saved.")

        family = form_with(mpage, "Save the family assessment")
        pick(family, "Outcome", "found_willing")
        family.get_by_label("Summary of the family assessment", exact=True).fill(
            "Her mother was visited in Jacmel and will receive her and her daughter.")
        family.get_by_label("Assessed on", exact=True).fill(day(0))
        family.get_by_role("button", name="Save the family assessment", exact=True).click()
        succeeded(expect, mpage, "Family assessment saved.")

        travel = form_with(mpage, "Save the travel document status")
        pick(travel, "Travel document", "requested")
        travel.get_by_label("Requested on", exact=True).fill(day(0))
        travel.get_by_role("button", name="Save the travel document status", exact=True).click()
        succeeded(expect, mpage, "Travel document status saved.")

        itinerary = form_with(mpage, "Save the itinerary")
        itinerary.get_by_label("Planned departure date", exact=True).fill(day(3))
        itinerary.get_by_label("Route and flight details", exact=True).fill(
            "Lima, Panama City, Port-au-Prince by air, then by road to Jacmel with IOM staff.")
        itinerary.get_by_role("button", name="Save the itinerary", exact=True).click()
        succeeded(expect, mpage, "Itinerary saved.")

        # While the travel document is still being issued, the plan cannot be submitted: the page says why instead
        # of offering the button (a supervisor never gets a plan they cannot approve).
        expect(mpage.get_by_role("button", name="Submit for approval", exact=True)).to_have_count(0)
        expect(mpage.locator(".return-missing")).to_contain_text("The travel document has not been issued")
        travel = form_with(mpage, "Save the travel document status")
        pick(travel, "Travel document", "issued")
        travel.get_by_label("Issued on", exact=True).fill(day(0))
        travel.get_by_role("button", name="Save the travel document status", exact=True).click()
        succeeded(expect, mpage, "Travel document status saved.")
        mpage.get_by_role("button", name="Submit for approval", exact=True).click()
        succeeded(expect, mpage, "The plan was submitted for a supervisor's approval.")
        expect(mpage.locator("h2 .badge")).to_have_text("Submitted for approval")
        expect(mpage.get_by_text("Waiting for a supervisor's approval.")).to_be_visible()  # the mission cannot
        expect(mpage.get_by_role("button", name="Approve the return", exact=True)).to_have_count(0)

        # 5. The NGO approves, once the plan is complete; then departure, arrival, reintegration. -------------------
        # The caseworker cannot move the case to the return stage before the approval, and is told why.
        page.goto(case_url)
        blocked = page.locator(".stage-blocked li", has_text="Return")
        expect(blocked).to_contain_text("only when a supervisor has approved the return plan")
        expect(page.locator("#to_stage option[value='counseling']")).to_have_count(1)
        expect(page.locator("#to_stage option[value='return']")).to_have_count(0)

        spage.goto("/")
        approvals = spage.locator("section.work-approvals")
        approvals.get_by_role("link", name=f"Approve the return plan of case {reference}").click()
        spage.wait_for_url(f"**/cases/{case_id}/return")
        expect(spage.locator(".return-checklist li", has_text="Missing:")).to_have_count(0)
        spage.once("dialog", lambda dialog: dialog.accept())  # "Approve this return?"
        spage.get_by_role("button", name="Approve the return", exact=True).click()
        succeeded(expect, spage, "Return plan approved.")
        expect(spage.locator("h2 .badge")).to_have_text("Approved")
        assert_styled(spage)
        supervisor.screenshot("journey-return-plan.png")

        page.reload()
        pick(page, "Move to stage", "return")
        page.get_by_role("button", name="Change stage", exact=True).click()
        succeeded(expect, page, "Stage changed to Return.")

        mpage.reload()
        mpage.get_by_label("Departed on", exact=True).fill(day(0))
        mpage.get_by_role("button", name="Confirm departure", exact=True).click()
        succeeded(expect, mpage, "Departure confirmed.")
        mpage.get_by_label("Arrived on", exact=True).fill(day(0))
        mpage.get_by_role("button", name="Confirm arrival", exact=True).click()
        succeeded(expect, mpage, "Arrival confirmed.")
        expect(mpage.locator("h2 .badge")).to_have_text("Arrived")
        # The arrival the mission recorded moves the case to reintegration by itself (journey/automatic.py), though
        # the mission may not move the NGO's stage by hand.
        expect(mpage.locator(".alert-info", has_text="The case moved to “Reintegration”.")).to_be_visible()

        # The departure ended her stay (the bed is free: nothing left to discharge).
        tab(page, "Shelter")
        expect(page.get_by_label("Discharged on", exact=True)).to_have_count(0)
        tab(page, "Record")
        expect(page.locator("dd", has_text="Reintegration").first).to_be_visible()

        tab(mpage, "Reintegration")
        mpage.get_by_label("Plan made on", exact=True).fill(day(0))
        set_select(mpage, "support_types", ["Livelihood", "Health", "SocialCare"])
        mpage.get_by_label("Objectives", exact=True).fill(
            "Start a small food stall in Jacmel; trauma follow-up at the local health centre; school for her "
            "daughter.")
        mpage.get_by_label("Planned end", exact=True).fill(day(180))
        expect(mpage.get_by_label("Responsible organisation", exact=True).locator("option:checked")).to_have_text(
            "IOM Haiti")
        mpage.get_by_role("button", name="Save the plan", exact=True).click()
        succeeded(expect, mpage, "Reintegration plan saved.")

        mpage.get_by_label("Visited on", exact=True).fill(day(0))
        pick(mpage, "Economic sustainability", "3")
        pick(mpage, "Social sustainability", "4")
        pick(mpage, "Psychosocial sustainability", "3")
        mpage.get_by_label("Observations", exact=True).fill("Back with her mother; the stall opens next week.")
        mpage.get_by_label("Next visit due", exact=True).fill(day(5))
        mpage.get_by_role("button", name="Record the visit", exact=True).click()
        succeeded(expect, mpage, "Monitoring visit recorded.")
        visit_row = mpage.locator("table tbody tr").first
        expect(visit_row).to_contain_text("Mission")
        assert [c.strip() for c in visit_row.locator("td").all_inner_texts()[2:5]] == ["3", "4", "3"]

        # 6. The timeline, as the NGO sees it and as the mission sees it; the supervisor's work list. ---------------
        spage.goto(case_url)
        tab(spage, "Timeline")
        spage.get_by_role("link", name="Oldest first", exact=True).click()
        spage.wait_for_url("**/timeline?order=oldest")
        entries = timeline_entries(spage)
        where = positions(entries)
        order = [where[name] for name, _ in STEPS]
        assert order == sorted(order), f"timeline out of order: {[(n, where[n]) for n, _ in STEPS]}"
        days = [entries[where[name]][1].date() for name, _ in STEPS]
        assert days == sorted(days), f"timeline dates out of order: {dict(zip(where, days, strict=True))}"
        assert days[0] == TODAY - timedelta(days=20) and days[-1] == TODAY
        session_entry = spage.locator("li.timeline-session")
        expect(session_entry).to_contain_text("50 minutes with Ps. Teresa Ramos")
        assert NOTES_MARKER not in spage.content()  # the timeline never shows notes, not even to a supervisor
        expect(spage.locator("li.timeline-visit")).to_contain_text("economic 3, social 4, psychosocial 3")
        assert_styled(spage)
        supervisor.screenshot("journey-timeline.png")

        mpage.goto(f"/cases/{case_id}/timeline?order=oldest")
        mission_entries = timeline_entries(mpage)
        mission_titles = [title for title, _, _ in mission_entries]
        assert not any("session" in kind or "contact" in kind for _, _, kind in mission_entries), mission_titles
        # Screening interviews are the owning organisation's: not in the referral scope (docs/access.md).
        assert not any(title.startswith("Screening") for title in mission_titles), mission_titles
        assert "Admitted to Shelter" in mission_titles  # the facility's type, not where she slept
        mission_steps = [s for s in STEPS if s[0] not in ("contact", "session", "placement", "screening")]
        mission_where = positions(mission_entries, mission_steps)
        order = [mission_where[name] for name, _ in mission_steps]
        assert order == sorted(order), mission_titles
        mission_watch.flush()
        assert (200, mpage.url) in mission_watch.pages, "the mission's last page was not checked"
        assert {status for status, _ in mission_watch.pages} >= {200, 403}, mission_watch.pages
        assert not mission_watch.leaks, f"the mission's browser received what it must not: {mission_watch.leaks}"

        spage.goto("/")
        expect(spage.locator("section.work-approvals")).to_contain_text("Nothing waiting.")
        expect(spage.locator("section.work-crisis")).to_contain_text("Nothing waiting.")  # the call was handled
        due = spage.locator("section.work-tasks").get_by_role("link", name=f"Monitoring visit for case {reference}")
        expect(due).to_be_visible()
        # The supervisor may see who the person is: the work list names her beside the case (issue 16).
        expect(spage.locator("section.work-tasks")).to_contain_text(PERSON)
        assert_styled(spage)
        supervisor.screenshot("journey-home.png")

        for session in sessions.values():
            violations = session.csp_violations()
            assert not violations, f"Content-Security-Policy violations for {session.label}: {violations}"
            errors = session.unexplained_errors()
            assert not errors, f"browser console errors for {session.label}: {errors}"
            assert not session.failed_assets, f"assets that did not load for {session.label}: {session.failed_assets}"
    except BaseException:
        for session in sessions.values():
            with contextlib.suppress(Exception):  # the original failure matters more
                session.screenshot(f"FAILED-{request.node.name}-{session.label}.png")
        raise
    finally:
        for session in sessions.values():
            session.close()
