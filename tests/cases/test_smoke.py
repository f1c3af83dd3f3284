from casemgmt.cases.models import Case
from casemgmt.extensions import db
from tests import factories


def test_caseworker_creates_views_and_finds_a_case(app, web):
    with app.app_context():
        w = factories.world()
        existing = factories.case(w.caseworker)
        reference = existing.reference
    assert web.login("caseworker").status_code == 302
    listing = web.get("/cases/")
    assert listing.status_code == 200
    assert reference in listing.get_data(as_text=True)
    assert "María José Quispe Mamani" in listing.get_data(as_text=True)
    created = web.post("/cases/new", {"given_name": "Rosa", "family_name": "Huamán", "status": "Active",
                                      "date_of_birth": "2001-02-03"})
    assert created.status_code == 302, created.get_data(as_text=True)
    page = web.get(created.headers["Location"])
    assert "Rosa" in page.get_data(as_text=True)
    found = web.post("/cases/search", {"term": "  rosa   HUAMÁN "})
    assert found.status_code == 200
    assert "Rosa Huamán" in found.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Case).count() == 2
