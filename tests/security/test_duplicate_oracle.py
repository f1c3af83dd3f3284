"""Issue 10, finding 2: the duplicate check before a case is opened is no oracle for other organisations' cases.

A user of one organisation submits a person another organisation holds (by phone, document number, or name and date of
birth) and a person nobody holds: the answers must be the same in every byte that is not the new case's own id and
reference (status, redirect, messages, the created-or-warned outcome, the audit event), and so must the work done
(SQL statements sent, rows loaded), so neither the page nor its timing says whether the person is known elsewhere.
Duplicates the user's own organisation holds are still warned.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import date

import pytest
from sqlalchemy import event, func, select

from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from tests import factories
from tests.intake.conftest import contact
from tests.tasks.conftest import w  # noqa: F401  (fixture)

# What org B (Camino Seguro) holds, and a person of the same shape that nobody holds, for each kind of identifier.
KINDS = {
    "phone": (
        {"given_name": "Desconocida", "phone": "+57 300 555 0101"},
        {"given_name": "Desconocida", "phone": "+57 300 555 0199"},
    ),
    "document_number": (
        {"given_name": "Desconocida", "document_number": "CO-88123456"},
        {"given_name": "Desconocida", "document_number": "CO-88123499"},
    ),
    "name_date_of_birth": (
        {"given_name": "Zoila", "family_name": "Ticona Pari", "date_of_birth": "1988-03-02"},
        {"given_name": "Zaida", "family_name": "Ticona Pari", "date_of_birth": "1988-03-02"},
    ),
}
HELD = [
    {"given_name": "Lucía", "family_name": "Rojas", "date_of_birth": date(2001, 5, 6), "phone": "+57 300 555 0101",
     "document_number": None},
    {"given_name": "Marta", "family_name": "Suárez", "date_of_birth": date(1975, 1, 9), "phone": None,
     "document_number": "CO-88123456"},
    {"given_name": "Zoila", "family_name": "Ticona Pari", "date_of_birth": date(1988, 3, 2), "phone": None,
     "document_number": None},
]
SEARCHERS = ["caseworker", "hotline", "supervisor"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REFERENCE = re.compile(r"\bC-[A-Z0-9]{8}\b")
FLASH = re.compile(r'<div class="alert[^"]*" role="alert">(.*?)</div>', re.S)
# A CSRF token carries the second it was signed in: two pages a second apart differ there and nowhere else.
CSRF_TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')


@pytest.fixture
def held_elsewhere(app, w):  # noqa: F811
    """Org B (Camino Seguro) holds three people; its contact details are set, as the old warning showed them."""
    from casemgmt.accounts.models import Organisation

    with app.app_context():
        for values in HELD:
            factories.case(w.caseworker2, **values)
        db.session.get(Organisation, w.ngo2.id).contact = "+57 1 555 0199"
        db.session.commit()
    return w


class Work:
    """The SQL statements a request sends and the rows it loads into objects, recorded while it runs."""

    def __init__(self, app):
        self.app = app
        self.statements: list[str] = []
        self.loaded: list[str] = []

    def _statement(self, _conn, _cursor, statement, *_args):
        self.statements.append(statement)

    def _load(self, target, _context):
        self.loaded.append(type(target).__name__)

    def __enter__(self):
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(db.Model, "load", self._load, propagate=True)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(db.Model, "load", self._load)


def _normalised(text: str) -> str:
    return CSRF_TOKEN.sub(r'\1TOKEN"', REFERENCE.sub("C-REF", UUID.sub("ID", text)))


def _shape(web, response) -> dict:
    """Everything the submitter sees, with the new case's own id and reference taken out."""
    shape = {"status": response.status_code, "location": _normalised(response.headers.get("Location", "")),
             "body": _normalised(response.get_data(as_text=True))}
    if response.status_code == 302:
        followed = web.get(response.headers["Location"]).get_data(as_text=True)
        shape["messages"] = [_normalised(m) for m in FLASH.findall(followed)]
    return shape


def _case_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case))


def _last_check(app) -> dict:
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "intake.duplicate_check")
                                 .order_by(AuditEvent.seq.desc())).first()
        return json.loads(row.details)


def _new_case(web, values: dict):
    return web.post("/cases/new", {**values, "status": "Active"}, token_page="/cases/new")


def _open_from_contact(app, web, who, values: dict):
    with app.app_context():
        contact_id = contact(who).id
    return web.post(f"/intake/contacts/{contact_id}/open-case", values, token_page="/cases/new")


def _submit(app, web, world, role, form, values):
    if form == "new_case":
        return _new_case(web, values)
    return _open_from_contact(app, web, getattr(world, role), values)


@pytest.mark.parametrize("form", ["new_case", "open_case_from_contact"])
@pytest.mark.parametrize("role", SEARCHERS)
def test_a_person_held_by_another_organisation_answers_like_a_person_nobody_holds(app, web, held_elsewhere,
                                                                                 role, form):
    world = held_elsewhere
    web.login(role)
    web.token("/cases/new")  # the CSRF token is fetched once, before anything is measured
    for kind, (theirs, nobodys) in KINDS.items():
        before = _case_count(app)
        with Work(app) as unknown_work:
            unknown = _submit(app, web, world, role, form, nobodys)
        unknown_check, unknown_shape = _last_check(app), _shape(web, unknown)
        with Work(app) as held_work:
            held = _submit(app, web, world, role, form, theirs)
        held_check, held_shape = _last_check(app), _shape(web, held)
        # The same outcome: a case is created both times, nothing is withheld, nothing names Camino Seguro.
        assert unknown.status_code == 302, (kind, unknown.get_data(as_text=True)[:2000])
        assert _case_count(app) == before + 2, kind
        assert held_shape == unknown_shape, kind
        for leak in ("Camino Seguro", "555 0199", "possible match", "may already be known"):
            assert leak not in held_shape["body"] + " ".join(held_shape.get("messages", [])), (kind, leak)
        assert held_check == unknown_check == {"searched": True, "shown": 0, "own_organisation_not_open": False}
        # The same work: other organisations' rows are never fetched, so the time taken cannot depend on them.
        assert held_work.statements == unknown_work.statements, "\n".join(difflib.unified_diff(
            [q[:160] for q in unknown_work.statements], [q[:160] for q in held_work.statements], lineterm=""))
        assert sorted(held_work.loaded) == sorted(unknown_work.loaded), kind


@pytest.mark.parametrize("form", ["new_case", "open_case_from_contact"])
def test_a_duplicate_the_users_own_organisation_holds_is_still_warned(app, web, held_elsewhere, form):
    world = held_elsewhere
    with app.app_context():
        mine = factories.case(world.caseworker, given_name="Rosa", family_name="Huamán", date_of_birth=date(1990, 7, 7),
                              phone="+51 955 111 222", document_number="PE-7777777")
        ref = mine.reference
    web.login("caseworker")
    for values in ({"given_name": "Desconocida", "phone": "+51 955 111 222"},
                   {"given_name": "Desconocida", "document_number": "pe 7777777"},
                   {"given_name": "Rosa", "family_name": "Huamán", "date_of_birth": "1990-07-07"}):
        before = _case_count(app)
        response = _submit(app, web, world, "caseworker", form, values)
        page = response.get_data(as_text=True)
        assert response.status_code == (409 if form == "new_case" else 200), values
        assert "This person may already be known" in page and ref in page and "Rosa Huamán" in page, values
        assert "Camino Seguro" not in page
        assert _case_count(app) == before
        assert _last_check(app) == {"searched": True, "shown": 1, "own_organisation_not_open": False}


def test_a_colleagues_case_is_warned_without_saying_which(app, web, held_elsewhere):
    """Inside one organisation a case's existence is no secret (it answers 403, not 404): a hotline operator is told a
    colleague may know the person, and nothing about the case."""
    world = held_elsewhere
    with app.app_context():
        ref = factories.case(world.caseworker, phone="+51 955 111 333").reference
    web.login("hotline")
    response = _open_from_contact(app, web, world.hotline, {"given_name": "Desconocida", "phone": "+51 955 111 333"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "A possible match exists in a case of your organisation that you may not open." in page
    for secret in (ref, "Quispe", "María", "duplicate-candidates"):
        assert secret not in page, secret
    assert _last_check(app) == {"searched": True, "shown": 0, "own_organisation_not_open": True}


def test_attaching_a_contact_to_another_organisations_case_answers_like_a_reference_that_does_not_exist(
        app, web, held_elsewhere):
    """The check's sibling: the contact page's "attach to case C-…" form, given another organisation's reference."""
    world = held_elsewhere
    with app.app_context():
        theirs = db.session.scalars(select(Case.reference).where(Case.organisation_id == world.ngo2.id)).first()
        contact_id = contact(world.caseworker).id
    web.login("caseworker")
    web.token("/cases/new")
    answers = []
    for reference in ("C-ZZZZ2345", theirs):
        with Work(app) as work:
            response = web.post(f"/intake/contacts/{contact_id}/attach", {"reference": reference},
                                token_page="/cases/new")
        answers.append((response.status_code, _normalised(response.get_data(as_text=True)), work.statements,
                        sorted(work.loaded)))
    assert answers[0][0] == 422
    assert answers[0] == answers[1]


@pytest.mark.parametrize("kind, theirs, nobodys", [
    ("phone", "+57 300 555 0101", "+57 300 555 0199"),
    ("document_number", "CO-88123456", "CO-88123499"),
])
def test_search_answers_the_same_for_another_organisations_person_and_for_nobody(app, web, held_elsewhere,
                                                                                 kind, theirs, nobodys):
    """The check's sibling that was already right (the finding's contrast): a guard that it stays so, with the same
    measure of work as the duplicate check."""
    web.login("supervisor")
    web.token("/cases/search")
    answers = []
    for term in (nobodys, theirs):
        with Work(app) as work:
            response = web.post("/cases/search", {"kind": kind, "term": term}, token_page="/cases/search")
        answers.append((response.status_code, _normalised(response.get_data(as_text=True).replace(term, "TERM")),
                        work.statements, sorted(work.loaded)))
    assert answers[0][0] == 200
    assert answers[0] == answers[1]
