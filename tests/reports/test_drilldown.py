"""Every figure on the dashboard links to the list of cases behind it, and that list holds exactly as many cases as
the figure says: the test renders the dashboard over a varied dataset, follows every link and compares. Also: no
other organisation's case ever appears, only supervisors reach the dashboard, and a bad figure key is a 404."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from casemgmt.core.time import utcnow
from tests.conftest import Web, new_client
from tests.reports.test_dashboard import varied

# A headline card or a "cases" cell: the number is the link.
NUMBER_LINK = re.compile(r'<a class="figure-link" href="([^"]+)">(\d+)</a>')
# A row of a chart's "Show the numbers" table: the label is the link, the first number the figure.
ROW_LINK = re.compile(r'<th scope="row"><a href="([^"]+)">[^<]*</a></th>\s*<td class="text-end">(\d+)</td>')
ANY_FIGURE_LINK = re.compile(r'href="(/cases/\?[^"]*figure=[^"]*)"')
LIST_TOTAL = re.compile(r'<p class="text-muted">(\d+) cases?</p>')
CASE_LINK = re.compile(r'href="(/cases/[0-9a-f-]{36})"')


@pytest.fixture
def data(app, w):
    with app.app_context():
        return varied(w)


def figure_links(page: str) -> list[tuple[str, int]]:
    links = [(html.unescape(href), int(n)) for href, n in NUMBER_LINK.findall(page) + ROW_LINK.findall(page)]
    # Every link to a case list is one of the two shapes above, so none escapes the check.
    assert len(links) == len(ANY_FIGURE_LINK.findall(page))
    return links


def list_total(web: Web, url: str) -> tuple[int, str]:
    response = web.get(url)
    assert response.status_code == 200, url
    page = response.get_data(as_text=True)
    match = LIST_TOTAL.search(page)
    assert match, url
    return int(match.group(1)), page


def test_every_figure_link_lists_exactly_the_cases_it_counts(app, web, w, data):
    theirs = [s.reference for s in data.of(w.ngo2.id)]
    past = (utcnow() - timedelta(days=200)).date()
    queries = [
        "",
        "?assignee=0&exploitation=ForcedLabour",
        f"?start={past - timedelta(days=150)}&end={past}&citizenship=PE",
        f"?start={past}&exploitation_country=CL&assignee={w.caseworker.id}",
    ]
    web.login("supervisor")
    names, followed, opened = set(), 0, 0
    for query in queries:
        page = web.get(f"/reports/{query}").get_data(as_text=True)
        links = figure_links(page)
        assert len(links) >= 30
        for url, shown in links:
            total, listed = list_total(web, url)
            assert total == shown, (query, url)
            assert "From the report:" in listed
            assert not any(ref in listed for ref in theirs), url
            names.add(re.search(r"figure=([a-z_]+)", url).group(1))
            followed += 1
            # The supervisor may open the cases behind a figure.
            if opened < 3 and shown:
                assert web.get(CASE_LINK.search(listed).group(1)).status_code == 200
                opened += 1
    assert names == {"cohort", "open", "tasks_overdue", "visits", "approval", "stage", "assignee", "opened",
                     "return", "facility", "visited", "stay", "child", "reunified", "tracing", "bid", "granted"}
    assert followed >= 150 and opened == 3


def test_another_organisation_sees_only_its_own_cases(app, web, w, data):
    web.login("supervisor")
    ours = web.get("/reports/").get_data(as_text=True)
    other = Web(new_client(app))
    other.login("supervisor2")
    response = other.get("/reports/")
    assert response.status_code == 200
    theirs = response.get_data(as_text=True)
    cohort = next(url for url, _n in figure_links(theirs) if "figure=cohort" in url)
    ours_count = dict(figure_links(ours))[cohort]
    theirs_count = dict(figure_links(theirs))[cohort]
    assert ours_count != theirs_count
    # Following our link as the other supervisor lists their cases, never ours.
    total, listed = list_total(other, cohort)
    assert total == theirs_count
    assert not any(s.reference in listed for s in data.of(w.ngo.id))
    assert "Casa Azul" not in theirs and "Otra casa" in theirs


@pytest.mark.parametrize("username", ["caseworker", "caseworkerb", "hotline", "mission", "admin", "caseworker2"])
def test_only_supervisors_open_the_dashboard(app, web, w, username):
    web.login(username)
    assert web.get("/reports/").status_code == 403
    assert web.get("/reports/?start=2024-01-01").status_code == 403


@pytest.mark.parametrize("figure", [
    "nope", "", "stage:martian", "facility:abc", "stay:nowhere", "opened:2024-13", "opened:abc", "visits:someday",
    "approval:marriage", "assignee:x", "return:lost", "cohort:x", "open:1", "visited:x", "x" * 100,
    "child:maybe", "child:", "tracing:lost", "tracing:", "bid:whatever", "granted:green_card", "reunified:any",
    "reunified:", "reunified:arrived",
])
def test_a_bad_figure_key_is_not_found(app, web, w, figure):
    web.login("supervisor")
    assert web.get("/cases/", query_string={"figure": figure}).status_code == 404


def test_a_bad_report_filter_on_a_list_is_not_found(app, web, w):
    web.login("supervisor")
    assert web.get("/cases/?figure=open").status_code == 200
    assert web.get("/cases/?figure=open&r_citizenship=XX").status_code == 404
    assert web.get("/cases/?figure=open&r_start=2024-05-01&r_end=2024-01-01").status_code == 404
