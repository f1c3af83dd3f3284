"""Full-page screenshots of the key pages, at 1366 and 390 px, in English and Spanish (issue 16).

    python scripts/screenshots.py                      # builds the demo in a temporary instance and serves it
    python scripts/screenshots.py http://127.0.0.1:5000  # or photographs a running server with the demo users

The PNGs go to test-artifacts/screenshots/ (git-ignored: they are for looking at, not for committing), named
<language>-<width>-<role>-<page>.png. The demo users' passphrase is tests/factories.PASSWORD when the script builds
the demo; for a running server pass it in CASEMGMT_DEMO_PASSWORD.

Chromium is Debian's (/usr/bin/chromium, or CASEMGMT_TEST_CHROMIUM), driven by Playwright, as in the browser tests.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a file from anywhere: import casemgmt and the tests' factories

OUT = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CASEMGMT_TEST_CHROMIUM", "/usr/bin/chromium")
WIDTHS = (1366, 390)
LANGUAGES = {"en": "en-GB", "es": "es-ES"}
DEMO_CASES = 24
# What each role is photographed on: (name, path). "{case}" is a child's case, found on the case list; the case's
# tabs follow it.
CASE_TABS = (("case", "/cases/{case}"), ("case-family", "/cases/{case}/family"),
             ("case-return", "/cases/{case}/return"), ("case-best-interests", "/cases/{case}/best-interests"))
PAGES = {
    "caseworker": (("home", "/"), ("cases", "/cases/"), *CASE_TABS, ("intake", "/intake/"),
                   ("new-contact", "/intake/contacts/new")),
    "supervisor": (("home", "/"), ("dashboard", "/reports/"), ("audit", "/audit/"), ("cases", "/cases/")),
    "mission": (("home", "/"), ("cases", "/cases/"), CASE_TABS[2]),
    "finance": (("home", "/"), ("fund", "/fund/")),
    "admin": (("users", "/admin/users"),),
}


@contextlib.contextmanager
def demo_server() -> Iterator[tuple[str, str]]:
    """The demo in a throw-away instance, served on a free loopback port; yields (base URL, passphrase)."""
    from werkzeug.serving import make_server

    from casemgmt import create_app
    from casemgmt.demo import build_demo
    from casemgmt.extensions import db
    from tests import factories

    with tempfile.TemporaryDirectory(prefix="casemgmt-screens-") as instance:
        app = create_app(overrides={
            "ENV": "development", "INSTANCE_PATH": instance, "LANGUAGES": "en,es,fr,pt,ht",
            # Logins are many and from one address: no limits, and cheap hashing for a throw-away instance.
            "RATELIMIT_ENABLED": "false", "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8, "REQUIRE_2FA": "false",
        })
        with app.app_context():
            db.create_all()
            build_demo(factories.PASSWORD, DEMO_CASES, seed=7)
            db.session.remove()
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_port}", factories.PASSWORD
        finally:
            httpd.shutdown()
            thread.join(timeout=10)
            httpd.server_close()


def log_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(lambda url: not re.search(r"/login\b", url))


def child_case(page) -> str | None:
    """A child's case from the case list (its header carries the child marker), else the first case; None: no
    cases. The best-interests tab is a child's."""
    page.goto("/cases/")
    ids = []
    for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))"):
        match = re.fullmatch(r"/cases/([0-9a-f-]{36})", href)
        if match and match.group(1) not in ids:
            ids.append(match.group(1))
    for case_id in ids[:25]:
        page.goto(f"/cases/{case_id}")
        if page.locator(".case-child-marker").count():
            return case_id
    return ids[0] if ids else None


def photograph(browser, base_url: str, password: str, username: str, language: str) -> list[Path]:
    context = browser.new_context(base_url=base_url, locale=LANGUAGES[language],
                                  viewport={"width": WIDTHS[0], "height": 768})
    page = context.new_page()
    saved = []
    try:
        log_in(page, username, password)
        case_id = child_case(page) if any("{case}" in path for _, path in PAGES[username]) else None
        for name, path in PAGES[username]:
            if "{case}" in path:
                if case_id is None:
                    continue
                path = path.format(case=case_id)
            response = page.goto(path)
            if response is None or response.status >= 400:
                print(f"  {username} {language} {path}: HTTP {response.status if response else '?'}", file=sys.stderr)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 768 if width > 500 else 844})
                target = OUT / f"{language}-{width}-{username}-{name}.png"
                page.screenshot(path=str(target), full_page=True)
                saved.append(target)
            page.set_viewport_size({"width": WIDTHS[0], "height": 768})
    finally:
        context.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="a running casemgmt with the demo users (default: build one)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the demo build and the server's request log are not what this prints
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if args.url:
            base_url, password = args.url.rstrip("/"), os.environ.get("CASEMGMT_DEMO_PASSWORD", "")
            if not password:
                parser.error("set CASEMGMT_DEMO_PASSWORD to the demo users' passphrase")
        else:
            base_url, password = stack.enter_context(demo_server())
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        stack.callback(browser.close)
        # Headless Chromium draws date fields as mm/dd/yyyy whatever the locale (neither --lang nor LANG changes
        # it): a Spanish user's browser shows dd/mm/yyyy there. The pages' own dates follow the language.
        total = 0
        for language in LANGUAGES:
            for username in PAGES:
                total += len(photograph(browser, base_url, password, username, language))
    print(f"{total} screenshots in {OUT.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
