"""E-mailed notices against a real SMTP server (aiosmtpd) started here: they reach whoever turned them on, carry no
personal data, come as one digest per interval, and an SMTP server that is down never breaks the request: the
digest waits in the outbox and goes once the server is back."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.journey import operations as journey
from casemgmt.notifications import mail
from casemgmt.notifications import operations as notice_ops
from casemgmt.notifications.models import NotificationMail
from casemgmt.tasks import operations as tasks
from tests import factories
from tests.cli.support import run_cli
from tests.conftest import _wipe, built_app, signed_in

SENDER = "casemgmt@casa.example"
SITE = "https://casemgmt.casa.example"
ADDRESS = "lucrecia.supervisora@casa.example"
# Nothing of this may ever be in an e-mail: the person, the case, what was written about them, who works on it.
PERSON = {"given_name": "Evangelina", "family_name": "Quisbert-Zapana", "address": "Jr. Ayacucho 412, Oruro",
          "phone": "+591 71234567", "narrative": "Recruited by her cousin Teófilo for a restaurant job."}
REASON = "Evangelina went home to her aunt in Oruro"
TITLE = "Call Evangelina about the hearing"
STAFF = ("Lucrecia", "Teodora", "Bartolome", "Casa Esperanza")
SMTP_TIMEOUT = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Inbox:
    """What the SMTP server received: (envelope recipients, raw message as sent)."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's name for the hook
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int, **options):
        self.port, self.options, self.inbox, self.controller = port, options, Inbox(), None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def mail_app(backend, tmp_path_factory, smtp_port):
    yield from built_app(backend, tmp_path_factory.mktemp(f"mail-{backend}"), "mail", SMTP_HOST="127.0.0.1",
                         SMTP_PORT=smtp_port, SMTP_SECURITY="none", SMTP_FROM=SENDER, PUBLIC_URL=SITE,
                         MAIL_DIGEST_MINUTES=15, SMTP_TIMEOUT_SECONDS=SMTP_TIMEOUT)


@dataclass
class People:
    case_id: str
    reference: str


@pytest.fixture
def people(mail_app):
    """One NGO: Lucrecia (supervisor, e-mail on), Teodora (caseworker), Bartolome (caseworker, e-mail off), and
    a case about a person with a name nobody could mistake for a word of the e-mail."""
    with mail_app.test_request_context():
        org = factories.organisation("Casa Esperanza")
        lucrecia = factories.user(org, "supervisor", "lucrecia")
        teodora = factories.user(org, "caseworker", "teodora")
        factories.user(org, "caseworker", "bartolome")
        notice_ops.set_email_preferences(lucrecia, ADDRESS, True)
        case = factories.case(teodora, **PERSON)
        db.session.commit()
        found = People(case.id, case.reference)
    yield found
    mail.sender(mail_app).wait()
    _wipe(mail_app)


@pytest.fixture
def server(smtp_port):
    running = SmtpServer(smtp_port)
    yield running
    running.stop()


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _outbox() -> list[NotificationMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(NotificationMail).order_by(NotificationMail.id)))


def _give_task(app, to: str, title: str = TITLE, case_id: str | None = None) -> None:
    with app.test_request_context():
        case = db.session.get(Case, case_id) if case_id else None
        tasks.create_task(_user("teodora"), case, {"title": title, "due_on": date.today() + timedelta(days=2),
                                                   "assignee_id": _user(to).id})
        db.session.commit()
    mail.sender(app).wait()


def _assert_names_no_one(raw: bytes, people: People) -> str:
    text = message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    for forbidden in (*PERSON.values(), "Oruro", REASON, TITLE, "hearing", people.reference, people.case_id,
                      *STAFF):
        assert forbidden.encode() not in raw, forbidden
        assert forbidden not in text, forbidden
    return text


def test_a_digest_reaches_who_turned_it_on_and_names_no_one(mail_app, people, server):
    server.start()
    with mail_app.test_request_context():
        case = db.session.get(Case, people.case_id)
        journey.request_closure(_user("teodora"), case, "completed", REASON)
        tasks.create_task(_user("teodora"), case, {"title": TITLE, "due_on": date.today() + timedelta(days=2),
                                                   "assignee_id": _user("lucrecia").id})
        tasks.create_task(_user("teodora"), case, {"title": TITLE, "due_on": date.today() + timedelta(days=2),
                                                   "assignee_id": _user("bartolome").id})
        db.session.commit()  # the commit queues the digest; a background thread sends it
    mail.sender(mail_app).wait()

    assert len(server.inbox.messages) == 1  # Bartolome did not turn e-mail on
    recipients, raw = server.inbox.messages[0]
    assert recipients == [ADDRESS]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["From"] == SENDER and message["To"] == ADDRESS
    assert message["Subject"] == "Notices are waiting for you in casemgmt"
    text = _assert_names_no_one(raw, people)
    assert "1 approval is waiting for you." in text and "1 task needs you." in text
    assert f"{SITE}/notifications" in text
    with mail_app.app_context():
        assert [(row.status, row.attempts) for row in _outbox()] == [("sent", 0)]


def test_one_digest_per_interval_counting_what_is_still_open(mail_app, people, server):
    server.start()
    _give_task(mail_app, "lucrecia", "Check the shelter roster")
    assert len(server.inbox.messages) == 1
    _give_task(mail_app, "lucrecia", "Sign the monthly report")
    _give_task(mail_app, "lucrecia", "Plan the team meeting")
    assert len(server.inbox.messages) == 1  # within the interval: they wait for one digest together
    with mail_app.app_context():
        sent, waiting = _outbox()
        assert waiting.status == "waiting"
        assert timedelta(minutes=14) < waiting.send_after - sent.sent_at <= timedelta(minutes=15)

    assert "0 sent" in run_cli(mail_app, ["notifications", "send"]).output  # not due yet
    result = run_cli(mail_app, ["notifications", "send", "--now"])
    assert "1 sent" in result.output, result.output
    assert len(server.inbox.messages) == 2
    assert "3 tasks need you." in _assert_names_no_one(server.inbox.messages[1][1], people)


def test_a_digest_with_nothing_left_to_tell_is_not_sent(mail_app, people, server):
    server.start()
    _give_task(mail_app, "lucrecia", "Check the shelter roster")
    _give_task(mail_app, "lucrecia", "Sign the monthly report")  # waits for the interval
    with mail_app.test_request_context():
        notice_ops.mark_all_read(_user("lucrecia"))
        db.session.commit()
    assert "0 sent, 1 with nothing left to tell" in run_cli(mail_app, ["notifications", "send", "--now"]).output
    assert len(server.inbox.messages) == 1


def test_smtp_down_the_request_succeeds_and_the_digest_goes_once_the_server_is_back(mail_app, people, server,
                                                                                     caplog):
    caplog.set_level(logging.INFO)
    teodora = signed_in(mail_app, "teodora")
    with mail_app.app_context():
        lucrecia_id = _user("lucrecia").id
    response = teodora.post(f"/cases/{people.case_id}/tasks", {
        "title": "Call the lawyer", "due_on": (date.today() + timedelta(days=3)).isoformat(),
        "priority": "normal", "assignee_id": str(lucrecia_id)}, token_page=f"/cases/{people.case_id}/tasks")
    assert response.status_code == 302  # the change is saved, whatever the mail server does
    mail.sender(mail_app).wait()
    with mail_app.app_context():
        (row,) = _outbox()
        assert (row.status, row.attempts, row.sent_at) == ("waiting", 1, None)
        assert row.last_error == "ConnectionRefusedError"
        assert row.send_after > utcnow()
    assert f"notice digest {row.id} not sent (attempt 1, ConnectionRefusedError)" in caplog.text
    assert ADDRESS not in caplog.text and "lucrecia" not in caplog.text.lower()

    server.start()
    assert "0 sent" in run_cli(mail_app, ["notifications", "send"]).output  # the retry is not due yet
    assert "1 sent" in run_cli(mail_app, ["notifications", "send", "--now"]).output
    assert [r for r, _raw in server.inbox.messages] == [[ADDRESS]]
    _assert_names_no_one(server.inbox.messages[0][1], people)
    with mail_app.app_context():
        assert [(r.status, r.attempts) for r in _outbox()] == [("sent", 1)]


def test_a_mail_server_that_never_answers_does_not_hold_the_request(mail_app, people, smtp_port):
    """It accepts the connection and says nothing: the page answers at once, the sender gives up after its
    timeout and the digest waits."""
    with socket.socket() as silent:
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the last test's server has just left it
        silent.bind(("127.0.0.1", smtp_port))
        silent.listen()
        teodora = signed_in(mail_app, "teodora")
        with mail_app.app_context():
            lucrecia_id = _user("lucrecia").id
        started = time.monotonic()
        response = teodora.post(f"/cases/{people.case_id}/tasks", {
            "title": "Call the lawyer", "due_on": (date.today() + timedelta(days=3)).isoformat(),
            "priority": "normal", "assignee_id": str(lucrecia_id)}, token_page=f"/cases/{people.case_id}/tasks")
        answered = time.monotonic() - started
        assert response.status_code == 302
        assert answered < SMTP_TIMEOUT - 1  # the SMTP timeout would have been spent here had it waited
        mail.sender(mail_app).wait(timeout=SMTP_TIMEOUT * 3)
    with mail_app.app_context():
        (row,) = _outbox()
        assert (row.status, row.attempts) == ("waiting", 1)


# STARTTLS and a login, as a real relay asks for them --------------------------------------------------------------

def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_starttls_and_login_with_the_password_from_the_environment(backend, tmp_path):
    cert_file, key_file = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    logins = []

    def authenticate(_server, _session, _envelope, mechanism, auth_data):
        logins.append((mechanism, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"relay-user" and auth_data.password == b"s3cret-relay")

    port = free_port()
    server = SmtpServer(port, tls_context=tls, require_starttls=True, authenticator=authenticate,
                        auth_require_tls=True)
    server.start()
    app_gen = built_app(backend, tmp_path / "instance", "mailtls", SMTP_HOST="localhost", SMTP_PORT=port,
                        SMTP_SECURITY="starttls", SMTP_FROM=SENDER, PUBLIC_URL=SITE, SMTP_USER="relay-user",
                        SMTP_PASSWORD="s3cret-relay", SMTP_CA_FILE=str(cert_file))
    (tmp_path / "instance").mkdir()
    application = next(app_gen)
    try:
        assert "s3cret-relay" not in repr(application.config["SETTINGS"])
        with application.test_request_context():
            org = factories.organisation("Casa Esperanza")
            lucrecia = factories.user(org, "supervisor", "lucrecia")
            teodora = factories.user(org, "caseworker", "teodora")
            notice_ops.set_email_preferences(lucrecia, ADDRESS, True)
            tasks.create_task(teodora, None, {"title": "Check the roster", "due_on": date.today(),
                                              "assignee_id": lucrecia.id})
            db.session.commit()
        mail.sender(application).wait()
        assert logins and logins[-1][1:] == (b"relay-user", b"s3cret-relay")
        assert [r for r, _raw in server.inbox.messages] == [[ADDRESS]]
    finally:
        server.stop()
        mail.sender(application).wait()
        next(app_gen, None)
