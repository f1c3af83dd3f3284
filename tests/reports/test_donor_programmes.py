"""The donor report by project or donor, its spend by category, and the shared version's labels, merging and charts.

Expected numbers are counted in Python from what the test wrote (sets of cases, lists of Decimals), never with SQL.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from casemgmt.extensions import db
from casemgmt.reports import disclosure, donor
from casemgmt.reports.filters import ReportFilters
from casemgmt.shelter.models import Facility, Placement
from tests import factories
from tests.reports import programme_support as ps
from tests.reports.test_donor import END, START, linked_numbers, page_tables, query_string

K = 11


class Scenario:
    pass


@pytest.fixture
def scenario(app) -> Scenario:
    s = Scenario()
    with app.app_context():
        w = factories.world()
        s.w = w
        cases = []
        for index in range(30):
            case = factories.case(w.caseworker, gender="Feminine" if index % 3 else "Masculine", age_band="18-20",
                                  exploitation=["ForcedLabour"])
            case.created_at = datetime(2024, 1, 5, 10)
            cases.append(case)
        other = factories.case(w.caseworker2, gender="Feminine", age_band="18-20")
        other.created_at = datetime(2024, 1, 5, 10)
        p1 = ps.project(w.ngo, "P1", "USD", implementers=[w.ngo2])
        p2 = ps.project(w.ngo, "P2", "PEN", donor=p1.donor)
        p3 = ps.project(w.ngo2, "P3", "COP")
        s.p1, s.p2, s.p3, s.donor = p1.id, p2.id, p3.id, p1.donor_id
        for case in cases[:20]:
            ps.enrol(case, p1, w.ngo, date(2024, 2, 1))
        ps.enrol(cases[20], p1, w.ngo, END + (date(2024, 9, 2) - date(2024, 9, 1)))  # after the period
        ps.enrol(cases[21], p1, w.ngo, date(2023, 5, 1), ended=date(2024, 2, 29))  # ended before it
        for case in cases[22:26]:
            ps.enrol(case, p2, w.ngo, START)
        ps.enrol(other, p1, w.ngo2, START)  # the other implementer's case: never the first NGO's
        s.p1_cohort = {c.id for c in cases[:20]}
        s.donor_cohort = s.p1_cohort | {c.id for c in cases[22:26]}
        facility = Facility(organisation_id=w.ngo.id, name="Refugio", facility_type="shelter", bed_capacity=40)
        db.session.add(facility)
        db.session.flush()
        placements = {}
        for case in cases[:6] + cases[22:24]:
            placement = Placement(case_id=case.id, facility_id=facility.id, admitted_on=date(2024, 4, 1))
            db.session.add(placement)
            db.session.flush()
            placements[case.id] = placement.id
        for case in cases[:3]:
            ps.attribute("placement", placements[case.id], case, p1, w.ngo)
        ps.attribute("placement", placements[cases[3].id], cases[3], p2, w.ngo)
        ps.attribute("placement", placements[cases[22].id], cases[22], p2, w.ngo)
        s.shelter_p1 = {c.id for c in cases[:3]}
        s.shelter_donor = s.shelter_p1 | {cases[3].id, cases[22].id}
        # (case, project, category, amount, paid on, status, refunded)
        s.requests = [
            (cases[0], p1, "medical", "100.10", date(2024, 4, 2), "disbursed", "0"),
            (cases[1], p1, "medical", "50.25", START, "disbursed", "0"),
            (cases[1], p1, "legal", "20.00", END, "disbursed", "0"),
            (cases[2], p1, "legal", "30.00", date(2024, 2, 29), "disbursed", "0"),  # before the period
            (cases[3], p1, "medical", "10.00", date(2024, 5, 1), "refunded", "4.00"),
            (cases[4], p1, "other", "60.00", date(2024, 5, 1), "refunded", "60.00"),  # all given back
            (cases[5], p1, "medical", "99.00", None, "approved", "0"),  # never paid
            (cases[22], p2, "subsistence", "75.50", date(2024, 6, 1), "disbursed", "0"),
            (cases[23], p2, "medical", "0.70", date(2024, 6, 1), "disbursed", "0.20"),
        ]
        for case, project, category, amount, paid_on, status, refunded in s.requests:
            ps.paid(case, project, w.ngo, category, amount, paid_on, status, refunded)
        db.session.commit()
        s.requests = [(c.id, p.currency, cat, Decimal(a) - Decimal(r), day, status)
                      for c, p, cat, a, day, status, r in s.requests]
        for obj in vars(w).values():
            db.session.refresh(obj)
        db.session.expunge_all()
    return s


def expected_spend(s: Scenario, currencies: set[str], cohort: set[str] | None = None):
    """{category: (persons, {currency: amount})} and the totals, from the list of requests written."""
    persons: dict[str, set[str]] = {}
    amounts: dict[tuple[str, str], Decimal] = {}
    for case_id, currency, category, net, day, status in s.requests:
        if day is None or not START <= day <= END or status not in ("disbursed", "refunded") or net <= 0:
            continue
        if currency not in currencies or (cohort is not None and case_id not in cohort):
            continue
        persons.setdefault(category, set()).add(case_id)
        amounts[(category, currency)] = amounts.get((category, currency), Decimal("0")) + net
    return persons, amounts


def test_a_project_filter_counts_only_its_enrolled_cases_and_attributed_services(app, scenario):
    s = scenario
    with app.test_request_context():
        report = donor.build(s.w.ngo.id, ReportFilters(start=START, end=END, project=s.p1))
        assert report.total.count == len(s.p1_cohort) == 20
        shelter = next(line for line in report.services.lines if line.key == "service:shelter")
        assert shelter.count == len(s.shelter_p1) == 3
        by_donor = donor.build(s.w.ngo.id, ReportFilters(start=START, end=END, donor=s.donor))
        assert by_donor.total.count == len(s.donor_cohort) == 24
        shelter = next(line for line in by_donor.services.lines if line.key == "service:shelter")
        assert shelter.count == len(s.shelter_donor) == 5
        # Without a filter: every case of the organisation, and every shelter stay.
        everyone = donor.build(s.w.ngo.id, ReportFilters(start=START, end=END))
        assert everyone.total.count == 30
        assert next(x for x in everyone.services.lines if x.key == "service:shelter").count == 8


@pytest.mark.parametrize("which", ["none", "project", "donor"])
def test_spend_by_category_equals_an_independent_sum_of_decimals(app, scenario, which):
    s = scenario
    extra = {"none": {}, "project": {"project": s.p1}, "donor": {"donor": s.donor}}[which]
    currencies = {"none": {"USD", "PEN"}, "project": {"USD"}, "donor": {"USD", "PEN"}}[which]
    cohort = {"none": None, "project": s.p1_cohort, "donor": s.donor_cohort}[which]
    persons, amounts = expected_spend(s, currencies, cohort)
    with app.test_request_context():
        table = donor.build(s.w.ngo.id, ReportFilters(start=START, end=END, **extra)).spend
    assert table.currencies == sorted(currencies)
    for line in table.lines:
        category = line.persons.key.split(":")[1]
        assert line.persons.count == len(persons.get(category, set())), category
        for currency, money in zip(table.currencies, line.amounts, strict=True):
            assert money.amount == amounts.get((category, currency), Decimal("0")), (category, currency)
    for currency, money in zip(table.currencies, table.total.amounts, strict=True):
        independent = sum((a for (_c, cur), a in amounts.items() if cur == currency), Decimal("0"))
        assert money.amount == independent
        # The parts add up to the total shown.
        assert sum((line.amounts[table.currencies.index(currency)].amount for line in table.lines),
                   Decimal("0")) == money.amount
    assert table.total.persons.count == len(set().union(*persons.values()) if persons else set())
    if which == "project":
        assert table.lines[1].amounts[0].amount == Decimal("156.35")  # 100.10 + 50.25 + (10.00 - 4.00)


def test_every_number_of_the_filtered_page_links_to_a_list_of_that_length(app, scenario, web):
    s = scenario
    filters = ReportFilters(start=START, end=END, project=s.p1)
    web.login("supervisor")
    response = web.get(f"/reports/donor?{query_string(filters)}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    numbers = linked_numbers(page_tables(html))
    keys = {key for key, _n, _href in numbers}
    assert {"assisted", "spend:medical", "spend:legal", "spend:any", "service:shelter"} <= keys
    checked = {}
    for key, number, href in numbers:
        href = href.replace("&amp;", "&")
        assert "r_project=" in href, key
        if href in checked:
            continue
        text = web.get(href).get_data(as_text=True)
        match = re.search(r"(\d+) cases?\b", text)
        assert match, key
        checked[href] = int(match.group(1))
        assert checked[href] == number, f"{key}: the list shows {checked[href]}, the report {number}"
    assert re.search(r"\$\s?156\.35", html), "the medical spend of P1, formatted as money"


def test_another_organisations_project_or_an_unknown_one_is_refused(app, scenario, web):
    s = scenario
    web.login("supervisor")
    for query in (f"project={s.p3}", "project=999999", "donor=999999", "project=abc"):
        for url in (f"/reports/donor?{query}", f"/reports/donor.csv?{query}", f"/reports/donor.xlsx?{query}"):
            response = web.get(url, buffered=True)
            assert response.status_code == 422, url
            text = response.get_data(as_text=True)
            assert "Choose a project your organisation implements." in text or "Choose a donor" in text
            assert "P3" not in text and "Project P3" not in text
    # A figure list that names another organisation's project is not the list of any figure.
    assert web.get(f"/cases/?figure=assisted&r_project={s.p3}").status_code == 404
    # The second NGO implements P1 and sees its own enrolled case only.
    with app.test_request_context():
        report = donor.build(s.w.ngo2.id, ReportFilters(start=START, end=END, project=s.p1))
        assert report.total.count == 1


def test_shared_labels_tell_small_counts_from_protecting_ones():
    """24 women and 7 men: the men are fewer than 11, the women are hidden only to protect them."""
    result = disclosure.suppress_small_cells({"female": 24, "male": 7, "other": 0}, K)
    assert result.cells == {"female": None, "male": None, "other": 0}
    assert result.primary == {"male"} and result.secondary == {"female"} and result.total == 31
    two_way = disclosure.suppress_small_cells_two_way({"F": {"a": 24, "b": 0}, "M": {"a": 7, "b": 0}}, K)
    assert two_way.is_primary("M", "a") and two_way.is_primary("M", None)
    assert not two_way.is_primary("F", "a") and two_way.cells["F"]["a"] is None
    assert donor.hidden_label(donor.FEWER, K) == "fewer than 11"
    assert donor.hidden_label(donor.SUPPRESSED, K) == "suppressed"


def _multi_table(counts: dict[str, int], combos: dict[frozenset[str], int], total: int) -> donor.Table:
    lines = [donor.Line(key, n, key) for key, n in counts.items()]
    nobody = combos.get(frozenset(), 0)
    summary = [donor.Line("any", total - nobody, "any"), donor.Line("none", nobody, "none")]
    return donor.Table("t", "T", "h", lines, donor.Line("Total", total, "assisted"), summary=summary,
                       multi_valued=True, combos=combos)


def test_merging_small_categories_hides_fewer_cells_than_suppressing_them():
    # 40 persons: 20 in a, 9 in b, 6 in c, 5 in d, each on one line. Suppression hides b, c, d (20 persons);
    # merged, "Other (merged)" holds 20 persons and nothing is hidden.
    combos = {frozenset({"a"}): 20, frozenset({"b"}): 9, frozenset({"c"}): 6, frozenset({"d"}): 5}
    table = _multi_table({"a": 20, "b": 9, "c": 6, "d": 5, "e": 0}, combos, 40)
    total = donor.Line("Total", 40)
    before = donor._shared_multi(table, K, total, merge=False)
    after = donor._shared_multi(table, K, total, merge=True)
    hidden_before = sum(line.hidden for line in before.lines)
    hidden_after = sum(line.hidden for line in after.lines)
    assert hidden_before == 3 and hidden_after == 0
    assert after.merged == ["b", "c", "d"]
    assert [(line.label, line.count) for line in after.lines][-1] == ("Other (merged)", 20)
    # A person in two merged categories counts once in the merged line.
    combos = {frozenset({"a"}): 20, frozenset({"b", "c"}): 6, frozenset({"c"}): 5}
    assert disclosure.union_count(combos, ["b", "c"]) == 11
    assert disclosure.merge_small_categories(combos, ["a", "b", "c"], K) == ("b", "c")
    # Merging everything would only repeat "at least one": not done.
    assert disclosure.merge_small_categories({frozenset({"a"}): 24, frozenset({"b"}): 7}, ["a", "b"], K) == ()


def test_a_31_case_report_draws_its_charts_and_the_csv_headline_has_the_number(app, web):
    with app.app_context():
        w = factories.world()
        specs = ([("Feminine", "18-20", ["ForcedLabour"])] * 13 + [("Feminine", "30-38", ["ForcedLabour"])] * 7
                 + [("Feminine", "30-38", ["SexualExploitation"])] * 4
                 + [("Masculine", "18-20", ["SexualExploitation"])] * 4
                 + [("Masculine", "30-38", ["ForcedBegging"])] * 3)
        for gender, band, types in specs:
            case = factories.case(w.caseworker, gender=gender, age_band=band, exploitation=types)
            case.created_at = datetime(2024, 1, 5, 10)
        db.session.commit()
    filters = ReportFilters(start=START, end=END)
    web.login("supervisor")
    for shared in ("", "&shared=1"):
        html = web.get(f"/reports/donor?{query_string(filters)}{shared}").get_data(as_text=True)
        for chart in ("chart-gender", "chart-age", "chart-exploitation"):
            figure = html[html.index(f'id="{chart}"'):]
            figure = figure[:figure.index("</figure>")]
            assert "Nothing to show" not in figure, (chart, shared)
            if not shared:
                assert 'src="data:image/svg+xml,' in figure, chart
        if shared:
            exploitation = html[html.index('id="chart-exploitation"'):]
            exploitation = exploitation[:exploitation.index("</figure>")]
            # Sexual exploitation (8) and forced begging (3) are drawn together as "Other (merged)" (11).
            assert 'src="data:image/svg+xml,' in exploitation
            assert "Other (merged)" in exploitation
            assert "fewer than 11" in html and "suppressed" in html and "&lt;11" not in html
    rows = list(csv.reader(io.StringIO(web.get(f"/reports/donor.csv?{query_string(filters)}",
                                                buffered=True).get_data(as_text=True)[1:])))
    assert rows[1][0] == "Persons assisted" and rows[1][2] == "31"
    assert not any(value.startswith("<") for row in rows for value in row)
