"""The children and families figures (issue 15) on the dashboard and the donor report, against an independent count.

The rows are written with the models (sealed text through crypto.seal, as the operations do), from a seeded
generator that puts dates on both sides of each edge of the period and adds rows that must never count: another
organisation's, an erased case's, a case closed before the period, convened / withdrawn / not agreed determinations,
refused or applied statuses, cancelled reunifications and the members who arrived in them. The expected numbers are
counted in plain Python from the generator's own record, never with SQL; the pages, the case lists their numbers link
to, the shared version and its files must all agree with them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from casemgmt.bestinterests.models import RECOMMENDATIONS, BestInterestsDetermination, PanelMember
from casemgmt.cases.models import Case
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.families.models import TRACING_STATUSES, FamilyMember, TracingRequest
from casemgmt.reports import dashboard, donor, families
from casemgmt.reports.figures import FigureContext
from casemgmt.reports.filters import ReportFilters
from casemgmt.residence.models import STATUS_KINDS, ProtectionStatus, Reunification, ReunificationMember
from tests import factories
from tests.reports import programme_support as ps
from tests.reports.test_donor import linked_numbers, page_tables, query_string
from tests.reports.test_donor_sharing import (
    BID_TITLE,
    CHILDREN_TITLE,
    FEWER,
    GRANTED_TITLE,
    HIDDEN,
    JOINED_TITLE,
    REUNIFIED_TITLE,
    SUPPRESSED,
    TRACING_TITLE,
    blocks,
    csv_rows,
    fetch,
    one_way,
    worked_out,
    xlsx_rows,
)

START, END = date(2024, 3, 1), date(2024, 8, 31)
DAY = timedelta(days=1)
K = 11
MINOR = ("0-8", "9-17")
BANDS = ["0-8", "9-17", "18-20", "30-38", None]
LIST_TOTAL = re.compile(r'<p class="text-muted">(\d+) cases?</p>')
REFERENCE = re.compile(r"C-[A-Z2-9]{8}")


@dataclass
class Spec:
    """One case as the test made it: what each figure must see of it."""

    org: str  # "ngo" or "ngo2"
    band: str | None
    child_unknown: bool = False
    citizenship: str = "PE"
    erased: bool = False
    closed_before: bool = False  # closed before the period: not in the cohort
    # (status, opened_on, by the receiving organisation)
    tracing: list[tuple[str, date, bool]] = field(default_factory=list)
    # (status, recommendation, determined_on)
    bids: list[tuple[str, str, date | None]] = field(default_factory=list)
    # (state, kind, decided_on)
    statuses: list[tuple[str, str, date | None]] = field(default_factory=list)
    # (status, reunified_on, [arrived_on of each member])
    reunifications: list[tuple[str, date | None, list[date | None]]] = field(default_factory=list)
    id: str = ""
    reference: str = ""


def _day(rng: random.Random) -> date:
    if rng.random() < 0.4:
        return rng.choice([START - DAY, START, END, END + DAY])
    return date(2023, 10, 1) + timedelta(days=rng.randrange(500))


def generate(seed: int = 15, n: int = 48) -> list[Spec]:
    rng = random.Random(seed)
    specs = []
    for index in range(n):
        band = rng.choice(BANDS)
        spec = Spec(org="ngo" if index % 5 else "ngo2", band=band,
                    child_unknown=band not in MINOR and rng.random() < 0.2,
                    citizenship=rng.choice(["PE", "HT"]), erased=rng.random() < 0.05,
                    closed_before=rng.random() < 0.08)
        for _ in range(rng.choice([0, 0, 1, 2])):
            spec.tracing.append((rng.choice(list(TRACING_STATUSES)), _day(rng), rng.random() < 0.3))
        for _ in range(rng.choice([0, 0, 1, 2])):
            status = rng.choice(["determined", "determined", "convened", "withdrawn", "not_agreed"])
            spec.bids.append((status, rng.choice(list(RECOMMENDATIONS)),
                              None if status == "convened" else _day(rng)))
        for _ in range(rng.choice([0, 0, 1, 2])):
            state = rng.choice(["granted", "granted", "applied", "refused", "expired"])
            spec.statuses.append((state, rng.choice(list(STATUS_KINDS)), None if state == "applied" else _day(rng)))
        if rng.random() < 0.4:
            status = rng.choice(["reunified", "reunified", "in_progress", "cancelled"])
            arrivals = [_day(rng) if rng.random() < 0.8 else None for _ in range(rng.randint(1, 3))]
            spec.reunifications.append((status, _day(rng) if status in ("reunified", "cancelled") else None,
                                        arrivals))
        specs.append(spec)
    return specs + edges()


def edges() -> list[Spec]:
    """Rows on the edges that must not count, whatever the generator drew."""
    return [
        Spec(org="ngo", band="30-38", reunifications=[("cancelled", START, [START, END])]),
        Spec(org="ngo", band="9-17", bids=[("withdrawn", "return_to_family", START), ("not_agreed", "stay", END)],
             statuses=[("refused", "t_visa", START)]),
        Spec(org="ngo", band="18-20", reunifications=[("in_progress", None, [END, END + DAY, None])],
             tracing=[("found", START - DAY, False), ("found", END, True)]),
        Spec(org="ngo", band=None, child_unknown=True, tracing=[("not_found", END + DAY, False)]),
        Spec(org="ngo2", band="0-8", tracing=[("found", START, False)], bids=[("determined", "return_to_family", END)],
             statuses=[("granted", "t_visa", START)], reunifications=[("reunified", START, [START])]),
        Spec(org="ngo", band="9-17", erased=True, tracing=[("found", START, False)],
             statuses=[("granted", "t_visa", START)], reunifications=[("reunified", START, [START])]),
        Spec(org="ngo", band="9-17", closed_before=True, bids=[("determined", "return_to_family", END)],
             reunifications=[("reunified", END, [END])]),
    ]


def store(w, specs: list[Spec]) -> None:
    actors = {"ngo": w.caseworker, "ngo2": w.caseworker2}
    orgs = {"ngo": w.ngo, "ngo2": w.ngo2}
    panel = {"ngo": (w.supervisor, w.caseworker_b), "ngo2": (w.supervisor2, w.caseworker2)}
    for spec in specs:
        case = factories.case(actors[spec.org], date_of_birth=None, age_band=spec.band or "",
                              citizenship=spec.citizenship)
        spec.id, spec.reference = case.id, case.reference
        case.created_at = datetime(2023, 9, 1, 10)
        if spec.child_unknown:
            case.person.age_basis = "child_unknown"
        if spec.erased:
            case.erased_at = datetime(2024, 12, 1)
        if spec.closed_before:
            case.stage, case.status, case.closed_at = "closed", "Closed", datetime(2024, 2, 29, 23, 0)
        org = orgs[spec.org]
        for status, opened, by_mission in spec.tracing:
            member = FamilyMember(case_id=case.id, relationship_code="mother", whereabouts="unknown")
            seal(member, "given_name", "Rosa")
            db.session.add(member)
            db.session.flush()
            request = TracingRequest(case_id=case.id, organisation_id=w.mission_org.id if by_mission else org.id,
                                     family_member_id=member.id, reason="unaccompanied", status=status,
                                     opened_on=opened, closed_on=None if status == "open" else opened + DAY)
            seal(request, "description", "Mother, last seen in Jacmel")
            db.session.add(request)
        for status, recommendation, determined in spec.bids:
            bid = BestInterestsDetermination(case_id=case.id, organisation_id=org.id, decision="return",
                                             recommendation=recommendation, status=status,
                                             determined_on=determined)
            seal(bid, "reasons", "The family assessment found the home safe.")
            bid.panel = [PanelMember(case_id=case.id, user_id=user.id, position=n,
                                     vote="concur" if status == "determined" else "pending")
                         for n, user in enumerate(panel[spec.org])]
            db.session.add(bid)
        for state, kind, decided in spec.statuses:
            status_row = ProtectionStatus(case_id=case.id, organisation_id=org.id, country="US", kind=kind,
                                          state=state, applied_on=date(2023, 9, 15), decided_on=decided)
            seal(status_row, "reference", "EAC-24-123-45678")
            db.session.add(status_row)
        for status, reunified_on, arrivals in spec.reunifications:
            reunification = Reunification(case_id=case.id, organisation_id=org.id, status=status,
                                          opened_on=date(2023, 10, 1), reunified_on=reunified_on,
                                          cancelled_on=reunified_on if status == "cancelled" else None)
            db.session.add(reunification)
            db.session.flush()
            for arrived in arrivals:
                member = FamilyMember(case_id=case.id, relationship_code="child", may_be_told_location=True)
                seal(member, "given_name", "Junior")
                db.session.add(member)
                db.session.flush()
                db.session.add(ReunificationMember(reunification_id=reunification.id, case_id=case.id,
                                                   family_member_id=member.id, derivative_kind="t3",
                                                   arrived_on=arrived))
        db.session.commit()


# --- the independent count -----------------------------------------------------------------------------------------


def during(day: date | None) -> bool:
    return day is not None and START <= day <= END


def cohort(specs: list[Spec], org: str = "ngo", enrolled: set[str] | None = None,
           citizenship: str | None = None) -> list[Spec]:
    return [s for s in specs if s.org == org and not s.erased and not s.closed_before
            and (enrolled is None or s.id in enrolled) and (citizenship is None or s.citizenship == citizenship)]


def expected(specs: list[Spec], **scope) -> tuple[dict[str, set[str]], dict[str, int]]:
    """({figure key: the ids of the cases it counts}, {figure key: rows counted}) and the members who joined."""
    cases: dict[str, set[str]] = {}
    rows: dict[str, int] = {}
    joined = 0

    def add(key: str, spec: Spec, n: int = 1) -> None:
        cases.setdefault(key, set()).add(spec.id)
        rows[key] = rows.get(key, 0) + n

    members = cohort(specs, **scope)
    for spec in members:
        add("child:yes" if spec.band in MINOR or spec.child_unknown else "child:no", spec)
        for status, opened, _mission in spec.tracing:
            if during(opened):
                add(f"tracing:{status}", spec)
                add("tracing:any", spec)
        for status, recommendation, determined in spec.bids:
            if status == "determined" and during(determined):
                add(f"bid:{recommendation}", spec)
                add("bid:any", spec)
        for state, kind, decided in spec.statuses:
            if state == "granted" and during(decided):
                add(f"granted:{kind}", spec)
                add("granted:any", spec)
        for status, reunified_on, arrivals in spec.reunifications:
            if status == "reunified" and during(reunified_on):
                add("reunified:yes", spec)
            if status != "cancelled":
                joined += sum(during(day) for day in arrivals)
    everyone = {s.id for s in members}
    for name, positive, negative in (("tracing", "any", "none"), ("bid", "any", "none"),
                                     ("granted", "any", "none"), ("reunified", "yes", "no")):
        cases[f"{name}:{negative}"] = everyone - cases.get(f"{name}:{positive}", set())
    rows["joined"] = joined
    return cases, rows


def family_keys() -> list[str]:
    keys = ["child:yes", "child:no", "reunified:yes", "reunified:no"]
    for name, codes in (("tracing", TRACING_STATUSES), ("bid", RECOMMENDATIONS), ("granted", STATUS_KINDS)):
        keys += [f"{name}:{code}" for code in (*codes, "any", "none")]
    return keys


# --- fixtures -------------------------------------------------------------------------------------------------------


@dataclass
class Data:
    w: factories.World
    specs: list[Spec]


@pytest.fixture
def data(app) -> Data:
    with app.app_context():
        w = factories.world()
        specs = generate()
        store(w, specs)
        for obj in vars(w).values():
            db.session.refresh(obj)
        db.session.expunge_all()
    return Data(w, specs)


def report_lines(report: donor.DonorReport) -> dict[str, donor.Line]:
    return {line.key: line for table in report.family_tables for line in (*table.lines, *table.summary)}


# --- the figures ----------------------------------------------------------------------------------------------------


def test_the_generated_rows_cover_every_edge(data):
    specs = data.specs
    assert any(s.org == "ngo2" and s.tracing for s in specs)
    assert any((s.erased or s.closed_before) and (s.tracing or s.bids or s.statuses) for s in specs)
    assert any(s.child_unknown for s in cohort(specs)) and any(s.band in MINOR for s in cohort(specs))
    tracing = [t for s in cohort(specs) for t in s.tracing]
    assert {t[0] for t in tracing if during(t[1])} == set(TRACING_STATUSES)
    assert any(not during(t[1]) for t in tracing) and any(t[2] and during(t[1]) for t in tracing)
    bids = [b for s in cohort(specs) for b in s.bids]
    assert any(b[0] == "withdrawn" and during(b[2]) for b in bids) and any(b[0] == "determined" and during(b[2])
                                                                           for b in bids)
    statuses = [x for s in cohort(specs) for x in s.statuses]
    assert any(x[0] == "refused" and during(x[2]) for x in statuses) and any(x[0] == "granted" for x in statuses)
    reunions = [r for s in cohort(specs) for r in s.reunifications]
    assert any(r[0] == "cancelled" and any(during(a) for a in r[2]) for r in reunions)
    assert any(r[0] == "reunified" and during(r[1]) for r in reunions)
    assert any(r[0] == "in_progress" and any(during(a) for a in r[2]) for r in reunions)


@pytest.mark.parametrize("scope", [{}, {"citizenship": "HT"}, {"org": "ngo2"}])
def test_every_family_figure_equals_an_independent_count(app, data, scope):
    w = data.w
    org = w.ngo2 if scope.get("org") == "ngo2" else w.ngo
    filters = ReportFilters(start=START, end=END, citizenship=scope.get("citizenship"))
    want_cases, want_rows = expected(data.specs, **scope)
    with app.test_request_context():
        report = donor.build(org.id, filters)
        lines = report_lines(report)
        assert set(lines) == set(family_keys())
        for key in family_keys():
            assert lines[key].count == len(want_cases.get(key, ())), key
        assert report.joined.count == want_rows["joined"]
        for table in report.family_tables:
            assert table.total.count == len(cohort(data.specs, **scope))
        board = dashboard.build(FigureContext(org.id, filters, date(2024, 9, 15))).families
        for key in family_keys():
            if key.endswith((":none", ":no")):
                continue
            assert board.get(key) == len(want_cases.get(key, ())), key
            if not key.startswith("child"):
                # Requests, determinations, statuses and reunifications themselves.
                assert board.rows.get(key, 0) == want_rows.get(key, 0), key
        assert board.joined == want_rows["joined"]


def test_the_family_figures_cost_one_query(app, data):
    from tests.tasks.conftest import count_queries

    def run():
        with app.test_request_context():
            families.counts(FigureContext(data.w.ngo.id, ReportFilters(start=START, end=END), date(2024, 9, 15)))

    assert count_queries(app, run) == 1


def test_each_number_links_to_exactly_the_cases_it_counts(app, data, web):
    """The donor page's family tables and the dashboard's cards and charts: every link lists the counted cases,
    no other (the references on the list are the expected set)."""
    filters = ReportFilters(start=START, end=END)
    want_cases, _rows = expected(data.specs)
    references = {s.id: s.reference for s in data.specs}
    web.login("supervisor")
    html = web.get(f"/reports/donor?{query_string(filters)}").get_data(as_text=True)
    tables = page_tables(html)
    numbers = [(key, n, href) for key, n, href in linked_numbers({t: tables[t] for t in
                                                                   ("children", "tracing", "bid", "granted",
                                                                    "reunified")})]
    board = web.get(f"/reports/?{query_string(filters)}").get_data(as_text=True)
    for href, shown in re.findall(r'href="([^"]*figure=(?:child|tracing|bid|granted|reunified)[^"]*)">(\d+)<', board):
        numbers.append((re.search(r"figure=([^&]+)", href).group(1).replace("%3A", ":"), int(shown), href))
    for href, label_number in re.findall(
            r'<th scope="row"><a href="([^"]*figure=(?:tracing|bid|granted)[^"]*)">[^<]*</a></th>\s*'
            r'<td class="text-end">(\d+)</td>', board):
        numbers.append((re.search(r"figure=([^&]+)", href).group(1).replace("%3A", ":"), int(label_number), href))
    numbers = [(key, n, href) for key, n, href in numbers if key != "assisted"]  # the tables' totals
    assert {key.split(":")[0] for key, _n, _h in numbers} == {"child", "tracing", "bid", "granted", "reunified"}
    checked = set()
    for key, shown, href in numbers:
        want = want_cases.get(key, set())
        assert shown == len(want), key
        if href in checked:
            continue
        checked.add(href)
        listing = web.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert int(LIST_TOTAL.search(listing).group(1)) == len(want), key
        if len(want) <= 25:  # one page of the list: its references are exactly the counted cases
            assert set(REFERENCE.findall(listing)) == {references[i] for i in want}, key
    # The dashboard's family members who joined, said in words under the card.
    assert f"{expected(data.specs)[1]['joined']} family members joined in the period" in board


def test_the_project_filter_counts_the_enrolled_cases_only(app, data):
    with app.test_request_context():
        w = data.w
        ngo = db.session.get(type(w.ngo), w.ngo.id)
        project = ps.project(ngo, "P-FAM")
        mine = [s for s in cohort(data.specs)]
        enrolled = {s.id for s in mine[::2]}
        for spec in mine[::2]:
            ps.enrol(db.session.get(Case, spec.id), project, ngo, date(2024, 1, 1))
        # Enrolled after the period: not in its cohort.
        ps.enrol(db.session.get(Case, mine[1].id), project, ngo, END + DAY)
        db.session.commit()
        filters = ReportFilters(start=START, end=END, project=project.id)
        want_cases, want_rows = expected(data.specs, enrolled=enrolled)
        lines = report_lines(donor.build(w.ngo.id, filters))
        for key in family_keys():
            assert lines[key].count == len(want_cases.get(key, ())), key
        donor_filtered = ReportFilters(start=START, end=END, donor=project.donor_id)
        board = families.counts(FigureContext(w.ngo.id, donor_filtered, date(2024, 9, 15)))
        assert board.get("tracing:any") == len(want_cases.get("tracing:any", ()))
        assert board.joined == want_rows["joined"]


# --- the version to share -------------------------------------------------------------------------------------------


def small_world(w, children_unknown: int = 0) -> list[Spec]:
    """40 persons: 12 of 9-17, 28 of 18-20 (some recorded as children of unknown age); 3 tracing requests found and
    12 open, 2 reunified, 1 status granted; 5 family members joined."""
    specs = [Spec(org="ngo", band="9-17") for _ in range(12)]
    specs += [Spec(org="ngo", band="18-20", child_unknown=index < children_unknown) for index in range(28)]
    for spec in specs[:3]:
        spec.tracing.append(("found", START, False))
    for spec in specs[3:15]:
        spec.tracing.append(("open", END, False))
    for spec in specs[15:17]:
        spec.reunifications.append(("reunified", START, [START, END]))
    specs[17].statuses.append(("granted", "t_visa", END))
    specs[18].reunifications.append(("in_progress", None, [END]))
    store(w, specs)
    return specs


def shared_file(app, web, specs) -> dict[str, list[list[str]]]:
    filters = ReportFilters(start=START, end=END)
    web.login("supervisor")
    rows = csv_rows(fetch(web, "csv", query_string(filters)))
    assert xlsx_rows(fetch(web, "xlsx", query_string(filters))) == [
        [value for value in row] for row in _trim(rows)]
    return blocks(rows)


def _trim(rows):
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    return out


def test_the_shared_file_hides_small_family_counts_and_says_why(app, web):
    with app.app_context():
        w = factories.world()
        specs = small_world(w)
    files = shared_file(app, web, specs)
    tracing = one_way(files[TRACING_TITLE])
    # 3 found: fewer than 11; 12 open is hidden with it ("suppressed"), or the 15 with a request would give it back.
    assert tracing["Found"] == FEWER and tracing["Open"] == SUPPRESSED
    assert tracing["Not found"] == "0" and tracing["Closed"] == "0"
    assert tracing["At least one tracing request opened in the period"] == "15"
    assert tracing["No tracing request opened in the period"] == "25" and tracing["Total"] == "40"
    granted = one_way(files[GRANTED_TITLE])
    assert granted["T visa (T-1, United States)"] == FEWER
    assert granted["At least one protection status granted in the period"] == FEWER
    # "none" would give the one person back from the total.
    assert granted["No protection status granted in the period"] == SUPPRESSED
    reunified = one_way(files[REUNIFIED_TITLE])
    assert reunified["Reunified with their family in the period"] == FEWER
    assert reunified["Not reunified with their family in the period"] == SUPPRESSED
    assert one_way(files[JOINED_TITLE]) == {"Family members": FEWER}
    assert one_way(files[BID_TITLE])["Total"] == "40"
    # 12 children of 9-17 and nobody else: as many as the age table shows, so nothing new and nothing hidden.
    children = one_way(files[CHILDREN_TITLE])
    assert children["Children (under 18, or recorded as a child)"] == "12"
    assert children["Adults, and persons whose age is not known"] == "28"
    for title in (TRACING_TITLE, GRANTED_TITLE, REUNIFIED_TITLE, CHILDREN_TITLE, BID_TITLE):
        table = one_way(files[title])
        for label, value in table.items():
            assert value in HIDDEN or int(value) == 0 or int(value) >= K, (title, label, value)
        values = {label: None if value in HIDDEN else int(value) for label, value in table.items()}
        labels = list(table)
        if title in (REUNIFIED_TITLE, CHILDREN_TITLE):
            sums = [("Total", labels[:2])]
        else:
            *lines, some, none, _total = labels
            sums = [("Total", [some, none]), ("Total", [*lines, none])]
        assert worked_out(values, sums) == set(), title
    # The page to share says the same, and links to no list.
    html = web.get(f"/reports/donor?{query_string(ReportFilters(start=START, end=END))}&shared=1").get_data(
        as_text=True)
    on_page = {row[0][0]: row[1][0] for row in page_tables(html)["tracing"][1:]}
    assert on_page["Found"] == FEWER and on_page["Open"] == SUPPRESSED and "figure=" not in html
    assert re.search(r'id="donor-joined">[^<]*<strong><span class="text-muted hidden-count">fewer than 11', html)


def test_children_of_unknown_age_are_not_given_away_by_the_age_table(app, web):
    """Three persons recorded as children sit in the 18-20 band: children (15) minus the 9-17 band (12) would count
    them, so the shared version hides children and the others, though neither is small."""
    with app.app_context():
        w = factories.world()
        specs = small_world(w, children_unknown=3)
        org_id = w.ngo.id
    files = shared_file(app, web, specs)
    children = one_way(files[CHILDREN_TITLE])
    assert children["Children (under 18, or recorded as a child)"] == SUPPRESSED
    assert children["Adults, and persons whose age is not known"] == SUPPRESSED
    assert one_way(files["Persons assisted by age band"])["9-17"] == "12"
    with app.test_request_context():
        exact = donor.build(org_id, ReportFilters(start=START, end=END))
        assert report_lines(exact)["child:yes"].count == 15


def test_children_recorded_without_an_age_are_published_when_they_and_the_rest_of_their_band_are_many(app, web):
    with app.app_context():
        w = factories.world()
        specs = small_world(w, children_unknown=14)  # 14 of the 28 in 18-20: both at least 11
    children = one_way(shared_file(app, web, specs)[CHILDREN_TITLE])
    assert children["Children (under 18, or recorded as a child)"] == "26"
    assert children["Adults, and persons whose age is not known"] == "14"


def test_the_exact_page_counts_with_links_and_the_totals_add_up(app, web):
    with app.app_context():
        w = factories.world()
        small_world(w)
    web.login("supervisor")
    html = web.get(f"/reports/donor?{query_string(ReportFilters(start=START, end=END))}").get_data(as_text=True)
    numbers = {key: n for key, n, _href in linked_numbers(page_tables(html))}
    assert numbers["tracing:found"] == 3 and numbers["tracing:open"] == 12 and numbers["tracing:none"] == 25
    assert numbers["reunified:yes"] == 2 and numbers["granted:t_visa"] == 1 and numbers["child:yes"] == 12
    # 2 reunified with 2 members each, and 1 member of a reunification still in progress.
    assert re.search(r'id="donor-joined">[^<]*<strong>5</strong>', html)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ReunificationMember)) == 5
