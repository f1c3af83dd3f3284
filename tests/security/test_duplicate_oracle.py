"""Issue 10, finding 2, and issue 13, item 4: no form that takes identifying values is an oracle for other
organisations' cases, and the holder of a strong match is told instead.

A user of one organisation submits a person another organisation holds (a phone, a document number or a date of
birth, each with the name) and a person nobody holds, to the new-case form, to opening a case from a contact and to
search: the answers must be the same in every byte that is not the new case's own id and reference (status, redirect,
messages, the created-or-warned outcome), and so must the work done (SQL statements sent, rows loaded), so neither the
page nor its timing says whether the person is known elsewhere; so must every audit event the submitter's
organisation can read, after the sweep too. The cross-organisation check runs in the sweep (matching.crossorg), and
its only trace is a notice to the HOLDER's supervisors, and only for a case actually created. Duplicates the user's
own organisation holds are still warned.

Not covered here: audit sequence numbers are global, and an organisation reader sees them (the audit page), so a gap
says how many events other organisations wrote meanwhile (the sweep writes every registering-side event of a batch
before any holder's, see matching.crossorg._write).
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
        {"given_name": "Lucía", "family_name": "Rojas", "phone": "+57 300 555 0101"},
        {"given_name": "Paula", "family_name": "Ramos", "phone": "+57 300 555 0199"},
    ),
    "document_number": (
        {"given_name": "Marta", "family_name": "Suárez", "document_number": "CO-88123456"},
        {"given_name": "Nora", "family_name": "Vega", "document_number": "CO-88123499"},
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


def _created(response) -> str:
    """The id of the case a submission created (it redirects to the case's page)."""
    return UUID.search(response.headers["Location"]).group(0)


def _seen_by(app, world, case_id: str | None = None, after: int = 0) -> list[tuple]:
    """The audit events the submitting organisation's supervisor can read (the audit page's own query), about one
    case or written after `after`, with ids and times taken out."""
    from casemgmt.accounts.models import User
    from casemgmt.audit import queries

    with app.app_context():
        reader = db.session.get(User, world.supervisor.id)
        events = queries.events_page(reader, per_page=10_000, page=1).items
        return [(e.action, e.outcome, e.object_type, e.actor_name, e.actor_role, e.subject_organisation_id,
                 _normalised(e.details)) for e in sorted(events, key=lambda e: e.seq)
                if (case_id is None or e.case_id == case_id) and e.seq > after]


def _out_of_own_checks(app, response) -> None:
    """Take the case just created out of its own organisation's duplicate checks (its blind indexes go), so that
    the next submission's check meets exactly what the previous one met. The indexes are short on purpose (see
    crypto.blind_index): without this, a collision with the probe submitted just before would make the two checks
    decrypt different numbers of the submitter's OWN cases, which says nothing of other organisations but would fail
    the comparison of work at random. The case's own cross-organisation check does not need them."""
    from casemgmt.matching import store

    if response.status_code != 302:
        return
    with app.app_context():
        store.delete_keys(_created(response))
        db.session.commit()


def _last_seq(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(AuditEvent.seq))) or 0


def _sweep(app) -> None:
    from casemgmt.matching import crossorg

    with app.app_context():
        crossorg.run_all()
        db.session.remove()


def _cross_notices(app) -> list[tuple[int, str]]:
    from casemgmt.notifications.models import Notification

    with app.app_context():
        return sorted(db.session.execute(select(Notification.user_id, Notification.case_id)
                                         .where(Notification.kind == "cross_match")).all())


def _held_case_ids(app, world) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Case.id).where(Case.organisation_id == world.ngo2.id)))


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
    _sweep(app)  # what Camino Seguro holds has been checked already; only the submissions below wait
    web.login(role)
    web.token("/cases/new")  # the CSRF token is fetched once, before anything is measured
    created = []
    for kind, (theirs, nobodys) in KINDS.items():
        before = _case_count(app)
        with Work(app) as unknown_work:
            unknown = _submit(app, web, world, role, form, nobodys)
        unknown_check, unknown_shape = _last_check(app), _shape(web, unknown)
        _out_of_own_checks(app, unknown)
        with Work(app) as held_work:
            held = _submit(app, web, world, role, form, theirs)
        held_check, held_shape = _last_check(app), _shape(web, held)
        _out_of_own_checks(app, held)
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
        created.append((kind, _created(unknown), _created(held)))
    # Nothing was looked for elsewhere during the requests: nobody has been told anything yet.
    assert _cross_notices(app) == []
    before_sweep = _last_seq(app)
    _sweep(app)
    # Only the holder's supervisor is told, once per case of theirs that was registered again; nobody of the
    # submitting organisation is told anything.
    assert _cross_notices(app) == sorted((world.supervisor2.id, case_id) for case_id in _held_case_ids(app, world))
    # What the submitting organisation can read of the trail is the same for both registrations, the sweep's events
    # included: each says that a check ran, and nothing of what it found.
    for kind, unknown_id, held_id in created:
        assert _seen_by(app, world, held_id) == _seen_by(app, world, unknown_id), kind
    swept = _seen_by(app, world, after=before_sweep)
    assert [(action, details) for action, *_rest, details in swept] == [("match.cross_check", "{}")] * 6


@pytest.mark.parametrize("form", ["new_case", "open_case_from_contact"])
def test_a_duplicate_the_users_own_organisation_holds_is_still_warned(app, web, held_elsewhere, form):
    world = held_elsewhere
    with app.app_context():
        mine = factories.case(world.caseworker, given_name="Rosa", family_name="Huamán", date_of_birth=date(1990, 7, 7),
                              phone="+51 955 111 222", document_number="PE-7777777")
        ref = mine.reference
    web.login("caseworker")
    # Each with the given name: a phone or a document alone scores below the check's threshold (matching.score).
    for values in ({"given_name": "Rosa", "phone": "+51 955 111 222"},
                   {"given_name": "Rosa", "document_number": "pe 7777777"},
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
    # The factory's person goes by "Majo": the alias and the phone are a scored match.
    response = _open_from_contact(app, web, world.hotline, {"given_name": "Majo", "phone": "+51 955 111 333"})
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


@pytest.mark.parametrize("theirs, nobodys", [
    ({"term": "+57 300 555 0101"}, {"term": "+57 300 555 0199"}),
    ({"term": "CO-88123456"}, {"term": "CO-88123499"}),
    ({"term": "Zoila Ticona Pari", "date_of_birth": "1988-03-02"},
     {"term": "Zaida Ticona Pari", "date_of_birth": "1988-03-02"}),
], ids=["phone", "document_number", "name_date_of_birth"])
def test_search_answers_the_same_for_another_organisations_person_and_for_nobody(app, web, held_elsewhere,
                                                                                 theirs, nobodys):
    """The check's sibling that was already right (the finding's contrast): a guard that it stays so, with the same
    measure of work and the same audit event as the duplicate check. Search never queues a cross-organisation
    check: nothing is created, so nobody is told either."""
    web.login("supervisor")
    web.token("/cases/search")
    answers = []
    for values in (nobodys, theirs):
        with Work(app) as work:
            response = web.post("/cases/search", values, token_page="/cases/search")
        answers.append((response.status_code,
                        _normalised(response.get_data(as_text=True).replace(values["term"], "TERM")),
                        work.statements, sorted(work.loaded), _last_event(app, "case.search")))
    assert answers[0][0] == 200
    assert answers[0] == answers[1]
    _sweep(app)
    assert _cross_notices(app) == []


def _last_event(app, action: str) -> str:
    with app.app_context():
        return db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.seq.desc())).first()


def test_creating_a_case_does_no_work_that_grows_with_what_another_organisation_holds(app, web, held_elsewhere):
    """Coarse, but it would catch a check of other organisations moved back into the request: the statements and
    rows of registering a person Camino Seguro holds once and thirty times over are the same, and the only trace is
    the queued check; the holder hears of it from the sweep."""
    from casemgmt.matching.models import CrossCheck

    world = held_elsewhere
    _sweep(app)
    web.login("caseworker")
    web.token("/cases/new")
    probe = KINDS["name_date_of_birth"][0]
    measured = []
    for more in (0, 30):
        with app.app_context():
            for _ in range(more):
                factories.case(world.caseworker2, given_name="Zoila", family_name="Ticona Pari",
                               date_of_birth=date(1988, 3, 2), phone=None, document_number=None)
        _sweep(app)
        told_before = _cross_notices(app)
        with Work(app) as work:
            response = _new_case(web, probe)
        assert response.status_code == 302
        assert _cross_notices(app) == told_before  # the request told nobody
        measured.append((work.statements, sorted(work.loaded)))
        with app.app_context():
            assert db.session.get(CrossCheck, _created(response)) is not None  # queued, not checked
        _out_of_own_checks(app, response)
    assert measured[0] == measured[1]
    _sweep(app)
    told = _cross_notices(app)
    assert {user for user, _case in told} == {world.supervisor2.id}
    assert len(told) == 31 + 1  # every Zoila of theirs, for the second registration; the first one, for the first
