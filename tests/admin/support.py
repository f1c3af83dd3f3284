"""Helpers for the account tests: requests waiting for a supervisor, deciding them through the page, links."""

from __future__ import annotations

import re

from sqlalchemy import select

from casemgmt.accounts.models import AccountRequest, EnrolmentLink
from casemgmt.extensions import db
from tests import factories
from tests.auth.support import new_web

LINK = re.compile(r'<code class="enrolment-link">https?://[^/]+(/enrol/[A-Za-z0-9_-]+)</code>')


def link_on(response) -> str:
    """The path of the enrolment or reset link a page shows (once)."""
    html = response.get_data(as_text=True)
    match = LINK.search(html)
    assert match, html[:3000]
    return match.group(1)


def pending(user_id: int) -> AccountRequest | None:
    db.session.expire_all()
    return db.session.scalar(select(AccountRequest).where(AccountRequest.user_id == user_id,
                                                          AccountRequest.status == "requested"))


def links(user_id: int) -> list[EnrolmentLink]:
    db.session.expire_all()
    return list(db.session.scalars(select(EnrolmentLink).where(EnrolmentLink.user_id == user_id)
                                   .order_by(EnrolmentLink.id)))


def decide(app, username: str, request_id: int, decision: str = "approve", password: str = factories.PASSWORD):
    """A supervisor logs in and approves or refuses a request on the approvals page."""
    web = new_web(app)
    assert web.login(username).status_code == 302
    return web.post(f"/admin/approvals/{request_id}/{decision}", {"admin_password": password},
                    token_page="/admin/approvals")


def set_passphrase(app, path: str, passphrase: str):
    """The person follows their link and chooses a passphrase; returns the response and their browser."""
    web = new_web(app)
    response = web.post(path, {"new": passphrase, "confirm": passphrase}, token_page=path)
    return response, web
