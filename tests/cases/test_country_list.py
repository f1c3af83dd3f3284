"""Country lists hold real countries only (ISO 3166-1, from pycountry), named in the user's language and in that
language's alphabetical order, and every form that takes a country refuses a grouping or a pseudo-locale."""

from __future__ import annotations

import pycountry
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from casemgmt import htcds
from casemgmt.accounts import operations as accounts
from casemgmt.admin.forms import OrganisationForm
from casemgmt.audit.events import SYSTEM
from casemgmt.cases.forms import CaseForm
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.intake.forms import OpenCaseForm
from casemgmt.reports import hierarchies, m49
from casemgmt.reports.filters import FilterForm
from casemgmt.returns.forms import DestinationForm
from tests import factories

LOCALES = ("en", "es", "fr", "pt", "ht", "es_PE", "fr_HT")
# What CLDR lists among its territories but nobody is a citizen of: pseudo-locales, groupings, "unknown region",
# CLDR's own sub-territories, and numeric regions.
NOT_COUNTRIES = ("XA", "XB", "EU", "EZ", "UN", "QO", "ZZ", "AC", "CP", "CQ", "DG", "EA", "IC", "TA", "419", "001")
ISO = {country.alpha_2 for country in pycountry.countries}


@pytest.fixture
def request_ctx(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_lists_the_iso_countries_and_nothing_else(request_ctx, locale):
    with force_locale(locale):
        choices = htcds.country_choices()
    codes = [code for code, _name in choices]
    assert len(codes) == len(set(codes))
    assert set(codes) == ISO | {"XK"}
    assert not set(codes) & set(NOT_COUNTRIES)
    names = {name for _code, name in choices}
    assert not {"Pseudo-Accents", "Pseudo-Bidi", "Eurozone", "European Union", "United Nations"} & names
    # Named in every language, Haitian Creole included (CLDR names no country in it; French does).
    assert [code for code, name in choices if name == code] == []


def test_the_codes_are_iso_3166_and_kosovo():
    assert set(htcds.country_codes()) == ISO | {"XK"}
    for code in NOT_COUNTRIES:
        assert code not in htcds.country_codes()
        assert not htcds.is_country(code)
    assert htcds.is_country("PE") and not htcds.is_country(None) and not htcds.is_country(["PE"])


@pytest.mark.parametrize(("locale", "names"), [
    ("es", {"PE": "Perú", "HT": "Haití", "DE": "Alemania", "US": "Estados Unidos"}),
    ("fr", {"PE": "Pérou", "HT": "Haïti", "EG": "Égypte"}),
    ("pt", {"DE": "Alemanha", "ZA": "África do Sul"}),
    ("ht", {"HT": "Haïti", "DO": "République dominicaine"}),
    ("en", {"PE": "Peru", "HT": "Haiti"}),
])
def test_names_are_translated(request_ctx, locale, names):
    with force_locale(locale):
        choices = dict(htcds.country_choices())
        assert {code: choices[code] for code in names} == names
        assert {code: htcds.country_name(code) for code in names} == names


@pytest.mark.parametrize(("locale", "before", "after"), [
    ("fr", "Égypte", "Espagne"),      # the accent does not send Égypte after Z
    ("fr", "Eswatini", "États-Unis"),
    ("es", "Egipto", "El Salvador"),
    ("es", "Islandia", "Italia"),
    ("en", "Afghanistan", "Åland Islands"),
    ("en", "Åland Islands", "Albania"),
    ("pt", "Afeganistão", "África do Sul"),
])
def test_names_are_in_alphabetical_order_ignoring_accents(request_ctx, locale, before, after):
    with force_locale(locale):
        names = [name for _code, name in htcds.country_choices()]
    assert names.index(before) < names.index(after)
    assert names == sorted(names, key=htcds.collation_key)


def test_m49_hierarchy_covers_exactly_the_same_list():
    assert set(m49.COUNTRY_REGIONS) == set(htcds.country_codes())
    for code in ("EU", "UN", "XA"):
        assert hierarchies.generalise(hierarchies.CITIZENSHIP, code, 1) == hierarchies.SUPPRESSED


def _field_errors(form_class, data: dict, field: str) -> list[str]:
    """The field's own checks and the form's inline check for it (the whole form would also want a signed-in user's
    submission token)."""
    if form_class is FilterForm:
        form = FilterForm(MultiDict(data), [])
    else:
        form = form_class(MultiDict(data), meta={"csrf": False})
    inline = getattr(type(form), f"validate_{field}", None)
    getattr(form, field).validate(form, [inline] if inline else [])
    return [str(error) for error in getattr(form, field).errors]


@pytest.mark.parametrize("code", ["XA", "EU", "EZ", "UN", "ZZ", "419"])
@pytest.mark.parametrize(("form_class", "field", "multiple"), [
    (CaseForm, "citizenship", False),
    (CaseForm, "recruitment_country", True),
    (CaseForm, "exploitation_country", True),
    (OpenCaseForm, "citizenship", False),
    (OrganisationForm, "country", False),
    (DestinationForm, "destination_country", False),
])
def test_every_form_refuses_a_code_that_is_no_country(request_ctx, form_class, field, multiple, code):
    data = {field: [code, "PE"] if multiple else code}
    assert _field_errors(form_class, data, field) != []
    good = {field: ["PE", "XK"] if multiple else "PE"}
    assert _field_errors(form_class, good, field) == []


@pytest.mark.parametrize("code", ["XA", "EU", "UN"])
@pytest.mark.parametrize("field", ["citizenship", "exploitation_country"])
def test_report_filters_refuse_a_code_that_is_no_country(request_ctx, field, code):
    assert _field_errors(FilterForm, {field: code}, field) == ["Choose a country from the list."]
    assert _field_errors(FilterForm, {field: "HT"}, field) == []


def test_posting_a_pseudo_country_to_the_case_form_is_refused(app, web):
    with app.app_context():
        factories.world()
    web.login("caseworker")
    response = web.post("/cases/new", {"given_name": "Rosa", "status": "Active", "citizenship": "XA"})
    assert response.status_code == 422
    assert "Not a valid choice." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_an_organisation_cannot_be_in_the_eurozone(ctx, world):
    for code in ("EZ", "EU", "XA"):
        with pytest.raises(accounts.AccountError, match="Unknown country code"):
            accounts.create_organisation(SYSTEM, "Red Europea", "NGO", code)
        db.session.rollback()
