"""A creating form sent twice makes one record; the second sending lands on it (casemgmt/core/submissions.py).

Every creating form, both backends: the form is shown, submitted, and the same request body (the same single-use
token) is sent again, as a browser does after a lost answer or a double click: one record, and the replay is
redirected to the page the first submission led to. A missing, made-up or another user's token is refused with a
clear message and a fresh token, and creates nothing. Two requests racing with one token make one record. A worker
killed before its commit leaves the token usable; one killed after its commit (the answer lost) leaves a replay.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import event, func, select

from casemgmt.accounts.models import Organisation, User
from casemgmt.cases.models import Case, new_uuid
from casemgmt.consent.models import ConsentRecord
from casemgmt.core import submissions
from casemgmt.core.submissions import SubmissionToken
from casemgmt.counseling.models import CounselingSession
from casemgmt.documents import storage
from casemgmt.documents.demo import tiny_png
from casemgmt.documents.models import Document
from casemgmt.extensions import db
from casemgmt.intake import operations as intake
from casemgmt.intake.models import Contact, Screening
from casemgmt.journey.models import ClosureRequest
from casemgmt.referrals.models import Referral, Transfer
from casemgmt.reintegration import operations as reintegration
from casemgmt.reintegration.models import MonitoringVisit, ReintegrationPlan, ServiceDelivered
from casemgmt.returns.models import ReturnPlan
from casemgmt.shelter import operations as shelter
from casemgmt.shelter.models import Facility, Placement
from casemgmt.tasks.models import Task
from tests import factories
from tests.conftest import Web, built_app, signed_in, submission_token, test_root_keys

TODAY = date.today()
PNG = tiny_png()
REPLAYED = "This form was already submitted; here is the record it created."
MISSING = "This form arrived incomplete, so nothing was saved."
NOT_VALID = "This form could not be recognised, so nothing was saved."
NOT_YOURS = "This form was opened by another account, so nothing was saved."
EXPIRED = "This form was opened more than 24 hours ago and has expired, so nothing was saved."


@dataclass(frozen=True)
class Form:
    kind: str
    actor: str
    page: str  # where the form is shown ({case}, {contact} filled in from the scene)
    action: str
    body: Callable[[dict], dict]
    model: type
    prefix: str = ""
    multipart: bool = False
    after_plan: bool = False  # a reintegration plan comes first
    stored_kind: str | None = None  # the form's submission_kind, when the test names it differently

    def url(self, template: str, ids: dict) -> str:
        return template.format(**ids)

    def data(self, ids: dict, token: str | None) -> dict:
        body = self.body(ids)
        if self.multipart:  # a fresh stream for every request
            body = {k: (io.BytesIO(v[0]), *v[1:]) if isinstance(v, tuple) else v for k, v in body.items()}
        if token is not None:
            body[f"{self.prefix}submission_token"] = token
        return body


def _scene(app, form: Form | None = None) -> dict:
    """What the forms need: the factories' world, an installation administrator, a case with consent, a contact,
    a facility, and a reintegration plan for the forms that need one. Returns the ids of their URLs and bodies."""
    with app.app_context():
        w = factories.world()
        factories.user(w.mission_org, "installation_admin", "installer")
        case = factories.case(w.caseworker)
        consent = ConsentRecord(id=new_uuid(), case_id=case.id, obtained_on=TODAY, language="es",
                                obtained_by_id=w.caseworker.id, point_interview=True, consents_to_share=True,
                                consents_to_return=True)
        db.session.add(consent)
        contact = intake.log_contact(w.hotline, {"channel": "phone", "call_type": "tip"})
        facility = shelter.create_facility(w.supervisor, {
            "name": "Casa Refugio", "facility_type": "shelter", "bed_capacity": 4, "age_group": "adults",
            "active": True, "address": None})
        if form is not None and form.after_plan:
            reintegration.save_plan(w.caseworker, case, {
                "created_on": TODAY, "support_types": ["Health"], "objectives": "A bakery stall",
                "responsible_organisation_id": w.mission_org.id})
        db.session.commit()
        return {"case": case.id, "consent": consent.id, "contact": contact.id, "facility": facility.id,
                "ngo2": w.ngo2.id, "mission_org": w.mission_org.id, "caseworker": w.caseworker.id}


CASE = "/cases/{case}"
FORMS = [
    Form("contact", "hotline", "/intake/contacts/new", "/intake/contacts/new",
         lambda ids: {"channel": "phone", "call_type": "crisis", "summary": "A cousin held at a brick kiln"}, Contact),
    Form("case_from_contact", "caseworker", "/intake/contacts/{contact}/open-case",
         "/intake/contacts/{contact}/open-case",
         lambda ids: {"given_name": "Yessenia", "family_name": "Mamani Ccori", "birth_year": "2001"}, Case),
    Form("screening", "caseworker", CASE + "/screening/new", CASE + "/screening/new",
         lambda ids: {"screened_on": TODAY.isoformat(), "consent": ids["consent"], "language": "es",
                      "finding": "ActualVictimOfTrafficking", "decided_by": "NGO"}, Screening),
    Form("case", "caseworker", "/cases/new", "/cases/new",
         # create_anyway: a racing second request must meet the token, not the first one's case as a duplicate.
         lambda ids: {"given_name": "Rosa", "family_name": "Huamán", "status": "Active",
                      "date_of_birth": "2001-02-03", "create_anyway": "yes"}, Case),
    Form("consent", "caseworker", CASE + "/consent", CASE + "/consent/new",
         lambda ids: {"obtained_on": TODAY.isoformat(), "language": "es", "point_interview": "y"}, ConsentRecord),
    Form("facility", "supervisor", "/shelter/facilities/new", "/shelter/facilities/new",
         lambda ids: {"name": "Casa Lima", "facility_type": "shelter", "bed_capacity": "12", "age_group": "both",
                      "active": "y"},
         Facility),
    Form("admission", "caseworker", CASE + "/shelter", CASE + "/shelter/admit",
         lambda ids: {"facility_id": str(ids["facility"]), "admitted_on": TODAY.isoformat()}, Placement),
    Form("counseling_session", "caseworker", CASE + "/counseling/new", CASE + "/counseling/new",
         lambda ids: {"session_type": "legal", "provider": "Dra. Vela", "held_on": TODAY.isoformat(),
                      "duration_minutes": "45"}, CounselingSession),
    Form("return_plan", "caseworker", CASE + "/return", CASE + "/return",
         lambda ids: {"receiving_organisation_id": str(ids["mission_org"]), "destination_country": "HT"},
         ReturnPlan),
    Form("reintegration_plan", "caseworker", CASE + "/reintegration", CASE + "/reintegration/plan",
         lambda ids: {"created_on": TODAY.isoformat(), "support_types": "Health", "objectives": "A bakery stall",
                      "responsible_organisation_id": str(ids["mission_org"])}, ReintegrationPlan),
    Form("reintegration_service", "caseworker", CASE + "/reintegration", CASE + "/reintegration/services",
         lambda ids: {"service_type": "Health", "provider": "Clinic", "amount": "10", "currency": "USD",
                      "delivered_on": TODAY.isoformat()}, ServiceDelivered, after_plan=True),
    Form("monitoring_visit", "caseworker", CASE + "/reintegration", CASE + "/reintegration/visits",
         lambda ids: {"visited_on": TODAY.isoformat(), "visited_by_id": str(ids["caseworker"]),
                      "economic_score": "3", "social_score": "3", "psychosocial_score": "3"}, MonitoringVisit,
         after_plan=True),
    Form("referral", "caseworker", CASE + "/referrals", CASE + "/referrals",
         lambda ids: {"to_organisation_id": str(ids["mission_org"]), "reason": "MigrationOrChangeOfLocation",
                      "consent_basis": "consent"}, Referral),
    Form("transfer", "caseworker", CASE + "/referrals", CASE + "/transfers",
         lambda ids: {"transfer-to_organisation_id": str(ids["ngo2"]), "transfer-consent_basis": "consent",
                      "transfer-transfer_reason": "She moves to Bogotá."}, Transfer, prefix="transfer-"),
    Form("document", "caseworker", CASE + "/documents", CASE + "/documents",
         lambda ids: {"kind": "identity_document", "file": (PNG, "pasaporte.png", "image/png")}, Document,
         multipart=True),
    Form("task", "caseworker", "/tasks/", "/tasks/",
         lambda ids: {"title": "Call the consulate", "due_on": TODAY.isoformat(), "priority": "normal",
                      "assignee_id": str(ids["caseworker"])}, Task),
    Form("case_task", "caseworker", CASE + "/tasks", CASE + "/tasks",
         lambda ids: {"title": "Book the interpreter", "due_on": TODAY.isoformat(), "priority": "normal",
                      "assignee_id": str(ids["caseworker"])}, Task, stored_kind="task"),
    Form("closure_request", "caseworker", CASE + "/closure", CASE + "/closure",
         lambda ids: {"code": "completed", "reason": "Goals met."}, ClosureRequest),
    Form("user", "admin", "/admin/users/new", "/admin/users/new",
         lambda ids: {"username": "newcomer", "display_name": "New Comer", "role": "hotline_operator",
                      "admin_password": factories.PASSWORD}, User),
    Form("organisation", "installer", "/admin/organisations", "/admin/organisations",
         lambda ids: {"name": "Nuevo Camino", "org_type": "NGO", "country": "PE"}, Organisation),
]
BY_KIND = {f.kind: f for f in FORMS}


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _token_on(html: str, prefix: str = "") -> str:
    found = re.search(rf'name="{re.escape(prefix)}submission_token"[^>]*value="([^"]+)"', html)
    assert found, f"no {prefix}submission_token on the page"
    return found.group(1)


def _shown(web: Web, form: Form, ids: dict) -> str:
    page = web.get(form.url(form.page, ids))
    assert page.status_code == 200, (form.kind, page.status_code)
    return _token_on(page.get_data(as_text=True), form.prefix)


def _post(web: Web, form: Form, ids: dict, token: str | None):
    return web.post(form.url(form.action, ids), form.data(ids, token))


def _ok(response) -> bool:
    # The new account shows its one-time enrolment link (200); every other creating form redirects.
    return response.status_code in (200, 302, 303)


def _expired_token(app, user_id: int) -> str:
    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 25 * 3600

    with app.test_request_context():
        serializer: URLSafeTimedSerializer = submissions._serializer()
        serializer.signer = Yesterday
        return serializer.dumps([user_id, "an old form"])


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


@pytest.mark.parametrize("form", FORMS, ids=[f.kind for f in FORMS])
def test_each_creating_form_refuses_a_token_it_cannot_use_and_answers_a_replay_with_the_first_record(app, form):
    ids = _scene(app, form)
    web = signed_in(app, form.actor)
    before = _count(app, form.model)

    # A missing, made-up, forged, another user's or expired token: a clear message, a fresh token, nothing saved.
    other = "supervisor" if form.actor != "supervisor" else "caseworker"
    forged = URLSafeTimedSerializer("a guessed key").dumps([_user_id(app, form.actor), "x"])
    for token, message in (
        ("", MISSING),
        ("made-up", NOT_VALID),
        (forged, NOT_VALID),
        (submission_token(app, other), NOT_YOURS),
        (_expired_token(app, _user_id(app, form.actor)), EXPIRED),
    ):
        refused = _post(web, form, ids, token)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in html, (form.kind, token, refused.status_code)
        assert _token_on(html, form.prefix) not in ("", token)
        assert _count(app, form.model) == before

    # The form as shown, submitted; then the same body with the same token, as a retry after a lost answer.
    token = _shown(web, form, ids)
    first = _post(web, form, ids, token)
    assert _ok(first), (first.status_code, first.get_data(as_text=True)[:2000])
    assert _count(app, form.model) == before + 1
    again = _post(web, form, ids, token)
    assert again.status_code == 303
    assert _count(app, form.model) == before + 1
    with app.app_context():
        used = db.session.scalars(select(SubmissionToken)).one()
        assert (used.kind, used.result_url) == (form.stored_kind or form.kind, again.headers["Location"])
    if first.status_code != 200:
        assert again.headers["Location"] == first.headers["Location"]
    else:  # the new account's one-time enrolment link is not shown again: the replay lands on the account
        assert again.headers["Location"] == f"/admin/users/{_user_id(app, 'newcomer')}"
    landing = web.get(again.headers["Location"])
    assert landing.status_code == 200 and REPLAYED in landing.get_data(as_text=True)


def test_a_form_posted_without_the_token_field_at_all_is_refused(app):
    ids = _scene(app)
    web = signed_in(app, "hotline")
    form = BY_KIND["contact"]
    before = _count(app, Contact)
    payload = {**form.data(ids, None), "csrf_token": web.token("/intake/contacts/new")}
    refused = web.client.post("/intake/contacts/new", data=payload)  # not through Web.post, which adds a token
    assert refused.status_code == 422 and MISSING in refused.get_data(as_text=True)
    assert _count(app, Contact) == before


def test_another_users_used_token_neither_replays_their_record_nor_creates_one(app):
    ids = _scene(app)
    form = BY_KIND["task"]
    owner, other = signed_in(app, "caseworker"), signed_in(app, "caseworkerb")
    token = _shown(owner, form, ids)
    assert _ok(_post(owner, form, ids, token))
    stolen = _post(other, form, {**ids, "caseworker": _user_id(app, "caseworkerb")}, token)
    assert stolen.status_code == 422 and NOT_YOURS in stolen.get_data(as_text=True)
    assert _count(app, Task) == 1


# Two requests racing with one token -----------------------------------------------------------------------------

RACED = ["contact", "case", "document"]


def _race(app, form: Form, ids: dict, webs: list[Web], body: Callable[[int], dict]) -> list:
    """Both requests read the token as unused before either writes: each waits at a barrier right after its own
    look-up of the token, so the two proceed together (SQLite then runs them one after the other; PostgreSQL runs
    them at once until the second insert of the token waits for the first transaction)."""
    barrier = threading.Barrier(len(webs), timeout=20)
    racing = threading.local()

    def after_lookup(conn, cursor, statement, parameters, context, executemany):
        if getattr(racing, "on", False) and statement.lstrip().upper().startswith("SELECT") \
                and "FROM submission_tokens" in statement:
            racing.on = False
            barrier.wait()

    responses: list = [None] * len(webs)
    errors: list = []

    def run(i: int) -> None:
        racing.on = True
        try:
            responses[i] = webs[i].client.post(form.url(form.action, ids), data=body(i))
        except Exception as exc:  # reported below, in the test's own thread
            errors.append(exc)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after_lookup)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(webs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(engine, "after_cursor_execute", after_lookup)
    assert not errors, errors
    return responses


@pytest.mark.parametrize("kind", RACED)
def test_two_requests_racing_with_one_token_make_one_record(app, kind):
    form = BY_KIND[kind]
    ids = _scene(app, form)
    # Two logins of one person (two tabs, or a browser retrying on a new connection): separate sessions, and each
    # request on its own database connection.
    webs = [signed_in(app, form.actor), signed_in(app, form.actor)]
    token = _shown(webs[0], form, ids)
    csrf = [web.token("/account") for web in webs]
    before = _count(app, form.model)
    files_before = _stored_files(app)
    answers = _race(app, form, ids, webs, body=lambda i: {**form.data(ids, token), "csrf_token": csrf[i]})
    assert sorted(r.status_code for r in answers) == [302, 303], [r.status_code for r in answers]
    assert len({r.headers["Location"] for r in answers}) == 1
    assert _count(app, form.model) == before + 1
    # The loser's upload left no file behind (its file was written before its transaction was rolled back).
    assert len(_stored_files(app)) == len(files_before) + (1 if form.kind == "document" else 0)


def _stored_files(app) -> list[Path]:
    with app.app_context():
        root = storage._root()
    return sorted(root.rglob("*.bin")) if root.exists() else []


# A worker killed around its commit --------------------------------------------------------------------------------

CHILD = r"""
import json, os, sys
from sqlalchemy import event
from sqlalchemy.orm import Session
from tests.conftest import make_test_app

spec = json.loads(sys.stdin.read())
app = make_test_app(spec["instance"], spec["database"], ROOT_KEYS=spec["root_keys"], SECRET_KEY=spec["secret_key"])
with app.app_context():
    engine = app.extensions["sqlalchemy"].engine
consumed = []

def saw(conn, cursor, statement, *args):
    if statement.lstrip().upper().startswith("INSERT INTO SUBMISSION_TOKENS"):
        consumed.append(True)

def die(session):
    if consumed:  # the commit of the submission's transaction, not of anything before it
        os._exit(9)  # no response, no clean-up: what a worker killed by the OOM killer or a timeout leaves

event.listen(engine, "after_cursor_execute", saw)
event.listen(Session, spec["moment"], die)
client = app.test_client()
client.set_cookie(spec["cookie_name"], spec["cookie"], domain="localhost")
client.post(spec["action"], data=spec["data"])
sys.exit(0)  # not reached: the commit of the submission kills the worker
"""


@pytest.fixture
def keyed_app(backend, tmp_path):
    """An app of its own, with keys a second process can share."""
    keys = {"ROOT_KEYS": test_root_keys(), "SECRET_KEY": os.urandom(24).hex()}
    for application in built_app(backend, tmp_path, "submissions_kill", **keys):
        application.config["TEST_KEYS"] = keys
        yield application


def _killed_worker(app, web: Web, moment: str, action: str, data: dict, log: Path) -> subprocess.Popen:
    """Send the request from another process, which dies at `moment` of the submission's transaction."""
    name = app.config["SESSION_COOKIE_NAME"]
    with app.app_context():
        url = db.engine.url
        database = None if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=False)
    spec = {"instance": app.instance_path, "database": database, "root_keys": app.config["TEST_KEYS"]["ROOT_KEYS"],
            "secret_key": app.config["TEST_KEYS"]["SECRET_KEY"], "moment": moment, "cookie_name": name,
            "cookie": web.client.get_cookie(name).value, "action": action, "data": data}
    child = subprocess.Popen(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        text=True, cwd=Path(__file__).resolve().parents[2])
    child.stdin.write(json.dumps(spec))
    child.stdin.close()
    return child


def test_a_worker_killed_before_its_commit_leaves_the_token_usable_and_after_it_a_replay(keyed_app, tmp_path):
    app = keyed_app
    with app.app_context():
        factories.world()
    web = signed_in(app, "hotline")
    form = BY_KIND["contact"]
    csrf = web.token("/intake/contacts/new")
    before_commit = {**form.data({}, _shown(web, form, {})), "csrf_token": csrf}
    after_commit = {**form.data({}, _shown(web, form, {})), "csrf_token": csrf}
    # Both workers at once (each starts an interpreter and the app: seconds).
    children = {moment: _killed_worker(app, web, moment, form.action, body, tmp_path / f"{moment}.log")
                for moment, body in (("before_commit", before_commit), ("after_commit", after_commit))}
    for moment, child in children.items():
        assert child.wait(timeout=120) == 9, (tmp_path / f"{moment}.log").read_text()[-3000:]
    assert _count(app, Contact) == 1  # the second was saved, but its answer never left the worker

    retry = web.post(form.action, before_commit)  # the person presses the button again: it was never saved
    assert retry.status_code == 302 and _count(app, Contact) == 2
    replay = web.post(form.action, after_commit)  # saved: the retry shows it
    assert replay.status_code == 303 and _count(app, Contact) == 2
    with app.app_context():
        saved = {f"/intake/contacts/{c}" for c in db.session.scalars(select(Contact.id))}
    assert {retry.headers["Location"], replay.headers["Location"]} == saved


def test_used_tokens_are_pruned_when_the_user_submits_again(app):
    ids = _scene(app)
    web = signed_in(app, "caseworker")
    form = BY_KIND["task"]
    assert _ok(_post(web, form, ids, _shown(web, form, ids)))
    with app.app_context():
        old = db.session.scalars(select(SubmissionToken)).one()
        old.used_at -= submissions.KEEP + timedelta(minutes=1)
        db.session.commit()
    assert _ok(_post(web, form, ids, _shown(web, form, ids)))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SubmissionToken)) == 1
