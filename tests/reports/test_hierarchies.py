"""Generalisation hierarchies of the de-identified export: every level coarser than the one below, every country in
an M49 region, labels for people in their language."""

from __future__ import annotations

from itertools import combinations, pairwise

import pytest
from flask import Flask
from flask_babel import Babel

from casemgmt import htcds
from casemgmt.reports import m49
from casemgmt.reports.hierarchies import (
    AGE,
    CITIZENSHIP,
    COLUMNS,
    CONTROL,
    CONTROL_GROUPS,
    EXPLOITATION,
    EXPLOITATION_COUNTRY,
    EXPLOITATION_GROUPS,
    GENDER,
    SUPPRESSED,
    YEAR,
    generalise,
    label,
    max_level,
)


def _code_lists(codes) -> list[str]:
    codes = sorted(codes)
    return [""] + codes + [";".join(pair) for pair in combinations(codes, 2)]


DOMAINS: dict[str, list[str]] = {
    YEAR: [str(year) for year in range(1995, 2036)] + ["unknown"],
    GENDER: [*htcds.GENDER, "unknown"],
    AGE: list(htcds.AGE_BANDS),
    CITIZENSHIP: [*htcds.country_codes(), "unknown"],
    EXPLOITATION_COUNTRY: [*htcds.country_codes(), "multiple", "unknown"],
    EXPLOITATION: _code_lists(htcds.EXPLOITATION_TYPES),
    CONTROL: _code_lists(htcds.CONTROL_METHODS),
}


# --- M49 -------------------------------------------------------------------------------------------------------------


def test_every_country_code_has_a_sub_region_and_a_region():
    codes = htcds.country_codes()
    assert len(codes) > 240
    missing = [code for code in codes if code not in m49.COUNTRY_REGIONS]
    assert missing == []
    for code in codes:
        sub_region, region = m49.COUNTRY_REGIONS[code]
        assert m49.is_m49(sub_region) and m49.is_m49(region)
        assert region in {"M49:001", "M49:002", "M49:009", "M49:019", "M49:142", "M49:150"}


def test_a_sub_region_lies_in_one_region():
    regions_of: dict[str, set[str]] = {}
    for sub_region, region in m49.COUNTRY_REGIONS.values():
        regions_of.setdefault(sub_region, set()).add(region)
    assert {sub_region: regions for sub_region, regions in regions_of.items() if len(regions) > 1} == {}


@pytest.mark.parametrize(("country", "sub_region", "region"), [
    ("PE", "M49:005", "M49:019"),  # South America, Americas
    ("HT", "M49:029", "M49:019"),  # Caribbean
    ("MX", "M49:013", "M49:019"),  # Central America
    ("US", "M49:021", "M49:019"),  # Northern America
    ("NG", "M49:011", "M49:002"),  # Western Africa
    ("ES", "M49:039", "M49:150"),  # Southern Europe
    ("TH", "M49:035", "M49:142"),  # South-eastern Asia
    ("FJ", "M49:054", "M49:009"),  # Melanesia
])
def test_countries_sit_where_m49_puts_them(country, sub_region, region):
    assert m49.sub_region(country) == sub_region
    assert m49.region(country) == region


def test_unknown_country_has_no_region():
    assert m49.sub_region("QQ") is None
    assert m49.region("QQ") is None


def test_every_region_used_has_a_name():
    used = {code for pair in m49.COUNTRY_REGIONS.values() for code in pair}
    nameless = [code for code in used if m49.name(code) == code.removeprefix(m49.PREFIX)]
    assert nameless == []


# --- hierarchies -----------------------------------------------------------------------------------------------------


def test_levels_per_column():
    assert {column: max_level(column) for column in COLUMNS} == {
        YEAR: 2, GENDER: 1, AGE: 3, CITIZENSHIP: 3, EXPLOITATION_COUNTRY: 3, EXPLOITATION: 2, CONTROL: 2,
    }


@pytest.mark.parametrize("column", COLUMNS)
def test_level_zero_is_the_value_and_the_top_level_suppresses_it(column):
    for value in DOMAINS[column]:
        assert generalise(column, value, 0) == value
        assert generalise(column, value, max_level(column)) == SUPPRESSED
        assert generalise(column, value, max_level(column) + 3) == SUPPRESSED


@pytest.mark.parametrize("column", COLUMNS)
def test_each_level_is_a_function_of_the_level_below(column):
    """So raising a level only merges classes, never splits one."""
    for level in range(max_level(column)):
        above: dict[str, str] = {}
        for value in DOMAINS[column]:
            lower, higher = generalise(column, value, level), generalise(column, value, level + 1)
            assert above.setdefault(lower, higher) == higher, (column, level, value)


@pytest.mark.parametrize("column", COLUMNS)
def test_each_level_has_fewer_values_than_the_level_below(column):
    counts = [len({generalise(column, value, level) for value in DOMAINS[column]})
              for level in range(max_level(column) + 1)]
    assert all(lower > higher for lower, higher in pairwise(counts)), counts
    assert counts[-1] == 1


@pytest.mark.parametrize(("column", "value"), [
    (YEAR, "20x4"), (GENDER, "Robot"), (AGE, "18-25"), (CITIZENSHIP, "QQ"), (EXPLOITATION_COUNTRY, "Peru"),
    (EXPLOITATION, "ForcedLabour;Smuggling"), (CONTROL, "Bribery"),
])
def test_a_value_outside_the_domain_is_suppressed_as_soon_as_it_is_generalised(column, value):
    for level in range(1, max_level(column) + 1):
        assert generalise(column, value, level) == SUPPRESSED


@pytest.mark.parametrize(("year", "range_"), [
    ("2020", "2020-2024"), ("2024", "2020-2024"), ("2025", "2025-2029"), ("1999", "1995-1999"),
    ("unknown", "unknown"),
])
def test_years_go_to_five_year_ranges_aligned_on_multiples_of_five(year, range_):
    assert generalise(YEAR, year, 1) == range_


@pytest.mark.parametrize(("band", "broad", "minor_or_adult"), [
    ("0-8", "0-17", "minor"), ("9-17", "0-17", "minor"), ("18-20", "18-29", "adult"), ("27-29", "18-29", "adult"),
    ("30-38", "30-47", "adult"), ("39-47", "30-47", "adult"), ("48+", "48+", "adult"),
    ("unknown", "unknown", "unknown"),
])
def test_age_bands_broaden_then_split_minors_from_adults(band, broad, minor_or_adult):
    assert generalise(AGE, band, 1) == broad
    assert generalise(AGE, band, 2) == minor_or_adult


@pytest.mark.parametrize("column", [CITIZENSHIP, EXPLOITATION_COUNTRY])
def test_countries_go_to_sub_region_then_region(column):
    assert [generalise(column, "EC", level) for level in range(4)] == ["EC", "M49:005", "M49:019", "*"]
    assert [generalise(column, "multiple", level) for level in range(4)] == ["multiple"] * 3 + ["*"]
    assert [generalise(column, "unknown", level) for level in range(4)] == ["unknown"] * 3 + ["*"]


def test_exploitation_types_are_grouped_into_sexual_labour_and_other():
    assert generalise(EXPLOITATION, "ForcedLabour;SexualExploitation", 1) == "labour;sexual"
    assert generalise(EXPLOITATION, "ChildLabour;ForcedBegging;Servitude", 1) == "labour"
    assert generalise(EXPLOITATION, "ForcedMarriage;OrganRemoval;SexualExploitation", 1) == "other;sexual"
    assert generalise(EXPLOITATION, "", 1) == ""


def test_means_of_control_are_grouped():
    assert generalise(CONTROL, "DebtBondage;PhysicalThreats;WithholdsDocuments", 1) == "deprivation;economic;threats"
    assert generalise(CONTROL, "PhysicalAbuse;SexualAbuse", 1) == "violence"
    assert generalise(CONTROL, "", 1) == ""


def test_every_htcds_code_has_a_group():
    assert set(EXPLOITATION_GROUPS) == set(htcds.EXPLOITATION_TYPES)
    assert set(CONTROL_GROUPS) == set(htcds.CONTROL_METHODS)


def test_an_unknown_column_is_refused():
    with pytest.raises(ValueError, match="no generalisation hierarchy"):
        generalise("name", "Rosa", 1)
    with pytest.raises(ValueError, match="no generalisation hierarchy"):
        label("name", "Rosa")
    with pytest.raises(ValueError, match="negative"):
        generalise(YEAR, "2024", -1)


# --- labels ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "value", "text"), [
    (YEAR, "2020-2024", "2020-2024"),
    (YEAR, "*", "Suppressed"),
    (GENDER, "Feminine", "Female"),
    (GENDER, "unknown", "Unknown"),
    (AGE, "9-17", "9-17"),
    (AGE, "minor", "Minor (under 18)"),
    (AGE, "adult", "Adult (18 or over)"),
    (CITIZENSHIP, "HT", "Haiti"),
    (CITIZENSHIP, "M49:005", "South America"),
    (EXPLOITATION_COUNTRY, "M49:019", "Americas"),
    (EXPLOITATION_COUNTRY, "multiple", "Multiple countries"),
    (EXPLOITATION, "ForcedLabour;SexualExploitation", "Forced labour, Sexual exploitation"),
    (EXPLOITATION, "labour;sexual", "Labour exploitation, Sexual exploitation"),
    (EXPLOITATION, "", "None recorded"),
    (CONTROL, "DebtBondage", "Debt bondage"),
    (CONTROL, "economic;threats", "Economic control and deception, Threats"),
])
def test_labels_for_people(column, value, text):
    assert label(column, value) == text


def test_labels_follow_the_users_language():
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "es")
    with app.test_request_context():
        assert label(CITIZENSHIP, "M49:005") == "Sudamérica"
        assert label(EXPLOITATION_COUNTRY, "PE") == "Perú"
