"""The donor report that leaves the organisation: the downloads and the "version to share".

No count of 1..k-1 may appear, and no hidden count may be worked out again from the published ones. The second
claim is checked by an attacker written here, independently of reports.disclosure: it narrows each hidden number
with every sum the file publishes (rows, columns, totals, each hidden number being at least 1 since zeros are shown)
until nothing moves, and fails the test if any hidden number ends up with a single possible value.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import select

from casemgmt import htcds
from casemgmt.accounts import operations as accounts
from casemgmt.audit.events import SYSTEM
from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from casemgmt.reports import donor
from tests import factories
from tests.reports.test_donor import (
    END,
    START,
    Data,
    Person,
    expected,
    filters_for,
    generated,
    page_tables,
    query_string,
    store,
)

K = 11
FEWER, SUPPRESSED = f"fewer than {K}", "suppressed"
HIDDEN = (FEWER, SUPPRESSED, f"fewer than {K} persons")
MARK = HIDDEN  # every way the file says a number is hidden
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
GENDER_TITLE = "Persons assisted by gender"
AGE_TITLE = "Persons assisted by age band"
CITIZENSHIP_TITLE = "Persons assisted by citizenship"
EXPLOITATION_TITLE = "Persons assisted by type of exploitation"
SERVICES_TITLE = "Services received in the period"
CROSS_TITLE = "Persons assisted by gender and age band"
SPEND_TITLE = "Emergency assistance paid in the period, by category"
# Children and families (issue 15): tables of persons, and the family members who joined (not persons assisted).
CHILDREN_TITLE = "Children assisted"
TRACING_TITLE = "Tracing requests opened in the period"
BID_TITLE = "Best-interests determinations made in the period"
GRANTED_TITLE = "Protection status granted in the period"
REUNIFIED_TITLE = "Family reunification"
JOINED_TITLE = "Family members who joined the persons assisted in the period"
FAMILY_TITLES = (CHILDREN_TITLE, TRACING_TITLE, BID_TITLE, GRANTED_TITLE, REUNIFIED_TITLE)


@pytest.fixture(autouse=True)
def _k_is_the_default(app):
    assert app.config["SETTINGS"].disclosure_k == K


@pytest.fixture
def data(app) -> Data:
    return generated(app)


# --- reading the files ---------------------------------------------------------------------------------------------


def fetch(web, fmt: str, query: str):
    # buffered: the CSV streams inside the request's context, which the test client must still hold when it reads.
    return web.get(f"/reports/donor.{fmt}?{query}", buffered=True)


def csv_rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(response) -> list[list[str]]:
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.worksheets[0]
    rows = []
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row), "a formula in the workbook"
        values = ["" if cell.value is None else str(cell.value) for cell in row]
        while values and values[-1] == "":
            values.pop()
        rows.append(values)
    return rows


def trimmed(rows: list[list[str]]) -> list[list[str]]:
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    return out


def blocks(rows: list[list[str]]) -> dict[str, list[list[str]]]:
    """Table title -> its rows (without the title column)."""
    found: dict[str, list[list[str]]] = {}
    for row in rows[1:]:
        if row and row[0] not in ("Persons assisted", "Note"):
            found.setdefault(row[0], []).append(row[1:])
    return found


def one_way(block: list[list[str]]) -> dict[str, str]:
    return {label: value for label, value, *_rest in block}


def cross(block: list[list[str]]) -> tuple[list[str], dict[str, dict[str, str]]]:
    header, *rows = block
    columns = header[1:]
    return columns, {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def number(value: str) -> int | None:
    return None if value in HIDDEN else int(value)


def hidden_count(rows) -> int:
    return sum(value in HIDDEN for row in rows for value in row)


# --- the attacker ----------------------------------------------------------------------------------------------


def worked_out(values: dict[str, int | None], sums: list[tuple[str, list[str]]]) -> set[str]:
    """The hidden numbers (None in values) that the published ones pin to a single value.

    Each sum says values[whole] == sum(values[parts]). Interval propagation: a hidden number starts in [1, big] and
    each sum narrows its members from the bounds of the others, until nothing changes."""
    big = 10**6
    low = {name: (1 if v is None else v) for name, v in values.items()}
    high = {name: (big if v is None else v) for name, v in values.items()}
    changed = True
    while changed:
        changed = False
        for whole, parts in sums:
            bounds = [(whole, sum(low[p] for p in parts), sum(high[p] for p in parts))]
            for part in parts:
                others = [p for p in parts if p != part]
                bounds.append((part, low[whole] - sum(high[p] for p in others),
                               high[whole] - sum(low[p] for p in others)))
            for name, lo, hi in bounds:
                if lo > low[name]:
                    low[name], changed = lo, True
                if hi < high[name]:
                    high[name], changed = hi, True
    assert all(low[n] <= high[n] for n in values), "the published numbers contradict each other"
    return {name for name, v in values.items() if v is None and low[name] == high[name]}


def one_way_sums(table: dict[str, str], prefix: str) -> tuple[dict[str, int | None], list]:
    values = {f"{prefix}:{label}": number(value) for label, value in table.items()}
    parts = [name for name in values if not name.endswith(":Total")]
    return values, [(f"{prefix}:Total", parts)]


def family_sums(files: dict[str, list[list[str]]]) -> tuple[dict[str, int | None], list]:
    """Gender, age and gender x age published together: every sum that links them."""
    columns, grid = cross(files[CROSS_TITLE])
    genders = [g for g in grid if g != "Total"]
    bands = [b for b in columns if b != "Total"]
    values = {f"cell:{g}|{b}": number(grid[g][b]) for g in genders for b in bands}
    values |= {f"gender:{g}": number(grid[g]["Total"]) for g in genders}
    values |= {f"age:{b}": number(grid["Total"][b]) for b in bands}
    values["total"] = number(grid["Total"]["Total"])
    sums = [(f"gender:{g}", [f"cell:{g}|{b}" for b in bands]) for g in genders]
    sums += [(f"age:{b}", [f"cell:{g}|{b}" for g in genders]) for b in bands]
    sums += [("total", [f"gender:{g}" for g in genders]), ("total", [f"age:{b}" for b in bands])]
    return values, sums


def test_the_attacker_finds_what_naive_suppression_gives_away():
    # Hiding only the small cell: the total gives it back.
    assert worked_out({"f": 27, "m": None, "t": 30}, [("t", ["f", "m"])]) == {"m"}
    # Two hidden cells that can only be 1 each.
    assert worked_out({"a": 20, "b": None, "c": None, "t": 22}, [("t", ["a", "b", "c"])]) == {"b", "c"}
    # A row and its margin hidden, but the column gives the cell back, and the cell the margin.
    values = {"f18": 27, "m18": None, "f": 27, "m": None, "c18": 30, "t": 30}
    sums = [("f", ["f18"]), ("m", ["m18"]), ("c18", ["f18", "m18"]), ("t", ["f", "m"])]
    assert worked_out(values, sums) == {"m18", "m"}
    assert worked_out({"a": 20, "b": None, "c": None, "t": 25}, [("t", ["a", "b", "c"])]) == set()


# --- the checks on a file -------------------------------------------------------------------------------------------


def check_file(rows: list[list[str]], exact: dict[str, int]) -> int:
    """Every rule a shared file must follow; returns the number of hidden cells."""
    assert rows[0] == ["table", "category", "persons"]
    files = blocks(rows)
    assert set(files) == {GENDER_TITLE, AGE_TITLE, CITIZENSHIP_TITLE, EXPLOITATION_TITLE, SERVICES_TITLE, CROSS_TITLE,
                          SPEND_TITLE, *FAMILY_TITLES, JOINED_TITLE}
    # The headline has its number (or says why not), as the page does.
    assert rows[1][0] == "Persons assisted" and (rows[1][2].isdigit() or rows[1][2] in HIDDEN)
    marks = sum(value in HIDDEN for row in files[SPEND_TITLE][1:] for value in row[1:])
    for title, block in files.items():
        if title == SPEND_TITLE:
            continue
        for row in block[1:] if title == CROSS_TITLE else block:
            for value in row[1:]:
                if value in HIDDEN:
                    marks += 1
                    continue
                assert value.isdigit(), (title, row)
                assert int(value) == 0 or int(value) >= K, f"{title}: {row} shows a count below {K}"
    # Formula-safe: no text cell can start a formula.
    for row in rows:
        for value in row:
            assert not value.startswith(TRIGGERS), row
    note = next(row[1] for row in rows if row and row[0] == "Note")
    assert int(re.match(r"(\d+) numbers? (was|were) hidden", note).group(1)) == marks
    assert f"counts below {K} are shown as \u201cfewer than {K}\u201d" in note

    # The same total everywhere, and the gender and age tables are the margins of the cross table.
    columns, grid = cross(files[CROSS_TITLE])
    total = grid["Total"]["Total"]
    for title in (GENDER_TITLE, AGE_TITLE, CITIZENSHIP_TITLE, EXPLOITATION_TITLE, SERVICES_TITLE, *FAMILY_TITLES):
        assert one_way(files[title])["Total"] == total
    assert one_way(files[GENDER_TITLE]) == {g: grid[g]["Total"] for g in grid}
    assert one_way(files[AGE_TITLE]) == {b: grid["Total"][b] for b in columns}

    # What is shown is exact.
    gender_codes = {donor.gender_label(code): code for code in donor.GENDER_CODES}
    band_codes = {donor.age_label(code): code for code in donor.AGE_CODES}
    shown = {"assisted": total}
    for g, row in grid.items():
        for b, value in row.items():
            if g != "Total" and b != "Total":
                shown[f"gender_age:{gender_codes[g]}|{band_codes[b]}"] = value
    shown |= {f"gender:{gender_codes[g]}": v for g, v in one_way(files[GENDER_TITLE]).items() if g != "Total"}
    shown |= {f"age:{band_codes[b]}": v for b, v in one_way(files[AGE_TITLE]).items() if b != "Total"}
    types = {htcds.EXPLOITATION_TYPES.label(code): code for code in htcds.EXPLOITATION_TYPES}
    exploitation = one_way(files[EXPLOITATION_TITLE])
    shown |= {f"exploitation:{types[label]}": v for label, v in exploitation.items() if label in types}
    shown["assisted"] = rows[1][2]
    shown["exploitation_recorded:yes"] = exploitation["At least one type of exploitation recorded"]
    shown["exploitation_recorded:no"] = exploitation["No type of exploitation recorded"]
    services = {donor.service_label(code): code for code in (*donor.SERVICE_CODES, donor.ANY, donor.NONE)}
    shown |= {f"service:{services[label]}": v for label, v in one_way(files[SERVICES_TITLE]).items()
              if label in services}
    for key, value in shown.items():
        if value not in HIDDEN:
            assert int(value) == exact.get(key, 0), f"{key}: file {value}, counted {exact.get(key, 0)}"
        else:
            assert exact.get(key, 0) > 0, f"{key}: a zero is hidden"
            # Never "fewer than k" on a count that is not: a count hidden to protect another says "suppressed".
            assert (value == FEWER) == (exact[key] < K), f"{key}: {value} on a count of {exact[key]}"
    countries = {htcds.country_name(code): code for code in htcds.country_codes()}
    citizenship = one_way(files[CITIZENSHIP_TITLE])
    named = [label for label in citizenship if label not in ("Other countries", "Not recorded", "Total")]
    assert named == sorted(named)
    for label in named:
        # A named country is never a small or a hidden one.
        assert int(citizenship[label]) == exact[f"citizenship:{countries[label]}"] >= K
    for label, code in countries.items():
        if 0 < exact.get(f"citizenship:{code}", 0) < K:
            assert label not in named

    # Nothing hidden can be worked out again.
    values, sums = family_sums(files)
    assert worked_out(values, sums) == set()
    values, sums = one_way_sums(citizenship, "citizenship")
    assert worked_out(values, sums) == set()
    for title, prefix, kinds in ((EXPLOITATION_TITLE, "exploitation", list(htcds.EXPLOITATION_TYPES)),
                                 (SERVICES_TITLE, "service", list(donor.SERVICE_CODES))):
        table = one_way(files[title])
        labels = list(table)
        lines, (at_least_one, none, _total) = labels[:-3], labels[-3:]
        values = {label: number(table[label]) for label in labels}
        sums = [("Total", [at_least_one, none])]
        # A person can be on several lines, so the lines need not add up; where nobody is on two of them, lines +
        # "none" = total, and a reader who guesses so must not be able to work anything out either.
        none_key = "exploitation_recorded:no" if prefix == "exploitation" else "service:none"
        if sum(exact.get(f"{prefix}:{kind}", 0) for kind in kinds) + exact.get(none_key, 0) == exact.get("assisted"):
            sums.append(("Total", [*lines, none]))
        assert worked_out(values, sums) == set(), title
    return marks


# --- the tests --------------------------------------------------------------------------------------------------


def download_checked(app, web, people: list[Person], w) -> tuple[object, list[list[str]], int]:
    """The supervisor's CSV of the shared report for `people`, checked cell by cell against the exact counts
    (check_file): (response, rows, hidden cells)."""
    filters = filters_for(w)
    with app.test_request_context():
        exact = expected(people, w, filters)
    web.login("supervisor")
    response = fetch(web, "csv", query_string(filters))
    rows = csv_rows(response)
    return response, rows, check_file(rows, exact)


def test_the_downloads_hide_every_small_count_and_nothing_can_be_worked_out(app, data: Data, web):
    response, rows, hidden = download_checked(app, web, data.people, data.w)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="donor-report-')
    assert hidden > 10
    # The scope of the file is stated in words.
    assert rows[1][0] == "Persons assisted" and "2024" in rows[1][1]


def small_population(w) -> list[Person]:
    """27 Peruvian women of 18-20 and 3 Haitian men of the same age: a per-table suppression would hide the men in
    the gender table and show them in the cross table's column, or show "Haiti"."""
    day = datetime(2024, 1, 5, 10)

    def person(**values) -> Person:
        base = {"org": "ngo", "gender": "Feminine", "band": "18-20", "citizenship": "PE", "types": ["ForcedLabour"],
                "assignee": None, "created": day, "closed": None, "erased": False}
        return Person(**{**base, **values})

    return [person() for _ in range(27)] + [
        person(gender="Masculine", citizenship="HT", types=["ForcedLabour", "ForcedBegging"]) for _ in range(3)]


def test_a_small_group_cannot_be_recovered_from_any_total(app, web):
    with app.app_context():
        w = factories.world()
        people = small_population(w)
        store(w, people)
    _response, rows, _hidden = download_checked(app, web, people, w)
    files = blocks(rows)
    assert one_way(files[GENDER_TITLE])["Male"] == FEWER
    assert one_way(files[GENDER_TITLE])["Female"] == SUPPRESSED  # 27 women: never "fewer than 11"
    assert one_way(files[GENDER_TITLE])["Total"] == "30"
    # The men's row in the cross table is hidden, and so is a second cell of their column.
    _columns, grid = cross(files[CROSS_TITLE])
    assert grid["Male"]["18-20"] == FEWER and grid["Female"]["18-20"] == SUPPRESSED
    # Haiti is not named; three Haitians sit in "Other countries", hidden with a second line.
    text = "\n".join(",".join(row) for row in rows)
    assert "Haiti" not in text
    # Peru alone would give the three Haitians away, so it is counted with the other countries.
    assert one_way(files[CITIZENSHIP_TITLE]) == {"Other countries": "30", "Not recorded": "0", "Total": "30"}
    # Forced begging (3 persons) is hidden with another line.
    exploitation = one_way(files[EXPLOITATION_TITLE])
    assert exploitation["Forced begging"] == FEWER
    # Merging the two would only say "at least one": the 30 forced labourers are suppressed, and say so.
    assert exploitation["Forced labour"] == SUPPRESSED


def test_tables_that_share_a_number_hide_it_in_all_of_them(app, web):
    """Three women of 18-20 are protected, step by step, with the women's line of the cross table: the gender table
    (that same line) must hide it too, though on its own it has no small count (15 women, 40 men). Five persons
    with a type of exploitation recorded hide "none" as well: the total minus "none" would give them away."""
    day = datetime(2024, 1, 5, 10)

    def people(count, gender, band, types=()) -> list[Person]:
        return [Person(org="ngo", gender=gender, band=band, citizenship="PE", types=list(types), assignee=None,
                       created=day, closed=None, erased=False) for _ in range(count)]

    population = (people(3, "Feminine", "18-20", ["ForcedLabour"]) + people(12, "Feminine", "30-38")
                  + people(2, "Masculine", "18-20", ["SexualExploitation"]) + people(18, "Masculine", "18-20")
                  + people(20, "Masculine", "30-38"))
    with app.app_context():
        w = factories.world()
        store(w, population)
    _response, rows, _hidden = download_checked(app, web, population, w)
    files = blocks(rows)
    gender = one_way(files[GENDER_TITLE])
    assert gender["Female"] == SUPPRESSED and gender["Male"] == SUPPRESSED and gender["Total"] == "55"
    exploitation = one_way(files[EXPLOITATION_TITLE])
    assert exploitation["At least one type of exploitation recorded"] == FEWER
    assert exploitation["No type of exploitation recorded"] == SUPPRESSED
    assert one_way(files[CITIZENSHIP_TITLE]) == {"Peru": "55", "Other countries": "0", "Not recorded": "0",
                                                 "Total": "55"}


def test_the_workbook_opens_and_matches_the_csv(app, data: Data, web):
    query = query_string(filters_for(data.w))
    web.login("supervisor")
    from_csv = trimmed(csv_rows(fetch(web, "csv", query)))
    response = fetch(web, "xlsx", query)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    from_xlsx = xlsx_rows(response)
    assert from_xlsx == from_csv
    assert hidden_count(from_xlsx) > 10


def test_text_in_the_file_cannot_start_a_formula(app, web):
    with app.app_context():
        w = factories.world()
        evil = accounts.create_user(SYSTEM, "evil-name", '=HYPERLINK("http://evil.example","x")', w.ngo.id,
                                    "caseworker", factories.PASSWORD)
        db.session.commit()
        people = small_population(w)
        store(w, people)
        filters = filters_for(w, assignee=evil.id)
    web.login("supervisor")
    for fmt in ("csv", "xlsx"):
        response = fetch(web, fmt, query_string(filters))
        rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response)
        assert any("HYPERLINK" in value for row in rows for value in row)
        for row in rows:
            for value in row:
                assert not value.startswith(TRIGGERS), row


def test_the_shared_page_shows_what_the_download_holds_and_links_to_no_list(app, data: Data, web):
    query = query_string(filters_for(data.w))
    web.login("supervisor")
    files = blocks(csv_rows(fetch(web, "csv", query)))
    html = web.get(f"/reports/donor?{query}&shared=1").get_data(as_text=True)
    tables = page_tables(html)
    for table_id, title in (("gender", GENDER_TITLE), ("age", AGE_TITLE), ("citizenship", CITIZENSHIP_TITLE),
                            ("exploitation", EXPLOITATION_TITLE), ("services", SERVICES_TITLE)):
        on_page = {row[0][0]: row[1][0] for row in tables[table_id][1:]}
        on_page = {("Total" if label == "Total persons assisted" else label): value for label, value in on_page.items()}
        assert on_page == one_way(files[title]), table_id
        assert all(href is None for row in tables[table_id] for _text, href in row)
    _columns, grid = cross(files[CROSS_TITLE])
    page_grid = [[text for text, _href in row] for row in tables["gender_age"][1:]]
    assert page_grid == [[label, *row.values()] for label, row in grid.items()]
    assert "figure=" not in html
    hidden = sum(hidden_count(rows) for rows in files.values())
    assert f"{hidden} numbers are hidden" in html


@pytest.mark.parametrize("username", ["caseworker", "hotline", "admin", "mission", "caseworker2"])
def test_only_supervisors_get_the_report(app, web, username):
    with app.app_context():
        factories.world()
    web.login(username)
    for url in ("/reports/donor", "/reports/donor?shared=1", "/reports/donor.csv", "/reports/donor.xlsx"):
        assert web.get(url, buffered=True).status_code == 403, (username, url)
    with app.app_context():
        assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("report.donor%"))).all()


def test_a_visitor_is_sent_to_the_login_page(app, client):
    for url in ("/reports/donor", "/reports/donor.csv", "/reports/donor.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_supervisor_gets_the_numbers_of_their_own_organisation_only(app, data: Data, web):
    filters = filters_for(data.w)
    with app.test_request_context():
        theirs = expected(data.people, data.w, filters, org="ngo2")
    web.login("supervisor2")
    rows = csv_rows(fetch(web, "csv", query_string(filters)))
    check_file(rows, theirs)
    total = one_way(blocks(rows)[GENDER_TITLE])["Total"]
    assert total == (str(theirs["assisted"]) if theirs["assisted"] >= K else FEWER)


def test_each_download_is_audited_with_its_filters_format_and_hidden_cells(app, data: Data, web):
    filters = filters_for(data.w, exploitation="ForcedLabour")
    query = query_string(filters)
    web.login("supervisor")
    hidden = {}
    for fmt in ("csv", "xlsx"):
        response = fetch(web, fmt, query)
        rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response)
        hidden[fmt] = hidden_count(rows)
    with app.app_context():
        found = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.donor_export")
                                   .order_by(AuditEvent.seq)).all()
        assert len(found) == 2
        for event, fmt in zip(found, ("csv", "xlsx"), strict=True):
            assert event.actor_id == data.w.supervisor.id and event.object_id == str(data.w.ngo.id)
            assert f'"format":"{fmt}"' in event.details
            assert f'"suppressed":{hidden[fmt]}' in event.details
            assert '"exploitation":"ForcedLabour"' in event.details
            assert f'"start":"{START.isoformat()}"' in event.details and f'"end":"{END.isoformat()}"' in event.details
