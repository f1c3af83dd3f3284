"""Security headers (ASVS 14.4, 8.2.1) and templates that need no inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import casemgmt
from tests.auth.support import new_web

TEMPLATES = Path(casemgmt.__file__).parent / "templates"


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def check_page_headers(response, *, case_data: bool = True) -> None:
    csp = _csp(response)
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp.get("base-uri") == ["'none'"]
    assert csp.get("form-action") == ["'self'"]
    for name, values in csp.items():
        for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "'unsafe-hashes'"):
            assert bad not in values, (name, bad)
        if name != "img-src":
            assert "data:" not in values, name
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    if case_data:
        assert response.headers["Cache-Control"] == "no-store"


def test_login_page_headers(app, client):
    response = client.get("/login")
    check_page_headers(response)
    assert "Strict-Transport-Security" not in response.headers  # plain http in tests


def test_hsts_on_https(app, client):
    response = client.get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000


def test_case_pages_are_never_cached(app, world):
    from tests import factories

    case = factories.case(world.caseworker)
    web = new_web(app)
    web.login("supervisor")
    for url in ("/cases/", f"/cases/{case.id}", f"/cases/{case.id}/edit", f"/cases/{case.id}/access-log",
                "/cases/search", "/cases/new", "/account", "/audit/"):
        response = web.get(url)
        assert response.status_code == 200, url
        check_page_headers(response)
    searched = web.post("/cases/search", {"term": "María José Quispe Mamani"},
                        token_page="/cases/search")
    assert case.reference in searched.get_data(as_text=True)
    check_page_headers(searched)


def test_error_pages_and_redirects_carry_the_headers_too(app, client, world):
    check_page_headers(client.get("/no-such-page"))
    check_page_headers(client.get("/cases/"))  # redirect to login
    web = new_web(app)
    web.login("caseworker")
    check_page_headers(web.get("/admin/users"))  # 403


def test_static_assets_may_be_cached_but_keep_nosniff(app, client):
    response = client.get("/static/app.js")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_health_check_says_only_ok(app, client):
    response = client.get("/healthz")
    assert response.get_data(as_text=True) == "ok"
    assert response.headers["Cache-Control"] == "no-store"


def _templates() -> list[Path]:
    found = sorted(TEMPLATES.rglob("*.html"))
    assert len(found) >= 15
    return found


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_or_style(path):
    html = path.read_text()
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script\s*>", html, re.S | re.I):
        attributes, body = match.groups()
        assert "src=" in attributes, f"{path.name}: <script> without src"
        assert body.strip() == "", f"{path.name}: inline <script> body"
    assert not re.search(r"<style\b", html, re.I), f"{path.name}: <style> element"
    assert not re.search(r"\sstyle\s*=", html, re.I), f"{path.name}: style= attribute"
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"{path.name}: inline event handler"
    assert "javascript:" not in html.lower(), f"{path.name}: javascript: URL"


def test_templates_load_no_third_party_assets():
    for path in _templates():
        html = path.read_text()
        assert not re.search(r"(src|href)\s*=\s*[\"']\s*(https?:)?//", html, re.I), path.name


def test_rendered_pages_have_no_inline_script_or_style(app, world):
    """The same check on rendered HTML, which includes what macros and Bootstrap-Flask emit."""
    web = new_web(app)
    web.login("admin")
    for url in ("/admin/users", "/admin/users/new", "/admin/organisations", "/admin/keys",
                f"/admin/users/{world.caseworker.id}", "/account", "/account/password", "/account/two-factor"):
        html = web.get(url).get_data(as_text=True)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), url
        assert not re.search(r"\sstyle\s*=", html, re.I), url
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), url
