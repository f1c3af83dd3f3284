"""The database goes away (issue 11, finding 2): every page answers the application's 503, with Retry-After and a
reference, in words that promise nothing the application cannot know; the readiness check says "not ready"; and when
the database is back, everything works again by itself.

The PostgreSQL cases stop a private cluster (tests/reliability/pgcluster.py), never the shared server. The last test
runs the whole thing under load through gunicorn (tests/reliability/outage_figures.py) and prints the figures.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from casemgmt.audit.models import AuditEvent
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.outages import Outage, classify
from tests import factories
from tests.conftest import BACKENDS, make_test_app, new_client, signed_in
from tests.reliability import outage_figures
from tests.reliability.outage_figures import hidden_fields
from tests.reliability.pgcluster import private_cluster

REFERENCE = re.compile(r"Reference: [0-9a-f]{12}")
SAVED_MAYBE = "may not have been saved"


@pytest.fixture(scope="module")
def cluster():
    with private_cluster() as running:
        yield running


class Breakable:
    """An application on a database that can be taken away (down) and given back (up)."""

    def __init__(self, app, down, up):
        self.app, self.down, self.up = app, down, up


_databases = iter(range(1, 1000))


@pytest.fixture(params=[b for b in ("sqlite", "postgresql") if b in BACKENDS])
def outage(request, tmp_path):
    if request.param == "sqlite":
        # The database in a folder of its own: renaming the folder is a disk that has gone away.
        folder, gone = tmp_path / "database", tmp_path / "gone"
        folder.mkdir()
        app = make_test_app(tmp_path / "instance", f"sqlite:///{folder / 'casemgmt.db'}")

        def down():
            folder.rename(gone)
            with app.app_context():
                db.engine.dispose()  # open SQLite connections would keep reading the renamed file

        def up():
            gone.rename(folder)
    else:
        cluster = request.getfixturevalue("cluster")
        app = make_test_app(tmp_path / "instance", cluster.create_database(f"pages_{next(_databases)}"))
        down, up = cluster.stop, cluster.start
    with app.app_context():
        db.create_all()
        factories.user(factories.organisation(), "caseworker", username="worker")
    broken = Breakable(app, down, up)
    try:
        yield broken
    finally:
        if request.param == "postgresql" and not cluster.running:
            cluster.start()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def assert_outage_page(response, writing: bool | None) -> str:
    """The application's 503 page; writing=None for a page in another language (only its form is checked)."""
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:300]
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"
    assert re.search(r": [0-9a-f]{12}</p>", body), body  # the reference
    if writing is not None:
        assert "Temporarily unavailable" in body and REFERENCE.search(body)
        assert (SAVED_MAYBE in body) is writing, body
    return body


def test_every_kind_of_page_answers_503_without_the_database_and_recovers_by_itself(outage):
    app = outage.app
    web = signed_in(app, "worker")
    assert web.get("/cases/").status_code == 200
    case_form = hidden_fields(web.get("/cases/new").get_data(as_text=True))
    language_token = web.token("/account")
    anonymous = new_client(app)
    login_form = hidden_fields(anonymous.get("/login").get_data(as_text=True))
    login = {**login_form, "username": "worker", "password": factories.PASSWORD, "code": ""}
    spanish = signed_in(app, "worker")
    assert spanish.post("/language", {"language": "es", "next": "/"}).status_code == 302

    outage.down()
    try:
        assert anonymous.get("/login").status_code == 200  # the login page itself needs no database
        assert anonymous.get("/healthz").get_data(as_text=True) == "ok"  # liveness: the process is fine
        ready = anonymous.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_data(as_text=True).startswith("not ready\ndatabase unreachable: ")
        assert_outage_page(anonymous.post("/login", data=login), writing=True)
        assert_outage_page(web.get("/cases/"), writing=False)
        assert_outage_page(web.get("/no-such-page"), writing=False)  # the 404 page's menu needs the user
        assert_outage_page(web.client.post("/cases/new", data={**case_form, "given_name": "Ana", "status": "Active",
                                                               "create_anyway": "yes"}), writing=True)
        assert_outage_page(web.client.post("/language", data={"language": "en", "csrf_token": language_token}),
                           writing=True)
        assert_outage_page(web.client.post("/cases/new", data={"given_name": "No token"}), writing=True)  # CSRF
        # The language the user chose survives the outage; an anonymous browser gets its own.
        assert '<html lang="es">' in assert_outage_page(spanish.get("/cases/"), writing=None)
        page = anonymous.post("/login", data=login, headers={"Accept-Language": "es"})
        assert '<html lang="es">' in assert_outage_page(page, writing=None)
    finally:
        outage.up()

    # Back: the same sessions work again, without a restart.
    assert web.get("/cases/").status_code == 200
    case_form = hidden_fields(web.get("/cases/new").get_data(as_text=True))
    created = web.client.post("/cases/new", data={**case_form, "given_name": "Ana", "status": "Active",
                                                  "create_anyway": "yes"})
    assert created.status_code == 302
    assert anonymous.post("/login", data=login).status_code == 302
    assert new_client(app).get("/readyz").get_data(as_text=True) == "ready\n"
    with app.app_context():
        assert db.session.scalar(select(Case.id)) == created.headers["Location"].rsplit("/", 1)[1]


def test_a_connection_lost_after_the_page_was_rendered_does_not_lose_the_page(cluster, tmp_path):
    """The database drops the connection between the view and the end of the request: the session's closing ROLLBACK
    then fails. That used to escape the request and replace the finished page with gunicorn's bare 500."""
    url = cluster.create_database("teardown")
    app = make_test_app(tmp_path, url)
    with app.app_context():
        db.create_all()
        factories.user(factories.organisation(), "caseworker", username="worker")
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")

    def drop_the_connection(response):
        pid = db.session.connection().connection.dbapi_connection.info.backend_pid
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 5
            while connection.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first():
                assert time.monotonic() < deadline
                time.sleep(0.02)
        return response

    try:
        web = signed_in(app, "worker")
        app.after_request_funcs[None].append(drop_the_connection)
        response = web.get("/cases/")
        assert response.status_code == 200
        assert "Cases" in response.get_data(as_text=True)
        app.after_request_funcs[None].remove(drop_the_connection)
        assert web.get("/cases/").status_code == 200  # and the pool replaced the dead connection
    finally:
        admin.dispose()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_readiness_is_public_says_nothing_to_outsiders_and_is_not_audited(outage):
    app = outage.app
    with app.app_context():
        events_before = db.session.query(AuditEvent).count()
    local = new_client(app)
    response = local.get("/readyz")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ready\n")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    outsider = new_client(app)
    outsider.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    forwarded = new_client(app)
    forwarded.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"  # a local proxy passing on an outside request
    outage.down()
    try:
        assert local.get("/readyz").get_data(as_text=True).startswith("not ready\ndatabase unreachable: ")
        for client in (outsider, forwarded):
            response = client.get("/readyz")
            assert (response.status_code, response.get_data(as_text=True)) == (503, "not ready\n")
    finally:
        outage.up()
    assert local.get("/readyz").status_code == 200
    with app.app_context():
        assert db.session.query(AuditEvent).count() == events_before


def test_a_write_load_through_gunicorn_survives_a_database_crash(cluster, tmp_path_factory):
    """The closing note's figures. Every error answer during the outage is the application's 503 page, every
    acknowledged case is there afterwards, nothing fails after recovery, and `casemgmt audit verify` says intact."""
    folder = Path(tmp_path_factory.mktemp("outage-load"))
    figures = outage_figures.run(cluster, folder)
    print("\n" + figures.report())
    problems = figures.problems()
    assert problems == [], "\n".join(problems) + "\n" + figures.server_log[-3000:]


def test_what_counts_as_an_outage(tmp_path):
    """The judgement behind the 503/507 pages, on errors the drivers really raise (and PostgreSQL's disk_full, which
    only a full disk under the server could raise)."""
    def raised(statement: str, path: Path = tmp_path / "x.db") -> Exception:
        try:
            connection = sqlite3.connect(path)
            try:
                connection.executescript(statement)
            finally:
                connection.close()
        except sqlite3.Error as exc:
            return exc
        raise AssertionError(statement)

    missing_table = raised("SELECT * FROM nowhere")
    duplicate = raised("CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1); INSERT INTO t VALUES (1);")
    cannot_open = raised("SELECT 1", path=tmp_path / "gone" / "x.db")
    disk_full = psycopg.errors.DiskFull("could not extend file \"base/16384/16385\": No space left on device")
    assert classify(OperationalError("SELECT 1", {}, cannot_open)) is Outage.UNREACHABLE
    assert classify(OperationalError("INSERT", {}, disk_full)) is Outage.STORAGE_FULL
    assert classify(OSError(28, "No space left on device")) is Outage.STORAGE_FULL
    assert classify(OperationalError("SELECT", {}, missing_table)) is None  # a wrong statement stays a 500
    assert classify(IntegrityError("INSERT", {}, duplicate)) is None
    assert classify(ValueError("not the database")) is None
