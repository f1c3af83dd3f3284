"""Issue 16, item 4: forms people can use. The long and multiple selects of the case form are searchable and chosen
by keyboard (Tom Select, vendored, loaded by forms.js), still named by their labels, and the form still works without
JavaScript; a text pasted past a field's limit is kept whole, counted, and refused by the server with a message.

One case from the factories; every page is checked for CSP violations and console errors.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, serve
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def served(tmp_path):
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'forms.db'}")
    with app.app_context():
        db.create_all()
        world = factories.world()
        case = factories.case(world.caseworker, assigned_to_id=world.caseworker.id)
        case_id = case.id
        db.session.remove()
    with serve(app) as base_url:
        yield app, base_url, case_id


def saved_person(app, case_id: str) -> dict:
    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.id == case_id)).one()
        person = case.person
        values = {"citizenship": person.citizenship, "languages": sorted((person.languages or "").split(",")),
                  "given_name": unseal(person, "given_name"), "version": case.version}
        db.session.remove()
        return values


def edit_page(session: Session, case_id: str) -> None:
    session.page.goto(f"/cases/{case_id}/edit")
    session.page.wait_for_selector("html.selects-enhanced")


def assert_clean(session: Session) -> None:
    assert session.csp_violations() == []
    assert session.unexplained_errors() == []
    assert session.failed_assets == []


def test_a_country_and_two_languages_are_chosen_by_keyboard_and_saved(served, browser, expect):
    app, base_url, case_id = served
    worker = Session(browser, base_url, "forms-keyboard")
    worker.login("caseworker")
    page = worker.page
    edit_page(worker, case_id)

    # The labels still name the controls: the combobox (and its list) that the label now points to.
    page.get_by_role("combobox", name="Citizenship", exact=True).focus()
    page.keyboard.type("haiti")
    expect(page.locator("#citizenship-ts-dropdown .option.active")).to_have_text("Haiti")
    page.keyboard.press("Enter")

    # Tab goes on to the languages; each is found by typing and chosen with Enter. A search that finds nothing says
    # so in words.
    page.keyboard.press("Tab")
    expect(page.get_by_role("combobox", name="Languages spoken", exact=True)).to_be_focused()
    page.keyboard.type("zzzq")
    expect(page.locator("#languages-ts-dropdown .no-results")).to_have_text("No results found")
    for _ in range(4):
        page.keyboard.press("Backspace")
    for name in ("French", "Haitian Creole"):
        page.keyboard.type(name)
        expect(page.locator("#languages-ts-dropdown .option.active")).to_have_text(name)
        page.keyboard.press("Enter")
    chosen = page.locator("#languages-ts-control").locator("xpath=..").locator(".item")
    expect(chosen).to_have_count(4)  # Spanish and Quechua from the factory, and the two chosen
    assert chosen.first.locator(".remove").get_attribute("title") == "Remove"

    # Nothing pushes a phone's page sideways, four languages chosen.
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".alert-success")).to_be_visible()
    saved = saved_person(app, case_id)
    assert saved["citizenship"] == "HT"
    assert saved["languages"] == ["es", "fr", "ht", "qu"]

    # axe finds nothing wrong in the form: the enhanced selects (the hidden plain ones included) and the counters.
    edit_page(worker, case_id)
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe.Axe().run(page, context="main form")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]] == []
    assert_clean(worker)
    worker.close()


def test_without_javascript_the_plain_selects_still_submit(served, browser, expect):
    app, base_url, case_id = served
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name=username]").fill("caseworker")
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_load_state()
    page.goto(f"/cases/{case_id}/edit")
    assert page.locator(".ts-wrapper").count() == 0
    page.locator("select[name=citizenship]").select_option("BR")
    page.locator("select[name=languages]").select_option(["pt", "es"])
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".alert-success")).to_be_visible()
    saved = saved_person(app, case_id)
    assert saved["citizenship"] == "BR" and saved["languages"] == ["es", "pt"]
    context.close()


def test_a_pasted_text_over_the_limit_is_kept_counted_and_refused(served, browser, expect):
    app, base_url, case_id = served
    worker = Session(browser, base_url, "forms-counter")
    worker.login("caseworker")
    page = worker.page
    edit_page(worker, case_id)
    before = saved_person(app, case_id)

    name = page.get_by_label("Given name(s)")
    assert name.get_attribute("maxlength") is None and name.get_attribute("data-maxlength") == "120"
    counter = page.locator("#given_name-counter")
    name.focus()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.insert_text("x" * 110)  # as a paste inserts it
    expect(counter).to_have_text("110 / 120")
    page.keyboard.insert_text("y" * 40)
    assert len(name.input_value()) == 150  # nothing cut
    expect(counter).to_have_text("30 characters over the limit of 120")
    expect(counter).to_have_class("form-text char-counter over-limit")
    assert name.get_attribute("aria-invalid") == "true"
    assert "given_name-counter" in name.get_attribute("aria-describedby")

    # A line break counts as the two characters a browser sends (CR LF), as the server counts it.
    address = page.get_by_label("Address")
    address.fill("a\nb")
    expect(page.locator("#address-counter")).to_have_text("4 / 500")

    page.locator("main form button[type=submit]").last.click()
    expect(page.locator("#given_name-errors")).to_have_text("Field cannot be longer than 120 characters.")
    assert len(page.get_by_label("Given name(s)").input_value()) == 150  # the text is kept to be shortened
    expect(page.locator("#given_name-counter")).to_have_text("30 characters over the limit of 120")
    assert saved_person(app, case_id) == before  # nothing saved
    assert_clean(worker)
    worker.close()


def test_the_strings_come_from_the_page(served, browser, expect):
    """forms.js takes its words and the library's address from its <script data-forms> (macros.forms_config, in the
    page's language); here a page carries made-up ones, to see each used."""
    _app, base_url, case_id = served
    worker = Session(browser, base_url, "forms-strings")
    worker.login("caseworker")
    page = worker.page
    config = {"counter": "{count} de {limit}", "overOne": "{count} carácter de más (límite: {limit})",
              "overOther": "{count} caracteres de más (límite: {limit})", "noResults": "Sin resultados",
              "remove": "Quitar", "search": "Escriba para buscar",
              "tomSelectJs": "/static/vendor/tom-select/tom-select.popular.min.js",
              "tomSelectCss": "/static/vendor/tom-select/tom-select.bootstrap5.min.css"}

    def with_config(route):
        html = route.fetch().text()
        html = re.sub(r"(<script[^>]*forms[^>]*?)\s+data-forms='[^']*'", r"\1", html)
        html = re.sub(r'(<script src="[^"]*forms[^"]*\.js")', lambda m: m.group(1) + " data-forms='"
                      + json.dumps(config).replace("'", "&#39;") + "'", html)
        route.fulfill(body=html, headers={"content-type": "text/html; charset=utf-8"})

    page.route(re.compile(r".*/edit$"), with_config)
    edit_page(worker, case_id)
    name = page.get_by_label("Given name(s)")
    name.fill("x" * 121)
    expect(page.locator("#given_name-counter")).to_have_text("1 carácter de más (límite: 120)")
    name.fill("x" * 100)
    expect(page.locator("#given_name-counter")).to_have_text("100 de 120")
    page.get_by_role("combobox", name="Languages spoken", exact=True).focus()
    page.keyboard.type("zzzq")
    expect(page.locator("#languages-ts-dropdown .no-results")).to_have_text("Sin resultados")
    assert page.locator("#languages-ts-control").get_attribute("placeholder") == "Escriba para buscar"
    assert_clean(worker)
    worker.close()
