"""The crawl of issue 16: the pages a demo user reaches by following links from the home page.

A crawl starts at "/" and follows same-site GET links (`<a href>`) breadth-first. Pages are grouped by the URL map's
rule (the endpoint): a few URLs per rule are enough to see a page's layout, so one case's tabs are visited and not
every case's, and the crawl stays small (`MAX_PAGES`). Links that would leave the HTML pages are skipped: downloads
(CSV, XLSX, PDF, documents), the static files, health checks, and anything not a GET route. Logging out and
changing the language are POST forms, never links, so a crawl cannot follow them.

The same crawl drives the test client (tests/i18n/test_crawl_untranslated.py), the browser
(tests/browser/test_crawl.py) and the screenshots (scripts/screenshots.py): each gives `crawl` a `visit` function
that loads one URL and returns the links on it.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple
from urllib.parse import urldefrag, urljoin, urlsplit

from flask import Flask
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from casemgmt.accounts.models import User
from casemgmt.demo import USERS, build_demo
from casemgmt.extensions import db
from casemgmt.intake.operations import log_contact
from tests import factories

# The busiest role (a supervisor) reaches about 70 kinds of page: every role's crawl sees each of its kinds once.
MAX_PAGES = 80
# One URL per rule: the layout, the labels and the translations of a page are its template's, whichever case it
# shows. A caller may ask for more (`per_rule`): every rule's first page is still visited before any second one.
PER_RULE = 1
# Rules whose first example is not representative, and how many examples they get. The first user on the account
# list is the administrator, whose own page offers none of the forms (role, access, disabling) another user's has.
PER_RULE_EXCEPTIONS = {"admin.user": 2}
ROLES = tuple(username for username, *_ in USERS)
# The demo every crawl walks: a dozen cases cover every stage and role, and build in a few seconds.
DEMO_CASES = 12
DEMO_SEED = 7

# Endpoints that answer with a file, not a page, or are not pages at all.
SKIPPED_ENDPOINTS = frozenset({"static", "bootstrap.static", "health.check", "health.ready", "auth.enrol"})
DOWNLOAD = re.compile(r"(download|\.(csv|xlsx|pdf|zip|json))$")


def build_crawl_demo(app: Flask) -> None:
    """The demo the crawls walk, on `app`'s empty database, with one crisis contact nobody has acted on yet: the
    demo's crises all led to cases, and the intake queue shows a waiting crisis on a row of its own colour."""
    with app.test_request_context():
        db.create_all()
        build_demo(factories.PASSWORD, DEMO_CASES, seed=DEMO_SEED)
        hotline = db.session.scalar(select(User).where(User.username == "hotline"))
        log_contact(hotline, {"channel": "phone", "call_type": "crisis", "caller_type": "Anonymous",
                              "minor_involved": True, "immediate_danger": True})
        db.session.commit()
        db.session.remove()


class Visited(NamedTuple):
    """Where a visit landed (after redirects) and the hrefs of the page's links."""

    url: str
    hrefs: list[str]


@dataclass
class Crawl:
    """The pages visited, in order, and why others were not."""

    pages: list[str] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)  # url -> endpoint
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    truncated: bool = False


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            attributes = dict(attrs)
            # A link with `download` asks for a file; it is not a page.
            if attributes.get("href") and "download" not in attributes:
                self.hrefs.append(attributes["href"])


def links_in(html: str) -> list[str]:
    """The hrefs of the page's links, as written."""
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


def endpoint_of(app: Flask, path: str, query: str = "") -> str | None:
    """The GET endpoint that answers `path`, or None when none does (or it redirects elsewhere)."""
    adapter = app.url_map.bind("localhost", url_scheme="http")
    try:
        endpoint, _args = adapter.match(path, method="GET", query_args=query)
    except RequestRedirect as redirect:  # /cases -> /cases/: the same page
        return endpoint_of(app, urlsplit(redirect.new_url).path, query)
    except HTTPException:
        return None
    return endpoint


def crawl(app: Flask, visit: Callable[[str], Visited | None], start: str = "/", max_pages: int = MAX_PAGES,
          per_rule: int = PER_RULE) -> Crawl:
    """Visit `start` and the pages its links lead to, breadth-first, every rule's first page before any rule's second.

    `visit(url)` loads a site-relative URL ("/cases/?page=2"), following redirects, and returns where it landed and
    the hrefs on the page, or None when the page is not HTML (it then leads nowhere)."""
    result = Crawl()
    seen: set[str] = {start}
    per_endpoint: Counter = Counter()
    # queues[n]: URLs that are the (n+1)-th of their rule. A new kind of page is worth more than a second example.
    queues: list[deque[str]] = [deque() for _ in range(max(per_rule, *PER_RULE_EXCEPTIONS.values()))]
    queues[0].append(start)
    per_endpoint[endpoint_of(app, start) or ""] += 1
    while any(queues):
        url = next(q for q in queues if q).popleft()
        if len(result.pages) >= max_pages:
            result.truncated = True
            break
        visited = visit(url)
        result.pages.append(url)
        if visited is None:
            continue
        landed, hrefs = visited
        if landed != url:  # a redirect: the page landed on counts as seen, under its own rule
            seen.add(landed)
        for href in hrefs:
            target = _same_site(landed, href)
            if target is None:
                result.skipped["other site"] += 1
                continue
            if target in seen:
                continue
            seen.add(target)
            parts = urlsplit(target)
            endpoint = endpoint_of(app, parts.path, parts.query)
            if endpoint is None:
                result.skipped["no GET route"] += 1
            elif endpoint in SKIPPED_ENDPOINTS or DOWNLOAD.search(parts.path) or "download" in endpoint:
                result.skipped["file or service"] += 1
            elif per_endpoint[endpoint] >= max(per_rule, PER_RULE_EXCEPTIONS.get(endpoint, 0)):
                result.skipped["rule seen"] += 1
            else:
                queues[per_endpoint[endpoint]].append(target)
                per_endpoint[endpoint] += 1
                result.endpoints[target] = endpoint
    result.endpoints.setdefault(start, endpoint_of(app, start) or "")
    return result


def _same_site(base: str, href: str) -> str | None:
    """The site-relative URL (path and query, no fragment) that `href` on page `base` leads to; None off-site."""
    href = href.strip()
    if href.startswith(("mailto:", "tel:", "javascript:", "data:")):
        return None
    absolute = urljoin("http://site" + base, href)
    absolute, _fragment = urldefrag(absolute)
    parts = urlsplit(absolute)
    if parts.netloc != "site" or parts.scheme != "http":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def client_visitor(client, responses: dict[str, object]) -> Callable[[str], Visited | None]:
    """A `visit` for Flask's test client that keeps each URL's final response in `responses`."""

    def visit(url: str) -> Visited | None:
        response = client.get(url, follow_redirects=True)
        responses[url] = response
        if response.mimetype != "text/html":
            return None
        landed = response.request.path + (f"?{response.request.query_string.decode()}"
                                          if response.request.query_string else "")
        return Visited(landed, links_in(response.get_data(as_text=True)))

    return visit
