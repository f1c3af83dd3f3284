"""The benchmark, run small so that it cannot rot: the one documented command must keep working, report every figure,
keep each page's query count flat as the cases grow, and show blind-index search beating decrypt-and-scan.

Each test runs the real command in a subprocess, on its own databases (dropped afterwards), per backend.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from benchmarks import report
from tests.conftest import IN_CI, PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]
SMALL, LARGER = 200, 600
# Issue 14's pages (benchmarks/measure.py), for the largest project of the supervisor's organisation. The financial
# workbook lists every request of the project, so only the pages are held to a constant query count.
PROJECT_PAGES = ("project_page", "fund_list", "fund_list_spent", "project_export")
CONSTANT_PROJECT_PAGES = ("project_page", "fund_list", "fund_list_spent")
# Issue 15's per-case pages (benchmarks/measure.py FAMILY_PAGES), on sampled records of the supervisor's organisation.
FAMILY_PAGES = ("family_page", "tracing_page", "best_interests_page", "stay_page")


def _require(backend: str) -> None:
    if backend != "postgresql":
        return
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        (pytest.fail if IN_CI else pytest.skip)(f"PostgreSQL is not reachable: {exc}")


def _run(*args: str, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASEMGMT_BENCH_POSTGRES_URL": PG_ADMIN_URL, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def runs(backend, tmp_path_factory) -> list[dict]:
    """One benchmark run at two sizes on this backend (the session's `backend` parameter: SQLite, PostgreSQL)."""
    _require(backend)
    work = tmp_path_factory.mktemp(f"bench-{backend}")
    out = work / "results.json"
    done = _run("benchmarks", "--cases", f"{SMALL},{LARGER}", "--backends", backend, "--repeat", "3",
                "--workdir", str(work / "db"), "--out", str(out), "--drop-after", timeout=600)
    results = json.loads(out.read_text())["results"]
    assert "Targets (issue 5):" in done.stdout and "| Case view |" in done.stdout
    return sorted(results, key=lambda r: r["cases"])


def test_every_page_is_measured_with_positive_numbers(runs):
    for result in runs:
        for key, _label in report.PAGES:
            metric = result["metrics"][key]
            assert "skipped" not in metric, f"{key}: {metric}"
            assert metric["p50_ms"] > 0 and metric["p95_ms"] >= metric["p50_ms"], key
            assert metric["queries"] > 0, key
        for key in report.CONSTANT_QUERY_PAGES:
            assert result["metrics"][key]["floor_p50_ms"] > 0, key
        export = result["metrics"]["export_deidentified"]
        assert export["rows"] > 0 and export["rows_per_s"] > 0
        assert result["metrics"]["case_create"]["n"] == 3 and result["metrics"]["stage_change"]["n"] == 3
        view = result["comparisons"]["view_encrypted_vs_plain"]
        assert view["encrypted_p50_ms"] > 0 and view["plain_p50_ms"] > 0
        assert view["decryptions_per_view"] > 0 and view["lookups_missed"] == 0
        assert result["memory"]["peak_rss_mb"] > 0 and result["database_mb"] > 0
        assert result["build"]["cases"] == result["cases"]


def test_the_project_and_fund_pages_are_measured(runs):
    for result in runs:
        for key in PROJECT_PAGES:
            metric = result["metrics"][key]
            assert "skipped" not in metric, f"{key}: {metric}"
            assert metric["p50_ms"] > 0 and metric["p95_ms"] >= metric["p50_ms"], key
            assert metric["queries"] > 0 and metric["floor_p50_ms"] > 0, key
        assert result["metrics"]["project_export"]["bytes"] > 0
    small, larger = runs
    grown = {key: (small["metrics"][key]["queries"], larger["metrics"][key]["queries"])
             for key in CONSTANT_PROJECT_PAGES
             if small["metrics"][key]["queries"] != larger["metrics"][key]["queries"]}
    assert grown == {}, grown


def test_the_family_pages_are_measured_with_a_target_and_a_constant_query_count(runs):
    for result in runs:
        for key in FAMILY_PAGES:
            metric = result["metrics"][key]
            assert "skipped" not in metric, f"{key}: {metric}"
            assert metric["p50_ms"] > 0 and metric["p95_ms"] >= metric["p50_ms"], key
            assert metric["queries"] > 0 and metric["floor_p50_ms"] > 0, key
            # Picked among the organisation's records of that kind, never a page with nothing on it.
            assert metric["sampled_from"] > 0 and metric["n"] == result["repeat"], key
            # A sampled record runs at most two queries more than the fixed shape (a section that is there or not:
            # a visit, a reunification, the header's look at the contacts when no age is recorded), never one per row.
            assert metric["queries_max"] <= metric["queries"] + 2, (key, metric)
    assert set(FAMILY_PAGES) <= set(report.CONSTANT_QUERY_PAGES)
    assert set(FAMILY_PAGES) <= {key for key, _label in report.PAGES}
    assert set(FAMILY_PAGES) <= {target.metric for target in report.TARGETS}
    small, larger = runs
    # The tracing page ranks its candidates among the organisation's other cases: more cases, same queries.
    assert larger["metrics"]["tracing_page"]["sampled_from"] > small["metrics"]["tracing_page"]["sampled_from"]
    grown = {key: (small["metrics"][key]["queries"], larger["metrics"][key]["queries"]) for key in FAMILY_PAGES
             if small["metrics"][key]["queries"] != larger["metrics"][key]["queries"]}
    assert grown == {}, grown


def test_queries_per_page_do_not_grow_with_the_number_of_cases(runs):
    small, larger = runs
    assert larger["reader_scope"] > 2 * small["reader_scope"]
    assert report.query_growth(runs) == []


def test_blind_index_search_beats_decrypt_and_scan(runs):
    for result in runs:
        compared = result["comparisons"]["search_vs_scan"]
        assert compared["same_results"], "search must find every person the scan finds"
        # Everyone the supervisor sees, the cases the harness opened along the way included.
        assert compared["people_decrypted_per_scan"] >= result["reader_scope"]
    # The scan's cost grows with the people in scope; the search's does not (it decrypts one page of ranked
    # candidates). The fuzzy search (issue 13) has a fixed cost of a few milliseconds (phonetic keys, the ranking
    # query), so at these small sizes the guard is on growth and on the search being the faster one already at 600;
    # at 100,000 cases the benchmark itself asks for 100x (benchmarks/report.py).
    small, larger = (r["comparisons"]["search_vs_scan"] for r in runs)
    scan_growth = larger["scan_p50_ms"] / small["scan_p50_ms"]
    search_growth = larger["blind_index_p50_ms"] / small["blind_index_p50_ms"]
    assert search_growth < scan_growth, (search_growth, scan_growth)
    assert larger["speedup_p50"] > 1.0


@pytest.mark.slow
def test_load_test_under_gunicorn_has_no_errors_and_loses_no_writes(tmp_path):
    if importlib.util.find_spec("locust") is None:
        (pytest.fail if IN_CI else pytest.skip)("locust is not installed (it comes with the test extra)")
    _require("postgresql")
    out = tmp_path / "load.json"
    _run("benchmarks.load", "--cases", str(SMALL), "--backend", "postgresql", "--users", "5", "--duration", "10",
         "--workdir", str(tmp_path / "db"), "--out", str(out), "--drop-after", timeout=300)
    result = json.loads(out.read_text())
    assert result["requests"] > 20 and result["rps"] > 0
    assert result["errors"] == 0
    assert result["writes"]["cases_created"] > 0 and result["writes"]["lost"] == []
    assert result["worker_peak_rss_mb"] and all(mb > 0 for mb in result["worker_peak_rss_mb"])


def test_the_home_page_and_the_filtered_trail_are_measured_with_a_constant_query_count(runs):
    """Issue 16: the home page names each case's person (decrypting only the rows shown), the audit trail filters by
    kind: both have a target, and more cases bring no more queries."""
    for result in runs:
        for key in ("home", "audit_trail_filtered"):
            metric = result["metrics"][key]
            assert metric["p50_ms"] > 0 and metric["p95_ms"] >= metric["p50_ms"], key
            assert metric["queries"] > 0, key
    assert {"home", "audit_trail_filtered"} <= set(report.CONSTANT_QUERY_PAGES)
    assert {"home", "audit_trail_filtered"} <= {target.metric for target in report.TARGETS}
