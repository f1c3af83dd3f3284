"""Issue 16, light pages: what the main pages cost on the wire in a real browser, for field offices on slow links.

Chromium's own network log (the DevTools protocol) counts the bytes each response took on the wire, headers
included, and whether it came from the browser's cache. Each page is loaded twice: "first" with the browser's cache
emptied (its HTML, every CSS and JavaScript file and the favicon), "repeat" after the other pages (what a caseworker
pays on every later page). Budgets: a first page ≤ 100 KB, a repeat page ≤ 25 KB with no request for a static file
at all, and never a revalidation (304). The figures are printed (`-s`) and go in docs/pages.md, "Page weight":

    python -m pytest -q -p no:cacheprovider -s tests/browser/test_page_weight.py
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from casemgmt.demo import build_demo
from casemgmt.extensions import db
from tests import factories
from tests.browser.support import Session, assert_styled, chromium, serve
from tests.conftest import make_test_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST_BUDGET = 100 * 1024
REPEAT_BUDGET = 25 * 1024
STATIC_TYPES = ("Stylesheet", "Script", "Image", "Font", "Other")


@dataclass
class Load:
    """One page load: every response the page caused, as (url, status, bytes on the wire, served from cache)."""

    label: str
    responses: list[tuple[str, int, int, bool, str]] = field(default_factory=list)

    @property
    def wire_bytes(self) -> int:
        return sum(size for _url, _status, size, cached, _kind in self.responses if not cached)

    @property
    def static_requests(self) -> list[str]:
        """Static files fetched over the network (not from the browser's memory or disk cache)."""
        return [url for url, _status, _size, cached, kind in self.responses
                if not cached and (kind in STATIC_TYPES or "/static/" in url)]

    @property
    def revalidations(self) -> list[str]:
        return [url for url, status, _size, _cached, _kind in self.responses if status == 304]

    def describe(self) -> str:
        return "\n".join(f"  {status} {size:>7} {'cache' if cached else 'net  '} {kind:<10} {url}"
                         for url, status, size, cached, kind in self.responses)


class WireLog:
    """Chromium's network events for one page, through the DevTools protocol: encodedDataLength is the size of the
    response as received (headers and compressed body); responses from the memory or disk cache count 0."""

    def __init__(self, session: Session):
        self.session = session
        self.cdp = session.context.new_cdp_session(session.page)
        self.cdp.send("Network.enable")
        self._seen: dict[str, dict] = {}
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.requestServedFromCache", self._from_cache)
        self.cdp.on("Network.responseReceived", self._received)
        self.cdp.on("Network.loadingFinished", self._finished)

    def _entry(self, request_id: str) -> dict:
        return self._seen.setdefault(request_id, {"url": "", "status": 0, "size": 0, "cached": False, "kind": ""})

    def _sent(self, event) -> None:
        entry = self._entry(event["requestId"])
        entry["url"], entry["kind"] = event["request"]["url"], event.get("type", "")

    def _from_cache(self, event) -> None:
        self._entry(event["requestId"])["cached"] = True

    def _received(self, event) -> None:
        entry, response = self._entry(event["requestId"]), event["response"]
        entry["url"], entry["status"], entry["kind"] = response["url"], response["status"], event.get("type", "")
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            entry["cached"] = True

    def _finished(self, event) -> None:
        self._entry(event["requestId"])["size"] = int(event["encodedDataLength"])

    def load(self, label: str, path: str | None, cold: bool = False) -> Load:
        """Go to `path` (None: reload the page, as the browser's reload button does)."""
        page = self.session.page
        if cold:
            self.cdp.send("Network.clearBrowserCache")
        self._seen.clear()
        if path is None:
            page.reload(wait_until="networkidle")
        else:
            page.goto(path, wait_until="networkidle")  # the favicon comes after the load event
        base = self.session.base_url
        load = Load(label)
        for entry in self._seen.values():
            if entry["url"].startswith("data:") or not entry["status"]:
                continue
            load.responses.append((entry["url"].removeprefix(base), entry["status"], entry["size"], entry["cached"],
                                   entry["kind"]))
        return load


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("weight")
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'weight.db'}")
    with app.app_context():
        db.create_all()
        build_demo(factories.PASSWORD, 12, seed=7)
        db.session.remove()
    with serve(app) as base_url:
        yield base_url


def _first_case_path(session: Session) -> str:
    session.page.goto("/cases/")
    href = session.page.locator("main a[href^='/cases/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    case_paths = [h for h in href if re.fullmatch(r"/cases/[0-9a-f-]{36}", h)]
    assert case_paths, "no case on the case list"
    return case_paths[0]


def _measure(server: str, username: str, extra_pages: tuple[tuple[str, str], ...] = ()) -> list[tuple[Load, Load]]:
    """(first, repeat) for the login page and each main page of `username`."""
    with chromium() as browser:
        session = Session(browser, server, username)
        log = WireLog(session)
        login_first = log.load("login", "/login", cold=True)
        assert_styled(session.page)
        session.login(username)
        pages = [("home", "/"), ("case list", "/cases/"), ("case page", _first_case_path(session)), *extra_pages]
        repeats = {label: log.load(label, path) for label, path in pages}  # the static files are in the cache
        firsts = {label: log.load(label, path, cold=True) for label, path in pages}
        for label, path in pages:  # once more with a warm cache, in case the cold loads warmed something late
            repeats[label] = log.load(label, path)
        # Reloading asks again for the page only: Chromium does not revalidate an immutable file even then.
        reloaded = log.load(f"{pages[-1][0]} (reload)", None)
        assert_styled(session.page)
        assert session.csp_violations() == []
        assert session.failed_assets == []
        session.context.clear_cookies()
        login_repeat = log.load("login", "/login")
        session.close()
    return ([(login_first, login_repeat)] + [(firsts[label], repeats[label]) for label, _path in pages]
            + [(firsts[pages[-1][0]], reloaded)])


def _report(username: str, figures: list[tuple[Load, Load]]) -> None:
    print(f"\n{username}: page, first (empty cache), repeat (warm cache), bytes on the wire")
    for first, repeat in figures:
        print(f"  {repeat.label:<18} {first.wire_bytes:>8} {repeat.wire_bytes:>8}")


def _check(figures: list[tuple[Load, Load]]) -> None:
    for first, repeat in figures:
        assert first.wire_bytes <= FIRST_BUDGET, f"{first.label} first load over budget:\n{first.describe()}"
        assert repeat.wire_bytes <= REPEAT_BUDGET, f"{repeat.label} repeat load over budget:\n{repeat.describe()}"
        assert repeat.static_requests == [], f"{repeat.label} fetched static files again:\n{repeat.describe()}"
        for load in (first, repeat):
            assert load.revalidations == [], f"{load.label} revalidated:\n{load.describe()}"
    favicon = [url for url, status, *_rest in figures[0][0].responses if "favicon" in url]
    assert favicon and all(status == 200 for url, status, *_rest in figures[0][0].responses if "favicon" in url), \
        figures[0][0].describe()


def test_caseworker_pages_stay_within_the_weight_budget(server):
    figures = _measure(server, "caseworker")
    _report("caseworker", figures)
    _check(figures)


def test_supervisor_pages_and_dashboard_stay_within_the_weight_budget(server):
    figures = _measure(server, "supervisor", extra_pages=(("dashboard", "/reports/"),))
    _report("supervisor", figures)
    _check(figures)
