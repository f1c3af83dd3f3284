"""The organisations page: the installation administrator creates organisations (an organisation's administrator
cannot); type, country and name are validated."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import Organisation
from casemgmt.audit.events import SYSTEM
from casemgmt.extensions import db
from tests.auth.support import events, new_web


def _names() -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(Organisation.name)))


def _create(install, **overrides):
    data = {"name": "Red de Apoyo", "org_type": "LegalService", "country": "EC", "contact": "apoyo@example.org"}
    data.update(overrides)
    return install.post("/admin/organisations", data, token_page="/admin/organisations")


def test_organisations_page_lists_them(install, world):
    html = install.get("/admin/organisations").get_data(as_text=True)
    for name in ("Casa Esperanza", "Camino Seguro", "IOM Haiti"):
        assert name in html


def test_create_an_organisation(install, world):
    response = _create(install)
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.name == "Red de Apoyo"))
    assert (org.org_type, org.country, org.contact) == ("LegalService", "EC", "apoyo@example.org")
    assert "Red de Apoyo" in install.get("/admin/organisations").get_data(as_text=True)
    created = events("organisation.create")[-1]
    assert created.object_id == str(org.id) and created.actor_name == "install"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"org_type": "Cartel"}, "Not a valid choice"),
    ({"org_type": ""}, "This field is required."),
    ({"country": "XX"}, "Not a valid choice"),
    ({"country": "419"}, "Not a valid choice"),
    ({"country": ""}, "This field is required."),
    ({"name": ""}, "This field is required."),
    ({"name": "   "}, "This field is required."),
    ({"name": "Casa Esperanza"}, "An organisation with this name already exists."),
    ({"name": "  casa ESPERANZA "}, "An organisation with this name already exists."),
    ({"name": "x" * 201}, "200 characters"),
])
def test_invalid_organisations_are_refused(install, world, overrides, message):
    before = _names()
    response = _create(install, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _names() == before


def test_operation_validates_without_the_form(ctx, world):
    for args, message in [
        (("", "NGO", "PE"), "needs a name"),
        (("Valid", "Cartel", "PE"), "Unknown organisation type"),
        (("Valid", "NGO", "ZZ"), "Unknown country code"),
        (("CASA ESPERANZA", "NGO", "PE"), "already exists"),
    ]:
        with pytest.raises(accounts.AccountError, match=message):
            accounts.create_organisation(SYSTEM, *args)
        db.session.rollback()
    org = accounts.create_organisation(SYSTEM, " Trimmed ", "NGO", "pe", "  ")
    assert (org.name, org.country, org.contact) == ("Trimmed", "PE", None)


@pytest.mark.parametrize("username", ["caseworker", "supervisor", "admin"])
def test_only_the_installation_administrator_creates_organisations(app, world, username):
    web = new_web(app)
    web.login(username)
    response = web.post("/admin/organisations", {"name": "Sneaky", "org_type": "NGO", "country": "PE"})
    assert response.status_code == 403
    assert "Sneaky" not in _names()
    with pytest.raises(Exception) as info:
        accounts.create_organisation(getattr(world, username), "Sneaky", "NGO", "PE")
    assert getattr(info.value, "code", None) == 403
