"""Issue 13, "Done means": the same person is found whatever the spelling, in English and Spanish pages, and another
organisation learns nothing, while the organisation holding the person is told.

Casa Esperanza (Peru) holds "María Quispe Mamani" (born 2010-03-14, phone +51 987 654 321) and "Jean-Baptiste Pierre".
Its caseworker finds them by search typed without accents, by the phone as written locally, with the surnames swapped
and in a Creole spelling, and the duplicate check on the new-case form warns for each variant. A Spanish-speaking
colleague does the same on Spanish pages. Camino Seguro (Colombia) searches for her and registers her: its pages say
nothing about Casa Esperanza, exactly as for a person nobody holds, and after the cross-organisation sweep Casa
Esperanza's supervisor has a notice naming Camino Seguro and the matching case.

Only the organisations and users come from factories. Screenshots go to test-artifacts/ (matching-*.png).
"""

from __future__ import annotations

import re

import pytest

from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, assert_styled, serve
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MARIA = {"given": "María", "family": "Quispe Mamani", "born": "2010-03-14", "phone": "+51 987 654 321",
         "document": "PE1234567"}
JEAN = {"given": "Jean-Baptiste", "family": "Pierre", "born": "1995-07-02"}


@pytest.fixture
def served(tmp_path):
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'matching.db'}")
    with app.app_context():
        db.create_all()
        factories.world()
        db.session.remove()
    with serve(app) as base_url:
        yield app, base_url


def fill_person(page, given: str, family: str = "", born: str = "", phone: str = "", document: str = "") -> None:
    page.goto("/cases/new")
    page.locator("input[name=given_name]").fill(given)
    page.locator("input[name=family_name]").fill(family)
    if born:
        page.locator("input[name=date_of_birth]").fill(born)
    if phone:
        page.locator("input[name=phone]").fill(phone)
    if document:
        page.locator("input[name=document_number]").fill(document)


def create_case(page, expect, **person) -> str:
    """Create a case through the form (creating anyway if the check proposes others); returns its reference."""
    fill_person(page, **person)
    page.locator("form button[type=submit].btn-primary").last.click()
    anyway = page.locator("button[name=create_anyway]")
    if anyway.count():
        anyway.click()
    expect(page.locator(".alert-success")).to_be_visible()
    return re.search(r"C-[0-9A-Z]+", page.locator(".alert-success").inner_text()).group(0)


def search(page, term: str, year: str = "") -> list[str]:
    """The references the search page shows for a term, best first."""
    page.goto("/cases/search")
    page.locator("input[name=term]").fill(term)
    page.locator("input[name=birth_year]").fill(year)
    page.locator("button[name=page][value='1']").click()
    page.wait_for_load_state()
    assert "term" not in page.url and "maria" not in page.url.lower()  # terms never in a URL
    return page.locator("table.search-results tbody a").all_inner_texts()


def check_warns(page, expect, **person) -> list[str]:
    """The references the duplicate check proposes for a new case. When it proposes none the case is saved: the
    page then says so (so a check that says nothing is a registration, as it is for the user)."""
    fill_person(page, **person)
    page.locator("form button[type=submit].btn-primary").last.click()
    page.wait_for_load_state()
    proposed = page.locator(".duplicate-candidates a").all_inner_texts()
    if not proposed:
        expect(page.locator(".alert-success")).to_be_visible()
    return proposed


def fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"sideways scroll at {width}"


def test_the_same_person_is_found_and_only_her_holder_is_told(served, browser, expect):
    app, base_url = served
    a = Session(browser, base_url, "casa-caseworker")
    a.login("caseworker")
    page = a.page
    maria = create_case(page, expect, **MARIA)
    jean = create_case(page, expect, **JEAN)

    # Search: no accents, the phone as written locally, surnames swapped, a Creole spelling, a document with spaces.
    assert search(page, "maria quispe mamani")[:1] == [maria]
    assert maria in search(page, "María")
    assert search(page, "987 654 321") == [maria]
    assert search(page, "Mamani Quispe Maria")[:1] == [maria]
    assert search(page, "pe 123 4567") == [maria]
    assert search(page, "Jan Batis Pyè")[:1] == [jean]
    assert_styled(page)
    for width in (1366, 390):
        fits(page, width)
    page.set_viewport_size({"width": 1280, "height": 900})
    a.screenshot("matching-search-en.png")

    # The duplicate check on the new-case form, for each variant.
    assert check_warns(page, expect, given="Maria", family="Quispe Mamani", born=MARIA["born"]) == [maria]
    assert check_warns(page, expect, given="Maria", family="Mamani Quispe", born=MARIA["born"]) == [maria]
    # Day and month exchanged (2 July written as 7 February).
    assert check_warns(page, expect, given="Jean Baptiste", family="Pierre", born="1995-02-07") == [jean]
    assert check_warns(page, expect, given="Jan Batis", family="Pyè", born=JEAN["born"]) == [jean]
    a.screenshot("matching-check-en.png")
    # A different person with the same common name, born years apart, is not proposed (and is saved).
    assert check_warns(page, expect, given="María", family="Quispe Mamani", born="1987-03-14") == []

    # The same on Spanish pages, for the supervisor (who may open every case of the organisation).
    es = Session(browser, base_url, "casa-supervisor-es", locale="es-ES")
    es.login("supervisor")
    assert es.page.locator("html").get_attribute("lang").startswith("es")
    assert search(es.page, "maria", year="2010") == [maria]
    assert search(es.page, "Pyè Jan Batis")[:1] == [jean]
    expect(es.page.locator("main")).to_contain_text("Nombre, teléfono o número de documento")
    assert check_warns(es.page, expect, given="Maria", family="Mamani Quispe", born=MARIA["born"]) == [maria]
    expect(es.page.locator(".duplicate-report")).to_contain_text("Es posible que esta persona ya esté registrada")
    expect(es.page.get_by_role("button", name="Crear un nuevo caso de todos modos")).to_be_visible()
    es.screenshot("matching-check-es.png")

    # Another organisation: the same answers for Casa Esperanza's person as for a person nobody holds.
    b = Session(browser, base_url, "camino-caseworker")
    b.login("caseworker2")
    held = search(b.page, "María Quispe Mamani")
    held_page = b.page.locator("main").inner_text()
    nobody = search(b.page, "Rosalba Quinteros Mamani")
    nobody_page = b.page.locator("main").inner_text()
    assert held == nobody == []
    assert held_page.replace("María Quispe Mamani", "X") == nobody_page.replace("Rosalba Quinteros Mamani", "X")
    # Its duplicate check proposes nothing and says nothing: the case is simply saved.
    assert check_warns(b.page, expect, given="Maria", family="Quispe Mamani", born=MARIA["born"]) == []
    assert b.page.locator(".duplicate-report").count() == 0
    registered = re.search(r"C-[0-9A-Z]+", b.page.locator(".alert-success").inner_text()).group(0)
    assert "Casa Esperanza" not in b.page.content()

    # The sweep looks in the other organisations' cases and tells the holder, never the one who registered.
    from casemgmt.matching import crossorg

    with app.app_context():
        crossorg.run_pending()
        db.session.commit()
    boss = Session(browser, base_url, "casa-supervisor")
    boss.login("supervisor")
    boss.page.goto("/notifications")
    notice = boss.page.locator("main")
    expect(notice).to_contain_text("Camino Seguro")
    expect(notice).to_contain_text(maria)
    assert registered not in notice.inner_text()
    # One registration, one notice (the look-alike Casa Esperanza saved itself, born 1987, matches nobody).
    assert boss.page.locator("ul.notifications > li").count() == 1
    boss.screenshot("matching-notice-en.png")
    other = Session(browser, base_url, "camino-supervisor")
    other.login("supervisor2")
    other.page.goto("/notifications")
    assert "Casa Esperanza" not in other.page.locator("main").inner_text()
    assert maria not in other.page.locator("main").inner_text()

    for session in (a, es, b, boss, other):
        assert session.csp_violations() == [], session.label
        assert session.unexplained_errors() == [], session.label
        session.close()
