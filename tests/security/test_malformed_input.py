"""Malformed input answers 400 or 404 with the normal error page, never 500 (issue 10, finding 7).

The black-box attack found three: `?assignee=%C2%B2` ("²".isdigit() is true, int("²") fails), ids of 30 digits
(an integer SQLite cannot hold) on facility, user and case-list URLs, and a query string that is not UTF-8, which
crashed the error page itself. The siblings are here too: every integer and date the application reads from a URL.
"""

from __future__ import annotations

import re

import pytest

from casemgmt.core.params import MAX_ID, parse_id, parse_int
from tests.auth.support import new_web

HUGE = "9" * 30
REFERENCE = re.compile(r"Reference: [0-9a-f]{12}")


def _assert_refused(response, allowed=(400, 404)) -> None:
    assert response.status_code in allowed, response.status_code
    assert REFERENCE.search(response.get_data(as_text=True)), "not the normal error page"


def _assert_answered(response) -> None:
    """Answered without a server error: a page, a redirect, or a clear refusal."""
    assert response.status_code < 500, response.status_code


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("42", 42), ("007", 7), (str(MAX_ID), MAX_ID),
    ("²", None), ("٣", None), ("-1", None), ("+1", None), (" 1", None), ("1 ", None), ("1.0", None), ("", None),
    (HUGE, None), (str(MAX_ID + 1), None), (None, None), (12, None),
])
def test_parse_int_takes_bounded_ascii_digits_only(text, expected):
    assert parse_int(text) == expected


def test_parse_id_starts_at_one():
    assert parse_id("0") is None
    assert parse_id("1") == 1


@pytest.mark.parametrize("assignee", ["%C2%B2", "%D9%A3", HUGE, "-1", str(2**63), "1e5", "%ff"])
def test_case_list_assignee_filter_ignores_what_is_not_a_bounded_number(app, world, assignee):
    web = new_web(app)
    web.login("supervisor")
    response = web.get(f"/cases/?assignee={assignee}")
    assert response.status_code == 200


@pytest.mark.parametrize("figure", [
    f"assignee:{HUGE}", "assignee:%C2%B2", f"facility:{HUGE}", "facility:%C2%B2", "facility:0",
    "opened:2026-13", "opened:9999-12", "opened:0000-01", "opened:x", f"opened:{HUGE}-01",
])
def test_case_list_figure_arguments_out_of_range_are_not_found(app, world, figure):
    web = new_web(app)
    web.login("supervisor")
    _assert_refused(web.get(f"/cases/?figure={figure}"), allowed=(404,))


@pytest.mark.parametrize("url", [
    f"/shelter/facilities/{HUGE}", f"/shelter/facilities/{HUGE}/edit", f"/shelter/facilities/{2**63}",
    f"/shelter/facilities/{MAX_ID + 1}", "/shelter/facilities/0", "/shelter/facilities/%D9%A3",
])
def test_facility_urls_with_ids_beyond_any_row_are_not_found(app, world, url):
    web = new_web(app)
    web.login("supervisor")
    _assert_refused(web.get(url), allowed=(404,))


@pytest.mark.parametrize("suffix", ["", "/disable", "/enable", "/role", "/password", "/two-factor", "/export-grant"])
def test_user_urls_with_ids_beyond_any_row_are_not_found(app, world, suffix):
    web = new_web(app)
    web.login("admin")
    _assert_refused(web.get(f"/admin/users/{HUGE}{suffix}") if not suffix else
                    web.post(f"/admin/users/{HUGE}{suffix}", token_page="/admin/users"), allowed=(404,))


@pytest.mark.parametrize("page", [HUGE, "-5", "0", "%C2%B2", str(2**63), "1e3", "x"])
@pytest.mark.parametrize("path", ["/cases/", "/audit/", "/admin/users", "/tasks/", "/referrals/", "/intake/"])
def test_page_numbers_of_any_shape_show_a_page(app, world, path, page):
    web = new_web(app)
    web.login("admin" if path.startswith(("/admin", "/audit")) else "supervisor")
    _assert_answered(web.get(f"{path}?page={page}"))


@pytest.mark.parametrize("query", [
    "start=0001-01-01&end=9999-12-31", "start=9999-12-31&end=9999-12-31", "start=0001-01-01&end=0001-01-01",
    "start=2026-02-30", "start=garbage&end=%ff", f"assignee={HUGE}", "assignee=%C2%B2", "assignee=-1",
])
@pytest.mark.parametrize("path", ["/reports/", "/reports/donor", "/reports/exports",
                                  "/reports/exports/deidentified/preview", "/cases/?figure=stage:shelter&"])
def test_report_filters_with_boundary_dates_and_numbers_answer_without_error(app, world, path, query):
    web = new_web(app)
    web.login("supervisor")
    if path.endswith("&"):
        query = "&".join("r_" + part for part in query.split("&"))
    _assert_answered(web.get(f"{path}{'' if path.endswith('&') else '?'}{query}"))


@pytest.mark.parametrize("path", ["/", "/cases/", "/no/such/page", "/login", "/admin/users"])
@pytest.mark.parametrize("logged_in", [True, False])
def test_a_query_string_that_is_not_utf8_is_a_bad_request_with_the_normal_error_page(app, world, path, logged_in):
    web = new_web(app)
    if logged_in:
        web.login("admin")
    # WSGI carries the raw query bytes as latin-1 text: "\xff" is the byte 0xFF, which no UTF-8 text contains.
    response = web.client.get(path, environ_overrides={"QUERY_STRING": "q=\xff"})
    _assert_refused(response, allowed=(400,))


def test_percent_encoded_bytes_that_are_not_utf8_are_answered(app, world):
    web = new_web(app)
    web.login("supervisor")
    _assert_answered(web.get("/cases/?q=%ff&stage=%fe%ff"))


def test_bounded_ids_still_build_and_match_urls(app, world):
    web = new_web(app)
    web.login("admin")
    response = web.get(f"/admin/users/{world.caseworker.id}")
    assert response.status_code == 200
    assert web.get(f"/admin/users/00{world.caseworker.id}").status_code == 200


@pytest.mark.parametrize("path", ["/cases/%ff", "/cases/%ff/edit", "/cases/%00", "/cases/%00/edit", "/tasks/%00/edit",
                                  "/cases/%1b/timeline", "/tasks/%ff/edit",
                                  "/shelter/facilities/%C2%B2", "/cases/" + "a" * 5000])
def test_paths_with_bytes_that_are_not_utf8_or_ids_of_any_shape_are_not_found(app, world, path):
    web = new_web(app)
    web.login("supervisor")
    _assert_refused(web.get(path), allowed=(404,))


def test_a_raw_byte_in_the_path_is_not_found(app, world):
    web = new_web(app)
    web.login("supervisor")
    _assert_refused(web.client.get("/", environ_overrides={"PATH_INFO": "/cases/\xff\xfe"}), allowed=(404,))


@pytest.mark.parametrize("query", ["q=%00", "stage=a%00b", "action=%00", "%00=1"])
@pytest.mark.parametrize("path", ["/cases/", "/audit/", "/tasks/"])
def test_a_nul_character_in_the_query_string_is_a_bad_request(app, world, path, query):
    """PostgreSQL refuses NUL in any text (an error, so a 500); no link of ours carries one."""
    web = new_web(app)
    web.login("admin" if path == "/audit/" else "supervisor")
    _assert_refused(web.get(f"{path}?{query}"), allowed=(400,))
