"""No open redirect through `next` (ASVS 5.1.5)."""

from __future__ import annotations

import pytest

from casemgmt.core.redirects import safe_next
from tests import factories
from tests.auth.support import csrf_token_of, logged_in

EVIL = [
    "//evil.example",
    "///evil.example",
    "https://evil.example",
    "http://evil.example/cases/",
    "https:evil.example",
    "HTTPS://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    "/\x00/evil.example",
    "evil.example",
    "cases/",
    "@evil.example",
    "//user@evil.example/",
    "ftp://evil.example",
]

SAFE = ["/cases/", "/", "/cases/?page=2", "/admin/users/3", "/cases/%2F%2Fevil.example"]


@pytest.mark.parametrize("target", EVIL)
def test_safe_next_refuses_anything_that_leaves_the_site(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", SAFE)
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", ["", None])
def test_safe_next_of_nothing_is_nothing(target):
    assert safe_next(target) is None


def _login_with_next(client, target: str):
    page = client.get("/login", query_string={"next": target})
    html = page.get_data(as_text=True)
    return client.post("/login", data={"username": "caseworker", "password": factories.PASSWORD, "code": "",
                                       "next": target, "csrf_token": csrf_token_of(html)})


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example",
                                    "javascript:alert(1)", "\\\\evil.example", "https:evil.example"])
def test_login_ignores_a_next_that_leaves_the_site(app, client, world, target):
    response = _login_with_next(client, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert logged_in(client)


def test_login_honours_a_local_next(app, client, world):
    response = _login_with_next(client, "/cases/")
    assert response.headers["Location"] == "/cases/"


def test_the_login_redirect_carries_next_and_login_returns_there(app, client, world):
    sent = client.get("/cases/search")
    assert sent.headers["Location"] == "/login?next=%2Fcases%2Fsearch"
    response = _login_with_next(client, "/cases/search")
    assert response.headers["Location"] == "/cases/search"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_language_switcher_ignores_a_next_that_leaves_the_site(app, client, target):
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/language", data={"language": "es", "next": target, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    local = client.post("/language", data={"language": "en", "next": "/login", "csrf_token": token})
    assert local.headers["Location"] == "/login"
