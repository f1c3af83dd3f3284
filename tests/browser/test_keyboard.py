"""Issue 16, item 7: the journey can be done with the keyboard alone.

A caseworker logs in, opens "New case" from the grouped menu, fills the case form (the searchable selects too),
records a consent on the case's Consent tab, moves the case to another stage from its Record tab and logs out, in
headless Chromium, pressing keys and typing only: no clicks, no filled fields, no focus set by the test and no page
opened by address after /login. `tab_to` presses Tab until the element wanted has the focus, and checks on the way
that every link, button and field the focus lands on shows it (an outline or a ring that stands out from what is
around it). What each form saved is read back from the database.

Screenshots go to test-artifacts/ (keyboard-*.png).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.cases.models import Case, StageChange
from casemgmt.consent.models import ConsentRecord
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, serve
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GIVEN, FAMILY = "Yesenia", "Quispe Mamani"
BIRTH = date(2001, 7, 14)
CONSENT_NOTE = "Explained in Spanish; she asked to keep her mother's address private."
STAGE_REASON = "No shelter needed: she stays with her aunt and starts counseling."

# The element that shows the focus: a searchable select's ring is drawn on its box (Tom Select's .ts-control), not
# on the text input inside it that has the focus.
RING_OF = """e => (e.closest('.ts-wrapper') && e.closest('.ts-wrapper').querySelector('.ts-control')) || e"""

# What the focused element looks like, once its transitions have ended (Bootstrap fades its rings in over 0.15 s).
# An indicator is an outline, or a box-shadow ring, whose colour contrasts at least 3:1 with the background behind
# it (WCAG 1.4.11, non-text contrast); Chromium's own "auto" outline is drawn in two colours and always stands out.
FOCUS_STATE = """() => {
  const e = document.activeElement;
  const ring = (""" + RING_OF + """)(e);
  for (const el of [e, ring]) { for (const a of el.getAnimations()) { a.finish(); } }
  const style = getComputedStyle(ring);
  const rgba = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); return m ? m[1].split(',').map(Number) : null; };
  const opaque = c => c && (c[3] === undefined || c[3] > 0);
  const lum = c => {
    const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  };
  const contrast = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // The background behind the ring: the first ancestor's that is not transparent.
  let node = ring.parentElement, bg = [255, 255, 255, 1];
  while (node) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (opaque(c)) { bg = c; break; }
    node = node.parentElement;
  }
  const over = c => { const a = c[3] === undefined ? 1 : c[3]; return [0, 1, 2].map(i => c[i] * a + bg[i] * (1 - a)); };
  let ratio = 0, kind = 'none';
  // On a date field's calendar button (the Tab stop after the year) the field no longer matches :focus: Chromium
  // draws its own dark ring around the button (seen in screenshots).
  if (/^(date|datetime-local|month|week|time)$/.test(e.type) && !e.matches(':focus')) { kind = 'picker'; ratio = 21; }
  if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) {
    kind = 'outline';
    ratio = style.outlineStyle === 'auto' ? 21 : contrast(over(rgba(style.outlineColor)), bg);
  }
  if (style.boxShadow !== 'none') {
    // Each shadow of the list: an inset one (the current menu group's underline) is not a focus ring.
    for (const shadow of style.boxShadow.split(/,(?![^(]*\\))/)) {
      const c = rgba(shadow);
      if (opaque(c) && !/inset/.test(shadow)) {
        const r = contrast(over(c), bg);
        if (r > ratio) { ratio = r; kind = 'box-shadow'; }
      }
    }
  }
  const label = (e.getAttribute('aria-label') || e.innerText || e.value || '').trim().split('\\n')[0].slice(0, 40);
  return {tag: e.tagName.toLowerCase(), type: e.type || '', id: e.id, label, kind, ratio: Math.round(ratio * 100) / 100,
          outline: style.outlineStyle + ' ' + style.outlineWidth + ' ' + style.outlineColor, shadow: style.boxShadow,
          background: 'rgb(' + bg.slice(0, 3).join(', ') + ')'};
}"""

CONTROLS = ("a", "button", "input", "select", "textarea")


def focused(page) -> dict:
    return page.evaluate(FOCUS_STATE)


def describe(state: dict) -> str:
    return f"<{state['tag']}{' id=' + state['id'] if state['id'] else ''}> {state['label']!r}"


def assert_focus_visible(page, state: dict | None = None) -> dict:
    """The focused link, button or field shows that it has the focus, in a colour that stands out from the background
    around it (3:1)."""
    state = state or focused(page)
    if state["tag"] in CONTROLS:
        assert state["kind"] != "none" and state["ratio"] >= 3, (
            f"{describe(state)} on {page.url} has the focus but no visible focus indicator: outline {state['outline']},"
            f" box-shadow {state['shadow']}, on {state['background']} (contrast {state['ratio']}:1)")
    return state


def tab_to(page, description: str, predicate_js: str, limit: int = 80, key: str = "Tab") -> dict:
    """Press Tab (or `key`, e.g. Shift+Tab) until the focused element matches `predicate_js` (a JavaScript function
    of the element), checking the focus indicator of every element passed. Fails naming where the focus went."""
    path: list[str] = []
    for _ in range(limit):
        page.keyboard.press(key)
        state = assert_focus_visible(page)
        path.append(describe(state))
        if page.evaluate(f"({predicate_js})(document.activeElement)"):
            return state
    raise AssertionError(f"{key} did not reach {description} on {page.url} in {limit} presses; the focus went "
                         f"through {' → '.join(path[-12:])} and stuck on {path[-1]}")


def by_id(element_id: str) -> str:
    return f"e => e.id === {element_id!r}"


def by_text(tag: str, text: str, within: str = "main") -> str:
    """A `tag` whose own text is `text`, inside `within`."""
    return (f"e => e.tagName === {tag.upper()!r} && e.closest({within!r}) !== null"
            f" && e.textContent.trim() === {text!r}")


def type_date(page, value: date) -> None:
    """Type a date into the date field that has the focus, its parts one after the other as a person types them (the
    field moves on to the next part by itself). Headless Chromium lays the parts out month, day, year whatever the
    page's or the system's language (tried with en-GB and fr-FR, LANG and --lang): checked, so that a Chromium that
    orders them otherwise fails here with a clear message."""
    page.keyboard.type(value.strftime("%m%d%Y"))
    typed = page.evaluate("document.activeElement.value")
    assert typed == value.isoformat(), f"typed {value} month first and the date field reads {typed!r}"


def choose_in_search(page, text: str) -> None:
    """In the searchable select that has the focus: type to search and press Enter at once, as a quick typist does,
    without waiting to see the list (what it chose is checked after)."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def assert_focus_stays(page, element_id: str) -> None:
    """The focus is still on `element_id` a moment later: nothing (a search still pending in a select left behind)
    takes it back."""
    page.wait_for_timeout(450)
    assert page.evaluate("document.activeElement.id") == element_id, (
        f"the focus left #{element_id} by itself for {describe(focused(page))}")


@pytest.fixture
def served(tmp_path):
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'keyboard.db'}")
    with app.app_context():
        db.create_all()
        factories.world()
        db.session.remove()
    with serve(app) as base_url:
        yield app, base_url


def saved_case(app, case_id: str) -> dict:
    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.id == case_id)).one()
        person = case.person
        values = {
            "given_name": unseal(person, "given_name"), "family_name": unseal(person, "family_name"),
            "date_of_birth": unseal(person, "date_of_birth"), "gender": person.gender,
            "citizenship": person.citizenship, "languages": sorted((person.languages or "").split(",")),
            "trafficking_status": case.trafficking_status, "status_decided_by": case.status_decided_by,
            "pregnant": case.pregnant, "status": case.status, "stage": case.stage,
            "assigned_to": case.assigned_to.username if case.assigned_to else None,
            "created_by": db.session.get(User, case.created_by_id).username,
        }
        db.session.remove()
        return values


def saved_consents(app, case_id: str) -> list[dict]:
    with app.app_context():
        records = db.session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case_id)).all()
        values = [{"obtained_on": r.obtained_on, "language": r.language, "interpreter_used": r.interpreter_used,
                   "points": [r.point_interview, r.point_purpose, r.point_data_uses, r.point_research,
                              r.point_access_right, r.point_retention, r.point_withdrawal],
                   "consents_to_share": r.consents_to_share, "consents_to_return": r.consents_to_return,
                   "notes": unseal(r, "notes")} for r in records]
        db.session.remove()
        return values


def saved_stage_changes(app, case_id: str) -> list[tuple]:
    with app.app_context():
        changes = db.session.scalars(select(StageChange).where(StageChange.case_id == case_id)
                                     .order_by(StageChange.changed_at)).all()
        values = [(c.from_stage, c.to_stage, unseal(c, "reason") if c.reason else None) for c in changes]
        db.session.remove()
        return values


def test_a_caseworker_opens_a_case_records_consent_and_moves_it_on_by_keyboard(served, browser, expect):
    app, base_url = served
    session = Session(browser, base_url, "keyboard")
    page = session.page
    today = date.today()
    try:
        # Log in: the username field has the focus when the page opens. Tests do not require two-factor codes
        # (REQUIRE_2FA is off in tests.conftest.make_test_app): Enter in the passphrase field logs in.
        page.goto("/login")
        assert page.evaluate("document.activeElement.name") == "username"
        assert_focus_visible(page)
        page.keyboard.type("caseworker")
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        page.keyboard.type(factories.PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/$"))

        # The grouped menu: Tab to "Cases", Enter opens it, the arrow keys reach "New case".
        tab_to(page, 'the "Cases" menu group', by_id("menu-cases"))
        page.keyboard.press("Enter")
        expect(page.locator("#menu-cases + .dropdown-menu")).to_be_visible()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        state = assert_focus_visible(page)
        assert state["label"] == "New case", state
        session.screenshot("keyboard-menu.png")
        page.keyboard.press("Enter")
        page.wait_for_url("**/cases/new")
        page.wait_for_selector("html.selects-enhanced")

        # The skip link is the first stop; it takes the focus past the menu to the form's first field.
        page.keyboard.press("Tab")
        assert assert_focus_visible(page)["label"] == "Skip to main content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "given_name"
        assert_focus_visible(page)

        # The case form.
        page.keyboard.type(GIVEN)
        tab_to(page, "Family name(s)", by_id("family_name"), limit=1)
        page.keyboard.type(FAMILY)
        tab_to(page, "Date of birth", by_id("date_of_birth"), limit=2)
        type_date(page, BIRTH)
        tab_to(page, "Gender", by_id("gender"))
        page.keyboard.type("Female")  # a plain select chooses the option its typed letters begin
        expect(page.locator("#gender")).to_have_value("Feminine")
        tab_to(page, "Citizenship (searchable)", by_id("citizenship-ts-control"), limit=1)
        choose_in_search(page, "Peru")
        expect(page.locator("#citizenship")).to_have_value("PE")
        tab_to(page, "Languages spoken (searchable)", by_id("languages-ts-control"), limit=1)
        assert_focus_stays(page, "languages-ts-control")
        session.screenshot("keyboard-searchable-select.png")
        choose_in_search(page, "Spanish")
        choose_in_search(page, "Quechua")
        expect(page.locator("#languages")).to_have_values(["es", "qu"])
        tab_to(page, "Pregnant", by_id("pregnant"))
        assert_focus_stays(page, "pregnant")
        page.keyboard.press("Space")
        tab_to(page, "Trafficking status", by_id("trafficking_status"))
        page.keyboard.type("Possible")
        tab_to(page, "Status decided by", by_id("status_decided_by"), limit=1)
        page.keyboard.type("NGO")
        tab_to(page, "Assigned caseworker", by_id("assigned_to_id"))
        page.keyboard.type("Caseworker")
        tab_to(page, "the Save button", by_text("button", "Save"))
        session.screenshot("keyboard-save.png")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
        case_id = page.url.rsplit("/", 1)[1]
        expect(page.locator(".alert-success")).to_be_visible()
        assert saved_case(app, case_id) == {
            "given_name": GIVEN, "family_name": FAMILY, "date_of_birth": BIRTH.isoformat(), "gender": "Feminine",
            "citizenship": "PE", "languages": ["es", "qu"], "trafficking_status": "PossibleVictimOfTrafficking",
            "status_decided_by": "NGO", "pregnant": True, "status": "Active", "stage": "intake",
            "assigned_to": "caseworker", "created_by": "caseworker",
        }

        # The case's tabs: Tab along them to Consent.
        tab_to(page, 'the case\'s "Consent" tab', by_text("a", "Consent", within=".case-nav"))
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/cases/{case_id}/consent")
        tab_to(page, "Date consent was obtained", by_id("obtained_on"))
        type_date(page, today)
        tab_to(page, "The person's language (searchable)", by_id("language-ts-control"))
        choose_in_search(page, "Spanish")
        expect(page.locator("#language")).to_have_value("es")
        for point in ("point_interview", "point_purpose", "point_data_uses", "point_research", "point_access_right",
                      "point_retention", "point_withdrawal", "consents_to_share"):
            tab_to(page, point, by_id(point), limit=6)
            page.keyboard.press("Space")
        tab_to(page, "Notes", by_id("notes"))
        page.keyboard.type(CONSENT_NOTE)
        tab_to(page, "the Record consent button", by_text("button", "Record consent"))
        session.screenshot("keyboard-consent.png")
        page.keyboard.press("Space")
        expect(page.locator(".alert-success")).to_contain_text("Consent recorded.")
        assert saved_consents(app, case_id) == [{
            "obtained_on": today, "language": "es", "interpreter_used": False, "points": [True] * 7,
            "consents_to_share": True, "consents_to_return": False, "notes": CONSENT_NOTE,
        }]

        # Back to the Record tab, and on to counseling with a reason.
        tab_to(page, 'the case\'s "Record" tab', by_text("a", "Record", within=".case-nav"))
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/cases/{case_id}")
        tab_to(page, "Move to stage", by_id("to_stage"))
        page.keyboard.type("Counseling")
        expect(page.locator("#to_stage")).to_have_value("counseling")
        tab_to(page, "the stage change's reason", by_id("reason"), limit=1)
        page.keyboard.type(STAGE_REASON)
        tab_to(page, "the Change stage button", by_text("button", "Change stage"), limit=1)
        session.screenshot("keyboard-change-stage.png")
        page.keyboard.press("Enter")
        expect(page.locator(".alert-success")).to_contain_text("Stage changed to Counseling.")
        assert saved_stage_changes(app, case_id)[-1] == ("intake", "counseling", STAGE_REASON)
        assert saved_case(app, case_id)["stage"] == "counseling"
        page.keyboard.press("Tab")
        assert_focus_visible(page)  # the skip link, after the page loaded
        session.screenshot("keyboard-skip-link.png")

        # The account menu: Enter opens it, ArrowUp reaches its last item, Log out.
        tab_to(page, "the account menu", by_id("menu-account"))
        session.screenshot("keyboard-account-menu.png")
        page.keyboard.press("Enter")
        page.keyboard.press("ArrowUp")
        state = assert_focus_visible(page)
        assert state["label"] == "Log out", state
        session.screenshot("keyboard-log-out.png")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/login"))
        expect(page.locator("#menu-account")).to_have_count(0)  # logged out: no account menu
        assert page.evaluate("document.activeElement.name") == "username"

        assert session.csp_violations() == []
        assert session.unexplained_errors() == []
    finally:
        session.close()
