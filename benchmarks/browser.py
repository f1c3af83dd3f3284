"""A logged-in user driving the real application through Flask's test client: cookies, CSRF tokens, redirects."""

from __future__ import annotations

import contextvars
import re

from flask import Flask
from flask.testing import FlaskClient

CSRF_INPUT = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')
SUBMISSION_INPUT = re.compile(r'name="submission_token"[^>]*value="([^"]+)"')


class IsolatedClient(FlaskClient):
    """Each request runs in an empty contextvars.Context, so it never shares `g` (the per-request key cache, the
    cached current user) with the harness's own app context or with the request before it, as in production."""

    def open(self, *args, **kwargs):
        def request():
            response = FlaskClient.open(self, *args, **kwargs)
            # A streamed body (an export) is produced here, inside the request's own context and inside the timing.
            response.get_data()
            return response

        return contextvars.Context().run(request)


class BenchError(RuntimeError):
    """The application answered something other than what the scenario expects: the numbers would be wrong."""


class Browser:
    def __init__(self, app: Flask):
        self.client = IsolatedClient(app, app.response_class, use_cookies=True)
        self._token: str | None = None

    def token(self, page: str = "/account") -> str:
        if self._token is None:
            html = self.client.get(page).get_data(as_text=True)
            match = CSRF_INPUT.search(html)
            if not match:
                raise BenchError(f"no CSRF token on {page}")
            self._token = match.group(1)
        return self._token

    def login_form(self, username: str, password: str) -> dict[str, str]:
        """The login form's fields, CSRF token included (fetched untimed, as a browser has it before submitting)."""
        self._token = None
        return {"username": username, "password": password, "code": "", "csrf_token": self.token("/login")}

    def submit_login(self, form: dict[str, str]):
        response = self.client.post("/login", data=form)
        self._token = None  # login starts a new session, and with it a new CSRF token
        expect(response, 302, "login")
        return response

    def login(self, username: str, password: str) -> Browser:
        self.submit_login(self.login_form(username, password))
        return self

    def get(self, url: str, expected: int = 200):
        return expect(self.client.get(url), expected, url)

    def submission_token(self, page: str) -> str:
        """A creating form's single-use token (casemgmt/core/submissions.py), as the form page gives it."""
        match = SUBMISSION_INPUT.search(self.get(page).get_data(as_text=True))
        if not match:
            raise BenchError(f"no submission token on {page}")
        return match.group(1)

    def post(self, url: str, data: dict, expected: int | tuple[int, ...] = 302, csrf_field: str = "csrf_token"):
        payload = {csrf_field: self.token(), **data}
        return expect(self.client.post(url, data=payload), expected, url)


def expect(response, expected: int | tuple[int, ...], what: str):
    allowed = expected if isinstance(expected, tuple) else (expected,)
    if response.status_code not in allowed:
        raise BenchError(f"{what}: HTTP {response.status_code}, expected {allowed}")
    return response
