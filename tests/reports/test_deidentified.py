"""The de-identified export: CTDC columns only, every record hidden among at least k - 1 others."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import select

from casemgmt.cases.models import Case, Person
from casemgmt.extensions import db
from casemgmt.reports import deidentified
from casemgmt.reports import hierarchies as h
from casemgmt.reports.filters import ReportFilters
from tests import factories
from tests.reports.test_exports import download, events, parse_csv, parse_xlsx

URL = "/reports/exports/deidentified"
PREVIEW = "/reports/exports/deidentified/preview"
YEAR = datetime(2023, 5, 1)


def person_case(actor, *, age_band: str | None = "21-23", created: datetime = YEAR, **values) -> Case:
    made = factories.case(actor, **values)
    made.created_at = created
    made.person.age_band = age_band
    db.session.commit()
    return made


def small_world(w) -> list[Case]:
    """Four people: two alike (control codes in another order), one of another age band, one unlike anyone."""
    labour = {"citizenship": "PE", "exploitation_country": ["CL"], "exploitation": ["ForcedLabour"]}
    return [
        person_case(w.caseworker, control=["DebtBondage", "WithholdsDocuments"], **labour),
        person_case(w.caseworker, control=["WithholdsDocuments", "DebtBondage"], **labour),
        person_case(w.caseworker, age_band="24-26", control=["DebtBondage", "WithholdsDocuments"], **labour),
        person_case(w.caseworker, gender="Masculine", age_band="30-38", citizenship="HT",
                    exploitation_country=["US", "CL"], exploitation=["SexualExploitation"], control=[]),
    ]


def with_settings(app, monkeypatch, **changes) -> None:
    monkeypatch.setitem(app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], **changes))


SAME = ("2023", "Feminine")
LABOUR = ("PE", "CL", "ForcedLabour", "DebtBondage;WithholdsDocuments")


def test_the_histogram_counts_people_per_combination(app, ctx, w):
    small_world(w)
    person_case(w.caseworker, gender=None, age_band=None, citizenship=None, exploitation_country=[],
                exploitation=[], control=[], created=datetime(2024, 12, 31, 23, 59))
    person_case(w.caseworker2)  # another organisation
    assert deidentified.histogram(w.ngo.id, ReportFilters()) == {
        (*SAME, "21-23", *LABOUR): 2,
        (*SAME, "24-26", *LABOUR): 1,
        ("2023", "Masculine", "30-38", "HT", "multiple", "SexualExploitation", ""): 1,
        ("2024", "unknown", "unknown", "unknown", "unknown", "", ""): 1,
    }


def test_k_2_matches_the_hand_computed_release(app, ctx, w):
    small_world(w)
    # Four people, one may be left out (25%). At level 0 two classes are single (the 24-26 and the man): too many.
    # Age has the most distinct values (3), so it goes up one level: 21-23 and 24-26 both become 18-29 and the three
    # women form one class; only the man stays alone, which the 25% allows.
    released = deidentified.release(w.ngo.id, ReportFilters(), k=2, max_suppression=0.25)
    assert released.levels == {column: (1 if column == h.AGE else 0) for column in h.COLUMNS}
    assert (released.released, released.suppressed) == (3, 1)
    assert list(deidentified.rows(released)) == [(*SAME, "18-29", *LABOUR)] * 3


def test_the_download_with_k_2_is_the_hand_computed_file(app, web, w, monkeypatch):
    with app.app_context():
        small_world(w)
    with_settings(app, monkeypatch, disclosure_k=2, deidentified_max_suppression_percent=25)
    web.login("supervisor")
    response = download(web, URL, {"deidentified-k": "2", "deidentified-format": "csv"})
    assert response.status_code == 200, response.get_data(as_text=True)
    header, *rows = parse_csv(response)
    assert tuple(header) == h.COLUMNS == (
        "yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation",
        "typeOfExploitConcatenated", "meansOfControlConcatenated",
    )
    assert [tuple(row) for row in rows] == [(*SAME, "18-29", *LABOUR)] * 3
    (event,) = events(app, "export.deidentified")
    details = json.loads(event.details)
    assert details["k"] == 2 and details["released"] == 3 and details["suppressed"] == 1
    assert details["levels"][h.AGE] == 1 and details["format"] == "csv"


@pytest.fixture
def crowd(app, w):
    """Thirty cases of the first NGO, varied enough that k = 11 needs generalising and suppressing, and five of the
    second NGO with a citizenship nobody in the first has."""
    genders = ["Feminine", "Masculine", "Feminine", "TransgenderFeminine"]
    bands = ["0-8", "9-17", "18-20", "21-23", "24-26", "27-29", "30-38", "39-47", "48+", None]
    countries = ["PE", "HT", "CO", "VE", "EC", "JM", "BO"]
    kinds = [["ForcedLabour"], ["SexualExploitation"], ["ForcedBegging", "ChildLabour"], ["ForcedMarriage"]]
    references, ids, names = set(), set(), set()
    with app.app_context():
        for n in range(30):
            made = person_case(
                w.caseworker, gender=genders[n % 4], age_band=bands[n % 10], citizenship=countries[n % 7],
                exploitation=kinds[n % 4], exploitation_country=[countries[(n + 1) % 7]],
                given_name=f"Given{n}", created=datetime(2019 + n % 6, 1 + n % 12, 3),
            )
            references.add(made.reference)
            ids.add(made.id)
            names.add(f"Given{n}")
        for _ in range(5):
            person_case(w.caseworker2, citizenship="NG")
    return references, ids, names


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_record_hides_among_k_and_nothing_identifies(app, web, w, crowd, fmt):
    references, ids, names = crowd
    web.login("supervisor")
    response = download(web, URL, {"deidentified-k": "11", "deidentified-format": fmt})
    assert response.status_code == 200
    header, *rows = parse_csv(response) if fmt == "csv" else parse_xlsx(response)
    assert tuple(header) == h.COLUMNS
    classes = Counter(tuple(str(v) for v in row) for row in rows)
    assert classes and all(persons >= 11 for persons in classes.values())
    (event,) = events(app, "export.deidentified")
    details = json.loads(event.details)
    assert details["released"] == len(rows)
    assert details["released"] + details["suppressed"] == 30  # the cohort, and only this organisation's
    text = " ".join(str(v) for row in rows for v in row)
    assert "NG" not in {v for row in rows for v in row}
    for secret in references | ids | names | {"María", "Quispe", "PE-1234567"}:
        assert secret not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)  # no exact date
    for row in rows:
        assert re.fullmatch(r"\d{4}|\d{4}-\d{4}|\*", str(row[0]))


def test_released_and_suppressed_add_up_to_the_cohort(app, ctx, w, crowd):
    for k in (2, 5, 11, 31):
        released = deidentified.release(w.ngo.id, ReportFilters(), k=k, max_suppression=0.05)
        assert released.released + released.suppressed == 30
        assert sum(1 for _ in deidentified.rows(released)) == released.released
        assert all(persons >= k for persons in released.histogram.values())


def test_filters_narrow_the_cohort(app, ctx, w, crowd):
    released = deidentified.release(w.ngo.id, ReportFilters(citizenship="PE"), k=2, max_suppression=0.05)
    own_pe = db.session.scalar(
        select(db.func.count()).select_from(Person).join(Case)
        .where(Case.organisation_id == w.ngo.id, Person.citizenship == "PE")
    )
    assert released.total == own_pe > 0


def test_k_below_the_minimum_is_refused_with_a_form_error(app, web, w, crowd):
    web.login("supervisor")
    response = download(web, URL, {"deidentified-k": "5", "deidentified-format": "csv"})
    assert response.status_code == 422
    assert "Content-Disposition" not in response.headers
    assert "k must be between 11 and 1000." in response.get_data(as_text=True)
    preview = web.get(PREVIEW + "?k=5")
    assert preview.status_code == 422
    assert "k must be between 11 and 1000." in preview.get_data(as_text=True)
    assert events(app, "export.deidentified") == []


def test_a_missing_k_is_refused(app, web, w):
    web.login("supervisor")
    response = download(web, URL, {"deidentified-format": "csv"})
    assert response.status_code == 422
    assert "Content-Disposition" not in response.headers


def test_the_preview_shows_levels_released_and_suppressed_without_a_file(app, web, w, monkeypatch):
    with app.app_context():
        small_world(w)
    with_settings(app, monkeypatch, disclosure_k=2, deidentified_max_suppression_percent=25)
    web.login("supervisor")
    response = web.get(PREVIEW + "?k=2&start=2023-01-01")
    assert response.status_code == 200
    assert "Content-Disposition" not in response.headers
    page = response.get_data(as_text=True)
    assert re.search(r"Records released</dt><dd[^>]*>3<", page)
    assert re.search(r"Records left out</dt><dd[^>]*>1<", page)
    assert re.search(r"Age</th><td>Broad age band<", page)
    assert re.search(r"Year of registration</th><td>Year<", page)
    # The download form keeps the previewed k and the filters.
    assert 'action="/reports/exports/deidentified?start=2023-01-01"' in page
    assert re.search(r'<input[^>]*name="deidentified-k"[^>]*type="hidden"[^>]*value="2"', page)
    assert events(app, "export.deidentified") == []


@pytest.mark.parametrize("username", ["caseworker", "hotline", "mission", "admin"])
def test_other_roles_cannot_export_or_preview(app, web, w, username):
    web.login(username)
    assert web.get(PREVIEW + "?k=11").status_code == 403
    assert web.post(URL, {"deidentified-k": "11", "deidentified-format": "csv"}).status_code == 403


def test_another_supervisor_sees_only_their_organisation(app, web, w, crowd):
    web.login("supervisor2")
    page = web.get(PREVIEW + "?k=11").get_data(as_text=True)
    assert re.search(r"Selected cases</dt><dd[^>]*>5<", page)
