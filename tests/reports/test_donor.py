"""The donor report's exact figures against an independent count.

The data is generated with a seeded random.Random: people of both organisations with every gender, age band and
citizenship (missing ones too), several types of exploitation, services inside and outside the period, cases closed
before the period, registered after it, or erased. The expected numbers are counted in plain Python from the
generation parameters, never with SQL, and every figure the report shows (its data, its page, the case list each
number links to) must equal them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from casemgmt import htcds
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db
from casemgmt.reintegration.models import SUPPORT_TYPES, ReintegrationPlan, ServiceDelivered
from casemgmt.reports import donor
from casemgmt.reports.filters import ReportFilters
from casemgmt.returns.models import ReturnPlan
from casemgmt.shelter.models import Facility, Placement
from tests import factories

START, END = date(2024, 3, 1), date(2024, 8, 31)
DAY = timedelta(days=1)
GENDERS = [*htcds.GENDER, None]
BANDS = [*htcds.AGE_BANDS, None]
COUNTRIES = ["PE", "HT", "CO", "VE", "EC", "BO", None]
TYPES = list(htcds.EXPLOITATION_TYPES)
RETURN_STATUSES = ["approved", "departed", "arrived", "cancelled"]


@dataclass
class Person:
    """One generated case: what the report should see of it."""

    org: str  # "ngo" or "ngo2"
    gender: str | None
    band: str | None
    citizenship: str | None
    types: list[str]
    assignee: str | None  # "caseworker", "caseworker_b" or None
    created: datetime
    closed: datetime | None
    erased: bool
    placements: list[tuple[date, date | None]] = field(default_factory=list)
    sessions: list[date] = field(default_factory=list)
    returned: tuple[str, date | None] | None = None
    services: list[tuple[str, date, bool]] = field(default_factory=list)


def _day(rng: random.Random, first: date = date(2023, 6, 1), last: date = date(2024, 12, 31)) -> date:
    # The days either side of each edge of the period come up often: off-by-one errors live there.
    edges = [START - DAY, START, END, END + DAY]
    if rng.random() < 0.3:
        choices = [d for d in edges if first <= d <= last]
        if choices:
            return rng.choice(choices)
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _moment(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, rng.choice([time.min, time(12, 30), time(23, 59, 59)]))


def generate(seed: int = 4, n: int = 64) -> list[Person]:
    rng = random.Random(seed)
    people = []
    for index in range(n):
        created = _day(rng)
        closed = _day(rng, created, created + timedelta(days=200)) if rng.random() < 0.4 else None
        person = Person(
            org="ngo" if index % 4 else "ngo2",
            gender=rng.choice(GENDERS), band=rng.choice(BANDS), citizenship=rng.choice(COUNTRIES),
            types=rng.sample(TYPES, rng.choice([0, 1, 1, 1, 2, 3])),
            assignee=rng.choice(["caseworker", "caseworker_b", None]),
            created=_moment(rng, created), closed=_moment(rng, closed) if closed else None,
            erased=rng.random() < 0.04,
        )
        for _ in range(rng.choice([0, 0, 1, 2])):
            admitted = _day(rng, date(2023, 9, 1), date(2024, 12, 1))
            person.placements.append((admitted, _day(rng, admitted, date(2025, 1, 31))))
        if person.placements and rng.random() < 0.4:
            # At most one open placement per case (a unique index says so).
            person.placements[-1] = (person.placements[-1][0], None)
        person.sessions = [_day(rng) for _ in range(rng.choice([0, 0, 1, 3]))]
        if rng.random() < 0.3:
            status = rng.choice(RETURN_STATUSES)
            departed = _day(rng) if status in ("departed", "arrived") else None
            person.returned = (status, departed)
        person.services = [(rng.choice(list(SUPPORT_TYPES)), _day(rng), rng.random() < 0.85)
                           for _ in range(rng.choice([0, 0, 1, 2, 3]))]
        people.append(person)
    return people + edge_cases()


def edge_cases() -> list[Person]:
    """People on the very edges of the period, so an off-by-one day in any rule changes a figure."""
    before, midnight, last_second = datetime(2024, 1, 10, 9), time.min, time(23, 59, 59)

    def person(**values) -> Person:
        base = {"org": "ngo", "gender": "Feminine", "band": "18-20", "citizenship": "PE", "types": ["ForcedLabour"],
                "assignee": "caseworker", "created": before, "closed": None, "erased": False}
        return Person(**{**base, **values})

    return [
        person(created=datetime.combine(END, last_second), gender="Masculine"),
        person(created=datetime.combine(END + DAY, midnight), gender="Masculine"),
        person(closed=datetime.combine(START, midnight), band="9-17"),
        person(closed=datetime.combine(START - DAY, last_second), band="9-17"),
        person(placements=[(START - 40 * DAY, START)]),
        person(placements=[(START - 40 * DAY, START - DAY)]),
        person(placements=[(END, None)], citizenship="HT"),
        person(placements=[(END + DAY, None)], citizenship="HT"),
        person(sessions=[START - DAY, END + DAY], returned=("departed", START)),
        person(sessions=[END], returned=("arrived", END + DAY)),
        person(returned=("cancelled", None), services=[("Education", END, True), ("Health", END + DAY, True)]),
        person(services=[("Education", START, False), ("Health", START - DAY, True)]),
    ]


def store(w, people: list[Person]) -> list[str]:
    """Create the cases through the real operation, then their dates and service rows; returns the case ids."""
    actors = {"ngo": w.caseworker, "ngo2": w.caseworker2}
    orgs = {"ngo": w.ngo, "ngo2": w.ngo2}
    facilities = {}
    for key, org in orgs.items():
        facilities[key] = Facility(organisation_id=org.id, name=f"Refugio {key}", facility_type="shelter",
                                   bed_capacity=50)
        db.session.add(facilities[key])
    db.session.flush()
    ids = []
    for person in people:
        case = factories.case(
            actors[person.org], gender=person.gender or "", age_band=person.band or "", date_of_birth=None,
            citizenship=person.citizenship or "", exploitation=person.types,
        )
        assignee = getattr(w, person.assignee) if person.assignee and person.org == "ngo" else None
        case.assigned_to_id = assignee.id if assignee else (w.caseworker2.id if person.org == "ngo2" else None)
        case.created_at = person.created
        if person.closed:
            case.stage, case.status, case.closed_at = "closed", "Closed", person.closed
        if person.erased:
            case.erased_at = person.created + DAY
        for admitted, discharged in person.placements:
            db.session.add(Placement(case_id=case.id, facility_id=facilities[person.org].id, admitted_on=admitted,
                                     discharged_on=discharged, discharge_reason="other" if discharged else None))
        for held in person.sessions:
            db.session.add(CounselingSession(case_id=case.id, session_type="psychosocial", provider="Centro Vida",
                                             held_on=held, duration_minutes=50))
        if person.returned:
            status, departed = person.returned
            db.session.add(ReturnPlan(case_id=case.id, status=status, receiving_organisation_id=w.mission_org.id,
                                      destination_country="HT", departed_on=departed))
        if person.services:
            plan = ReintegrationPlan(case_id=case.id, created_on=date(2023, 9, 1),
                                     responsible_organisation_id=w.mission_org.id)
            db.session.add(plan)
            db.session.flush()
            for service_type, delivered, implemented in person.services:
                db.session.add(ServiceDelivered(
                    plan_id=plan.id, case_id=case.id, service_type=service_type, provider="Cooperativa",
                    amount=Decimal("100.00"), currency="USD", delivered_on=delivered, implemented=implemented))
        db.session.commit()
        ids.append(case.id)
    return ids


# --- the independent count ---------------------------------------------------------------------------------------


def in_report(person: Person, w, filters: ReportFilters, org: str = "ngo") -> bool:
    if person.org != org or person.erased:
        return False
    if person.created.date() > filters.end or (person.closed and person.closed.date() < filters.start):
        return False
    if filters.citizenship and person.citizenship != filters.citizenship:
        return False
    if filters.exploitation and filters.exploitation not in person.types:
        return False
    if filters.assignee is not None:
        wanted = None if filters.assignee == 0 else filters.assignee
        assignee = getattr(w, person.assignee).id if person.assignee else None
        if assignee != wanted:
            return False
    return True


def services_received(person: Person, start: date, end: date) -> set[str]:
    def during(day):
        return day is not None and start <= day <= end

    received = set()
    if any(admitted <= end and (discharged is None or discharged >= start)
           for admitted, discharged in person.placements):
        received.add("shelter")
    if any(during(day) for day in person.sessions):
        received.add("counseling")
    if person.returned and person.returned[0] in ("departed", "arrived") and during(person.returned[1]):
        received.add("return")
    received |= {kind for kind, day, implemented in person.services if implemented and during(day)}
    return received


def expected(people: list[Person], w, filters: ReportFilters, org: str = "ngo") -> dict[str, int]:
    """Every figure of the report, keyed by its figure key, counted person by person."""
    counts: dict[str, int] = {}

    def add(key: str, yes: bool = True):
        counts[key] = counts.get(key, 0) + int(yes)

    for person in people:
        if not in_report(person, w, filters, org):
            continue
        gender, band = person.gender or "", person.band or "unknown"
        add("assisted")
        add(f"gender:{gender}")
        add(f"age:{band}")
        add(f"citizenship:{person.citizenship or ''}")
        add(f"gender_age:{gender}|{band}")
        for kind in person.types:
            add(f"exploitation:{kind}")
        add("exploitation_recorded:yes" if person.types else "exploitation_recorded:no")
        received = services_received(person, filters.start, filters.end)
        for service in received:
            add(f"service:{service}")
        add("service:any" if received else "service:none")
        # Children by their band (these people have no date of birth; none is recorded as a child of unknown age),
        # and no family rows: tests/reports/test_families.py counts those.
        add("child:yes" if band in ("0-8", "9-17") else "child:no")
        for none in ("tracing:none", "bid:none", "granted:none", "reunified:no"):
            add(none)
    return counts


def filters_for(w, **extra) -> ReportFilters:
    return ReportFilters(start=START, end=END, **extra)


FILTER_SETS = [
    {},
    {"citizenship": "HT"},
    {"exploitation": "SexualExploitation"},
    {"assignee": "caseworker_b"},
    {"assignee": 0},
]


def resolve_filters(w, extra: dict) -> ReportFilters:
    extra = dict(extra)
    if isinstance(extra.get("assignee"), str):
        extra["assignee"] = getattr(w, extra["assignee"]).id
    return filters_for(w, **extra)


def query_string(filters: ReportFilters) -> str:
    return "&".join(f"{k}={v}" for k, v in filters.args().items())


# --- reading the page ----------------------------------------------------------------------------------------------


class Tables(HTMLParser):
    """The page's tables by id: rows of (text, href) cells."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._href: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (attrs.get("id") or "").startswith("table-"):
            self._table = attrs["id"][len("table-"):]
            self.tables[self._table] = []
        elif self._table and tag == "tr":
            self.tables[self._table].append([])
        elif self._table and tag in ("td", "th"):
            self._cell, self._href = [], None
        elif self._cell is not None and tag == "a":
            self._href = attrs.get("href")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append((" ".join("".join(self._cell).split()), self._href))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[tuple[str, str | None]]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def figure_of(href: str) -> str:
    return parse_qs(urlsplit(href.replace("&amp;", "&")).query)["figure"][0]


def linked_numbers(tables) -> list[tuple[str, int, str]]:
    """(figure key, number, href) of every number on the page's tables; fails on a number without a link."""
    found = []
    for table_id, rows in tables.items():
        for row in rows:
            for text, href in row:
                if text.isdigit():
                    assert href, f"{table_id}: the number {text} in {row} does not link to its cases"
                    found.append((figure_of(href), int(text), href))
    return found


# --- fixtures --------------------------------------------------------------------------------------------------


@dataclass
class Data:
    w: factories.World
    people: list[Person]
    case_ids: list[str]


@pytest.fixture
def data(app) -> Data:
    return generated(app)


def generated(app) -> Data:
    """The generated people, stored for the first NGO and the second; the world's objects stay readable."""
    with app.app_context():
        w = factories.world()
        people = generate()
        ids = store(w, people)
        for obj in vars(w).values():
            db.session.refresh(obj)
        db.session.expunge_all()
    return Data(w, people, ids)


# --- the tests -----------------------------------------------------------------------------------------------------


def test_the_generated_data_covers_what_the_report_must_handle(app, data):
    people, w = data.people, data.w
    counted = [p for p in people if in_report(p, w, filters_for(w))]
    assert len(people) >= 60 and len(counted) >= 25
    assert {p.org for p in people} == {"ngo", "ngo2"}
    assert any(p.gender is None for p in counted) and any(p.band is None for p in counted)
    assert any(p.band == "unknown" for p in counted) and any(p.citizenship is None for p in counted)
    assert any(len(p.types) > 1 for p in counted) and any(not p.types for p in counted)
    assert any(p.closed and p.closed.date() < START for p in people if p.org == "ngo")
    assert any(p.created.date() > END for p in people if p.org == "ngo")
    assert any(p.erased for p in people if p.org == "ngo")
    assert any(len(services_received(p, START, END)) > 1 for p in counted)
    # Services outside the period, on people who are in it.
    assert any(p.sessions and not services_received(p, START, END) for p in counted)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Case)) == len(people)


def test_every_figure_of_the_report_equals_an_independent_count(app, data):
    with app.test_request_context():
        for extra in FILTER_SETS:
            check_report(data, resolve_filters(data.w, extra))


def check_report(data: Data, filters: ReportFilters) -> None:
    w = data.w
    want = expected(data.people, w, filters)
    report = donor.build(w.ngo.id, filters)
    lines = list(donor.printed_lines(report))
    assert all(line.key for line in lines)
    for line in lines:
        assert line.count == want.get(line.key, 0), f"{line.key}: {line.count} != {want.get(line.key, 0)}"
    # Nothing the count found is missing from the report.
    assert {line.key for line in lines} >= set(want)
    total = want.get("assisted", 0)
    assert report.total.count == total
    for table in (report.gender, report.age, report.citizenship):
        assert table.total.count == total
        assert sum(line.count for line in table.lines) == total
    for table in (report.exploitation, report.services):
        assert sum(line.count for line in table.summary) == total
    cross = report.gender_age
    assert sum(cell.count for _row, cells in cross.rows for cell in cells) == total
    for row_total, cells in cross.rows:
        assert row_total.count == sum(cell.count for cell in cells)
    # Citizenship: the countries present, most persons first, then "not recorded".
    present = {p.citizenship for p in data.people if p.citizenship and in_report(p, w, filters)}
    countries = [line.key.split(":")[1] for line in report.citizenship.lines[:-1]]
    assert set(countries) == present
    by_count = [want[f"citizenship:{c}"] for c in countries]
    assert by_count == sorted(by_count, reverse=True)
    assert report.citizenship.lines[-1].key == "citizenship:"
    assert [line.key for line in report.gender.lines] == [f"gender:{g or ''}" for g in GENDERS]
    assert [line.key for line in report.age.lines] == [f"age:{b}" for b in htcds.AGE_BANDS]


def test_the_page_shows_every_figure_linked_to_exactly_that_many_cases(app, data, web):
    w = data.w
    filters = filters_for(w)
    with app.test_request_context():
        want = expected(data.people, w, filters)
    web.login("supervisor")
    response = web.get(f"/reports/donor?{query_string(filters)}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = page_tables(html)
    assert set(tables) == {"gender", "age", "citizenship", "exploitation", "services", "gender_age", "spend",
                           "children", "tracing", "bid", "granted", "reunified"}
    numbers = linked_numbers(tables)
    # 7 genders + 10 bands + countries + 11 types and 2 + 11 services and 2, a total each, and the 7 x 10 grid.
    assert len(numbers) >= 7 + 10 + 11 + 2 + 11 + 2 + 5 + 7 * 10 + 7 + 10 + 1
    for key, number, _href in numbers:
        assert number == want.get(key, 0), f"{key}: page {number}, counted {want.get(key, 0)}"
    # The charts and the definitions of what is counted.
    for chart_id in ("chart-gender", "chart-age", "chart-exploitation", "chart-services"):
        assert f'id="{chart_id}"' in html
    assert html.count('src="data:image/svg+xml,') >= 4
    assert "the lines do not add up to the total" in html
    for term in ("Persons assisted", "Shelter", "Counseling and care", "Assisted voluntary return",
                 "Reintegration services"):
        assert f"<dt>{term}</dt>" in html
    assert ' style="' not in html
    # Each link lists exactly that many cases (the case list's own count, over all its pages).
    checked = {}
    for key, number, href in numbers:
        if href in checked:
            continue
        listing = web.get(href.replace("&amp;", "&"))
        assert listing.status_code == 200, key
        text = listing.get_data(as_text=True)
        match = re.search(r"(\d+) cases?\b", text)
        assert match, key
        checked[href] = int(match.group(1))
        assert checked[href] == number, f"{key}: the list shows {checked[href]}, the report {number}"
        assert "From the report:" in text


def test_a_figure_list_shows_the_cases_and_no_others(app, data, web):
    w = data.w
    filters = filters_for(w)
    web.login("supervisor")
    html = web.get(f"/reports/donor?{query_string(filters)}").get_data(as_text=True)
    shelter = next(href for key, _n, href in linked_numbers(page_tables(html)) if key == "service:shelter")
    listing = web.get(shelter.replace("&amp;", "&") + "&page=1").get_data(as_text=True)
    with app.app_context():
        references = dict(db.session.execute(select(Case.reference, Case.id)).all())
    person_of = dict(zip(data.case_ids, data.people, strict=True))
    listed = set(re.findall(r"C-[A-Z2-9]{8}", listing)) & set(references)
    # The first page holds up to 25 cases; each of them is in the period and had shelter in it.
    assert listed
    for reference in listed:
        person = person_of[references[reference]]
        assert in_report(person, w, filters) and "shelter" in services_received(person, START, END)


def test_the_report_counts_only_the_supervisors_own_organisation(app, data, web):
    w = data.w
    filters = filters_for(w)
    with app.test_request_context():
        mine = expected(data.people, w, filters, org="ngo2")
    web.login("supervisor2")
    html = web.get(f"/reports/donor?{query_string(filters)}").get_data(as_text=True)
    numbers = linked_numbers(page_tables(html))
    assert {key: n for key, n, _ in numbers if key == "assisted"} == {"assisted": mine["assisted"]}
    for key, number, _href in numbers:
        assert number == mine.get(key, 0), key


def test_without_a_period_the_report_covers_this_year_so_far(app, web):
    today = utcnow().date()
    with app.app_context():
        w = factories.world()
        this_year = factories.case(w.caseworker, gender="Masculine")
        last_year = factories.case(w.caseworker, gender="Feminine")
        last_year.created_at = datetime(today.year - 1, 3, 1)
        last_year.stage, last_year.closed_at = "closed", datetime(today.year - 1, 12, 31, 23, 0)
        assert this_year.id
        db.session.commit()
    web.login("supervisor")
    response = web.get("/reports/donor")
    html = response.get_data(as_text=True)
    assert f'value="{date(today.year, 1, 1).isoformat()}"' in html and f'value="{today.isoformat()}"' in html
    numbers = {key: n for key, n, _ in linked_numbers(page_tables(html))}
    assert numbers["assisted"] == 1 and numbers["gender:Masculine"] == 1 and numbers["gender:Feminine"] == 0
    # Only an end: the year of that end.
    with app.test_request_context():
        assert donor.donor_period(ReportFilters(end=date(2023, 5, 2)), today) == ReportFilters(
            start=date(2023, 1, 1), end=date(2023, 5, 2))
        assert donor.donor_period(ReportFilters(start=date(2023, 5, 2)), today).end == today


def test_viewing_the_report_is_audited_with_its_filters(app, web):
    from casemgmt.audit.models import AuditEvent

    with app.app_context():
        w = factories.world()
        org_id, supervisor_id = w.ngo.id, w.supervisor.id
    web.login("supervisor")
    filters = filters_for(w, citizenship="HT")
    assert web.get(f"/reports/donor?{query_string(filters)}&shared=1").status_code == 200
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.donor")).one()
        assert event.object_id == str(org_id) and event.actor_id == supervisor_id
        assert '"citizenship":"HT"' in event.details and '"start":"2024-03-01"' in event.details
        assert '"shared":true' in event.details
