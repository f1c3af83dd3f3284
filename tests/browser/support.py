"""What the browser tests share: Debian's Chromium driven by Playwright, the app served over real HTTP, and a
`Session` per logged-in user (one browser context each) whose console is watched for CSP violations and errors.

Playwright's own browser download does not work here, so the tests use /usr/bin/chromium (apt package chromium).
Outside CI a missing Chromium skips the tests; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from casemgmt.extensions import db
from tests import factories
from tests.conftest import IN_CI

CHROMIUM = os.environ.get("CASEMGMT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 15_000

# Collects CSP violations reported by the page itself, in addition to the console messages Chromium prints. Each is
# also handed to the test (window.__cspReport, see Session) so that those of pages already left are not lost.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var text = e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " on " + document.location.pathname;
  window.__cspViolations.push(text);
  if (window.__cspReport) { window.__cspReport(text); }
});
"""


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        message = f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium` (see .ci/run)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium for one test (skips, or fails in CI, when Chromium or Playwright is missing)."""
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """Serve `app` with a real threaded WSGI server on a free loopback port; yields the base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
        with app.app_context():
            db.engine.dispose()


class Session:
    """One browser context (one user's cookies) with its console watched for CSP violations."""

    def __init__(self, browser, base_url: str, label: str, viewport: dict | None = None, locale: str = "en-GB"):
        self.base_url = base_url
        self.label = label
        self.context = browser.new_context(base_url=base_url, viewport=viewport or {"width": 1280, "height": 900},
                                           locale=locale)
        self.reported_violations: list[str] = []
        self.context.expose_function("__cspReport", self._report_violation)
        self.context.add_init_script(CSP_LISTENER)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        self.page.on("pageerror", lambda exc: self.console.append(f"pageerror: {exc}"))
        self.failed_assets: list[str] = []
        self.page.on("response", self._check_asset)

    def _report_violation(self, text: str) -> None:
        self.reported_violations.append(text)

    def _check_asset(self, response) -> None:
        if response.request.resource_type in ("stylesheet", "script", "font", "image") and response.status >= 400:
            self.failed_assets.append(f"{response.status} {response.url}")

    def login(self, username: str, password: str = factories.PASSWORD) -> None:
        page = self.page
        page.goto("/login")
        # By field name, so that a session in another language logs in the same way.
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(password)
        page.locator("input[name=password]").press("Enter")
        page.wait_for_url(re.compile(r"/(cases/?)?$"))  # the home page (the work list), or the case list

    def unexplained_errors(self) -> list[str]:
        """Console errors other than those of an asset that failed to load (test_the_menu_opens_on_a_phone
        reports those: a 404 page served for a script is also refused for its MIME type, a second message)."""
        failed_urls = {entry.split(" ", 1)[1] for entry in self.failed_assets}
        return [
            m for m in self.console
            if m.startswith(("error:", "pageerror:"))
            and "Failed to load resource" not in m
            and not any(url in m for url in failed_urls)
        ]

    def csp_violations(self) -> list[str]:
        reported = [m for m in self.console if "content security policy" in m.lower()]
        reported += self.reported_violations
        with contextlib.suppress(Exception):  # a page that is gone has nothing more to report
            reported += [v for v in self.page.evaluate("window.__cspViolations || []")
                         if v not in self.reported_violations]
        return reported

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


def assert_styled(page) -> None:
    """Bootstrap's CSS is applied: the navbar is Bootstrap's dark grey and the body uses its font stack."""
    navbar_bg = page.eval_on_selector("nav.navbar", "e => getComputedStyle(e).backgroundColor")
    assert navbar_bg == "rgb(33, 37, 41)", f"navbar background {navbar_bg}: is Bootstrap's CSS loaded?"
    font = page.eval_on_selector("body", "e => getComputedStyle(e).fontFamily")
    assert "system-ui" in font or "Segoe UI" in font, f"body font {font}: is Bootstrap's CSS loaded?"


def _in_form(scope):
    """A page's forms are in <main>, not the footer's language switcher; a locator is already a scope."""
    return scope.locator("main") if hasattr(scope, "main_frame") else scope


def _choose(select, value) -> None:
    """A long or multiple select is searchable (forms.js enhances it with Tom Select, which hides the original): it
    is set through Tom Select's own API, so that what the page shows and what the form posts agree."""
    if select.evaluate("s => Boolean(s.tomselect)"):
        select.evaluate("(s, v) => s.tomselect.setValue(v)", value)
    else:
        select.select_option(value)


def set_select(scope, name: str, value) -> None:
    """Set the <select name=...> in `scope` (a page or a locator) to `value` (a value or a list of them).
    tests/browser/test_forms.py picks options by keyboard, as a user does; the journeys only need the value chosen."""
    _choose(_in_form(scope).locator(f"select[name={name}]"), value)


def pick(scope, label: str, value) -> None:
    """set_select for the select that `label` (its exact text) names: the label points at the select, or at its
    searchable combobox (id "<select id>-ts-control") once forms.js has enhanced it."""
    scope = _in_form(scope)
    target = scope.locator("label").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first
    select_id = target.get_attribute("for").removesuffix("-ts-control")
    _choose(scope.locator(f"select[id='{select_id}']"), value)
