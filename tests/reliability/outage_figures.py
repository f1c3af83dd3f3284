"""A database outage under load, through the real application in a real server (issue 11, finding 2).

A private PostgreSQL cluster (tests/reliability/pgcluster.py), the application under gunicorn with the production
configuration file (2 sync workers), and two simulated caseworkers who log in once and then open the new-case form
and submit it, over and over. Mid-load the cluster is stopped at once (`pg_ctl stop -m immediate`, like a crash),
left down for a few seconds and started again. Every answer is recorded; afterwards the database is asked for every
case whose creation was acknowledged (the redirect to the new case), and `casemgmt audit verify` is run.

    python -m tests.reliability.outage_figures        # prints the figures; exit status 1 if an expectation fails

tests/reliability/test_database_outage.py runs the same scenario and asserts on it.
"""

from __future__ import annotations

import html
import http.client
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, func, select

from tests.reliability.pgcluster import PrivateCluster, free_port, private_cluster

ROOT = Path(__file__).resolve().parents[2]
USERNAME = "loadworker"
PASSWORD = "violet-harbor-copper-lantern-58"
WORKERS = 2  # simulated users, one thread each
NORMAL_SECONDS = 2.0  # load before the outage
OUTAGE_SECONDS = 4.0  # the cluster is down this long
AFTER_SECONDS = 3.0  # load after the first acknowledged write that follows the restart
RECOVERY_LIMIT_SECONDS = 20.0
PAUSE_SECONDS = 0.02  # between one user's requests: a bounded load, not a flood
REQUEST_TIMEOUT = 15.0
SERVER_START_SECONDS = 40.0
OUTAGE_MARKER = "Temporarily unavailable"
CASE_URL = re.compile(r"^/cases/([0-9a-f-]{36})$")
HIDDEN_INPUT = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*>")
ATTRIBUTE = re.compile(r"([\w-]+)=\"([^\"]*)\"")


@dataclass
class Answer:
    started: float
    finished: float
    method: str
    path: str
    status: int  # 0: no HTTP answer at all (refused, reset, timed out)
    retry_after: str | None = None
    body: str = ""
    location: str = ""

    @property
    def is_outage_page(self) -> bool:
        return (self.status == 503 and self.retry_after is not None and OUTAGE_MARKER in self.body
                and "Reference: " in self.body)

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.body[:120]!r}"


@dataclass
class Figures:
    answers: list[Answer] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # ids of the cases whose creation was acknowledged
    stopped_at: float = 0.0
    started_at: float = 0.0  # pg_ctl start returned: the server accepts connections
    recovered_at: float | None = None  # the first acknowledged write after the restart
    present: int = 0  # of the acknowledged cases, how many the database holds afterwards
    cases_in_database: int = 0
    audit_report: str = ""
    audit_intact: bool = False
    server_log: str = ""

    def during_outage(self) -> list[Answer]:
        """Answered after the stop (requests in flight at the stop included) and started before the recovery."""
        end = self.recovered_at if self.recovered_at is not None else float("inf")
        return [a for a in self.answers if a.finished >= self.stopped_at and a.started < end]

    def after_recovery(self) -> list[Answer]:
        if self.recovered_at is None:
            return []
        return [a for a in self.answers if a.started >= self.recovered_at]

    def before_outage(self) -> list[Answer]:
        return [a for a in self.answers if a.finished < self.stopped_at]

    @property
    def lost(self) -> int:
        return len(self.acknowledged) - self.present

    @property
    def saved_unacknowledged(self) -> int:
        """Submissions that failed in the user's eyes but were saved: the commit reached the server, the answer did
        not. This is why the outage page says "may not have been saved" rather than "was not saved"."""
        return self.cases_in_database - len(self.acknowledged)

    def problems(self) -> list[str]:
        found = []
        found += [f"failed before the outage: {a.describe()}" for a in self.before_outage() if a.status >= 400
                  or a.status == 0]
        found += [f"not the application's 503 page during the outage: {a.describe()}"
                  for a in self.during_outage() if (a.status >= 400 or a.status == 0) and not a.is_outage_page]
        if self.recovered_at is None:
            found.append(f"no write was acknowledged within {RECOVERY_LIMIT_SECONDS:.0f} s of the restart")
        found += [f"failed after recovery: {a.describe()}" for a in self.after_recovery() if a.status >= 400
                  or a.status == 0]
        if self.lost:
            found.append(f"{self.lost} acknowledged case(s) missing from the database")
        if not self.audit_intact:
            found.append(f"audit verify: {self.audit_report}")
        if not self.during_outage() or not any(a.is_outage_page for a in self.during_outage()):
            found.append("no request met the outage: the scenario did not test anything")
        return found

    def report(self) -> str:
        statuses = Counter(a.status for a in self.answers)
        outage = Counter(a.status for a in self.during_outage())
        errors = {status: n for status, n in sorted(statuses.items()) if status >= 400 or status == 0}
        recovery = "none" if self.recovered_at is None else f"{self.recovered_at - self.started_at:.2f} s"
        return "\n".join([
            f"requests: {len(self.answers)} ({dict(sorted(statuses.items()))})",
            f"error responses by status: {errors} (0 = no HTTP answer)",
            f"during the outage: {sum(outage.values())} requests, {dict(sorted(outage.items()))}; "
            f"the application's 503 page: {sum(a.is_outage_page for a in self.during_outage())}",
            f"database down: {self.started_at - self.stopped_at:.2f} s (stop -m immediate to start returned)",
            f"recovery: first acknowledged write {recovery} after the server accepted connections again",
            f"acknowledged writes: {len(self.acknowledged)}, present afterwards: {self.present}, lost: {self.lost}",
            f"failed submissions that were saved anyway: {self.saved_unacknowledged}",
            f"failures after recovery: {sum(1 for a in self.after_recovery() if a.status >= 400 or a.status == 0)}",
            f"audit: {self.audit_report}",
        ])


class Browser:
    """Just enough of a browser: a cookie jar (the session cookie is Secure in production; this one is sent over
    plain HTTP to 127.0.0.1 all the same), forms posted as application/x-www-form-urlencoded, no redirects followed."""

    def __init__(self, port: int, record):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.record = record

    def request(self, method: str, path: str, form: dict | None = None) -> Answer:
        started = time.monotonic()
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, cookie = value.split(";", 1)[0].partition("=")
                if cookie and "1970" not in value:
                    self.cookies[name.strip()] = cookie
                else:
                    self.cookies.pop(name.strip(), None)
            answer = Answer(started, time.monotonic(), method, path, response.status,
                            response.headers.get("Retry-After"), text, response.headers.get("Location", ""))
        except (OSError, http.client.HTTPException) as exc:
            answer = Answer(started, time.monotonic(), method, path, 0, body=f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()
        self.record(answer)
        return answer


def hidden_fields(page: str) -> dict[str, str]:
    fields = {}
    for tag in HIDDEN_INPUT.findall(page):
        attributes = {name: html.unescape(value) for name, value in ATTRIBUTE.findall(tag)}
        if "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


def caseworker(browser: Browser, number: int, stop: threading.Event, acknowledged: list[str], lock) -> None:
    login = browser.request("GET", "/login")
    form = {**hidden_fields(login.body), "username": USERNAME, "password": PASSWORD, "code": ""}
    if browser.request("POST", "/login", form).status != 302:
        return
    attempt = 0
    while not stop.is_set():
        time.sleep(PAUSE_SECONDS)
        page = browser.request("GET", "/cases/new")
        if page.status != 200:
            continue
        attempt += 1
        # create_anyway skips the duplicate check: every case here is a new person.
        form = {**hidden_fields(page.body), "given_name": f"Load {number}-{attempt}", "status": "Active",
                "create_anyway": "yes"}
        answer = browser.request("POST", "/cases/new", form)
        match = CASE_URL.match(answer.location.replace(f"http://127.0.0.1:{browser.port}", ""))
        if answer.status in (302, 303) and match:
            with lock:
                acknowledged.append(match.group(1))


def _environment(folder: Path, database_url: str, port: int) -> dict[str, str]:
    import base64

    environment = {key: value for key, value in os.environ.items() if not key.startswith("CASEMGMT_")}
    environment.update({
        "CASEMGMT_ENV": "production",
        "CASEMGMT_INSTANCE_PATH": str(folder / "instance"),
        "CASEMGMT_DATABASE_URL": database_url,
        "CASEMGMT_SECRET_KEY": secrets.token_urlsafe(48),
        "CASEMGMT_ROOT_KEYS": "1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "CASEMGMT_REQUIRE_2FA": "false",
        "CASEMGMT_RATELIMIT_ENABLED": "false",
        "CASEMGMT_ARGON2_TIME_COST": "1",
        "CASEMGMT_ARGON2_MEMORY_KIB": "8",
        "CASEMGMT_EXPECTED_CASES": "1000",
        # Checkpoints every second: `audit verify` then also holds the database against heads anchored before and
        # after the crash, which tells whether any committed audit event was lost.
        "CASEMGMT_AUDIT_CHECKPOINT_FILE": str(folder / "anchor" / "checkpoints.log"),
        "CASEMGMT_AUDIT_CHECKPOINT_SECONDS": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PYTHONPATH": str(ROOT),
    })
    return environment


def _prepare(environment: dict[str, str]) -> None:
    """Schema, one organisation and one caseworker, made through the application's own operations."""
    code = (
        "from casemgmt import create_app\n"
        "from casemgmt.extensions import db\n"
        "from tests import factories\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
        f"    factories.user(factories.organisation(), 'caseworker', username={USERNAME!r}, password={PASSWORD!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], env=environment, cwd=ROOT, check=True,  # noqa: S603 - fixed code
                   timeout=60, capture_output=True)


def _wait_for_server(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {SERVER_START_SECONDS:.0f} s")


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def run(cluster: PrivateCluster, folder: Path) -> Figures:
    """The scenario on a running private cluster; leaves the cluster running."""
    figures = Figures()
    lock = threading.Lock()
    port = free_port()
    environment = _environment(folder, cluster.create_database("outage"), port)
    (folder / "anchor").mkdir(mode=0o700)
    _prepare(environment)
    log_path = folder / "gunicorn.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(  # noqa: S603 - this interpreter, gunicorn and our configuration file
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
             "casemgmt:create_app()"],
            env=environment, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_server(port, server)
            acknowledged = figures.acknowledged

            def record(answer: Answer) -> None:
                with lock:
                    figures.answers.append(answer)

            stop = threading.Event()
            users = [threading.Thread(target=caseworker, args=(Browser(port, record), n, stop, acknowledged, lock),
                                      daemon=True) for n in range(1, WORKERS + 1)]
            for user in users:
                user.start()
            try:
                time.sleep(NORMAL_SECONDS)
                figures.stopped_at = time.monotonic()
                cluster.stop("immediate")
                time.sleep(OUTAGE_SECONDS)
                cluster.start()
                figures.started_at = time.monotonic()
                known = len(acknowledged)  # acknowledged before the restart (answers in flight at the stop included)

                def recovered() -> bool:
                    with lock:
                        return len(acknowledged) > known

                if _wait_for(recovered, RECOVERY_LIMIT_SECONDS):
                    with lock:
                        # The answer that acknowledged it started earlier; recovery counts from its request's start.
                        posts = [a for a in figures.answers if a.method == "POST" and a.path == "/cases/new"
                                 and a.started >= figures.started_at and a.status == 302]
                    figures.recovered_at = min((a.started for a in posts), default=time.monotonic())
                    time.sleep(AFTER_SECONDS)
            finally:
                stop.set()
                for user in users:
                    user.join(REQUEST_TIMEOUT * 2 + 1)
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
    figures.server_log = log_path.read_text(errors="replace")
    _count_cases(figures, environment["CASEMGMT_DATABASE_URL"])
    verify = subprocess.run([sys.executable, "-m", "flask", "--app", "casemgmt:create_app()", "audit", "verify"],
                            env=environment, cwd=ROOT, capture_output=True, text=True, timeout=120)
    figures.audit_report = (verify.stdout + verify.stderr).strip().replace("\n", " | ")
    figures.audit_intact = verify.returncode == 0 and "audit chain intact" in verify.stdout
    return figures


def _count_cases(figures: Figures, url: str) -> None:
    from casemgmt.cases.models import Case

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            ids = set(connection.execute(select(Case.id)).scalars())
            figures.cases_in_database = connection.execute(select(func.count()).select_from(Case)).scalar_one()
    finally:
        engine.dispose()
    figures.present = len(ids & set(figures.acknowledged))


def measure() -> Figures:
    with private_cluster() as cluster, tempfile.TemporaryDirectory(prefix="casemgmt-outage-") as folder:
        return run(cluster, Path(folder))


def main() -> int:
    figures = measure()
    print(figures.report())
    problems = figures.problems()
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
