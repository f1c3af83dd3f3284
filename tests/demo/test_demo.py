"""`casemgmt demo` builds a usable demo: three organisations, six users with the right roles, cases in several
stages, printed credentials, an intact audit chain; and it refuses weak passphrases and a second run."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select

from casemgmt.accounts.models import Organisation, User
from casemgmt.cases import age
from casemgmt.cases.models import Case, Person
from casemgmt.extensions import db
from casemgmt.shelter.models import Facility
from tests.conftest import Web, make_test_app

PASSPHRASE = "quartz-meadow-lantern-orbit-71"

EXPECTED_USERS = {
    # username: (role, organisation type, which NGO: 0 first, 1 second, None for the mission)
    "install": ("installation_admin", "NGO", 0),
    "admin": ("administrator", "NGO", 0),
    "hotline": ("hotline_operator", "NGO", 0),
    "caseworker": ("caseworker", "NGO", 0),
    "supervisor": ("supervisor", "NGO", 0),
    "caseworker2": ("caseworker", "NGO", 1),
    "mission": ("mission_staff", "Intergovernmental", None),
    # Supervisors of the second NGO and the mission, so their returns and closures can be approved in the demo.
    "supervisor2": ("supervisor", "NGO", 1),
    "missionlead": ("supervisor", "Intergovernmental", None),
    # Finance officers approve and pay the emergency fund's requests (issue 14).
    "finance": ("finance_officer", "NGO", 0),
    "finance3": ("finance_officer", "Intergovernmental", None),
}


@dataclass
class Demo:
    app: Flask
    output: str


def _fresh_app(tmp_path) -> Flask:
    return make_test_app(tmp_path, None)


def _cli(app: Flask, *args: str):
    # The commands are plain click commands added to app.cli: the `casemgmt` FlaskGroup pushes the app context
    # for them, app.cli on its own does not, so the test pushes it as the console script would.
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def _demo(app: Flask, *args: str):
    return _cli(app, "demo", *args)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    app = _fresh_app(tmp_path_factory.mktemp("demo"))
    result = _demo(app, "--cases", "12", "--password", PASSPHRASE)
    assert result.exit_code == 0, result.output
    yield Demo(app=app, output=result.output)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_three_organisations(demo):
    with demo.app.app_context():
        orgs = db.session.scalars(select(Organisation).order_by(Organisation.id)).all()
    assert len(orgs) == 3
    ngos = [o for o in orgs if o.org_type == "NGO"]
    igos = [o for o in orgs if o.org_type == "Intergovernmental"]
    assert len(ngos) == 2 and len(igos) == 1
    assert ngos[0].country != ngos[1].country


def test_users_have_the_right_roles_and_organisations(demo):
    with demo.app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        ngos = db.session.scalars(
            select(Organisation).where(Organisation.org_type == "NGO").order_by(Organisation.id)
        ).all()
        assert set(users) == set(EXPECTED_USERS)
        for username, (role, org_type, ngo_index) in EXPECTED_USERS.items():
            user = users[username]
            assert user.role == role, username
            assert user.active, username
            assert user.organisation.org_type == org_type, username
            if ngo_index is not None:
                assert user.organisation_id == ngos[ngo_index].id, username


def test_credentials_are_printed(demo):
    for username in EXPECTED_USERS:
        assert re.search(rf"\b{username}\s+{re.escape(PASSPHRASE)}\s*$", demo.output, re.MULTILINE), (
            f"no credentials line for {username}:\n{demo.output}"
        )


def test_the_printed_credentials_log_in(demo):
    web = Web(demo.app.test_client())
    response = web.login("caseworker", PASSPHRASE)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert web.get("/cases/").status_code == 200


def test_cases_exist_across_several_stages(demo):
    with demo.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 12
        stages = dict(db.session.execute(select(Case.stage, func.count()).group_by(Case.stage)).all())
        organisations = db.session.scalar(select(func.count(func.distinct(Case.organisation_id))))
    assert len(stages) >= 3, stages
    assert organisations >= 2


def test_ages_come_from_dates_of_birth_estimates_and_years(demo):
    """Some people are known by an estimated age, and one 16-year-old by her date of birth only, the box
    "unaccompanied or separated" not ticked: a child by her age alone (issue 12)."""
    with demo.app.test_request_context():
        bases = dict(db.session.execute(select(Person.age_basis, func.count()).group_by(Person.age_basis)).all())
        assert bases.get("exact", 0) > bases.get("estimated", 0) > 0, bases
        sixteen = [c for c in db.session.scalars(select(Case).join(Person).where(Person.age_basis == "exact"))
                   if age.age_on(c).years == 16 and not c.unaccompanied_or_separated]
        assert sixteen and all(age.is_child(c) for c in sixteen)
        assert set(db.session.scalars(select(Facility.age_group))) == {"adults", "both"}


def test_audit_chain_is_intact_afterwards(demo):
    result = _cli(demo.app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output


def test_second_run_without_reset_is_refused(demo):
    result = _demo(demo.app, "--cases", "1", "--password", PASSPHRASE)
    assert result.exit_code != 0
    assert "already has data" in result.output
    with demo.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 12
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 3


def test_weak_password_is_refused(tmp_path):
    app = _fresh_app(tmp_path)
    result = _demo(app, "--cases", "1", "--password", "password1234")
    assert result.exit_code != 0
    assert "too easy to guess" in result.output
    with app.app_context():
        # Refused before anything was written: not even the migrations ran.
        assert "organisations" not in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_without_password_each_account_gets_its_own_passphrase(tmp_path):
    app = _fresh_app(tmp_path)
    result = _demo(app, "--cases", "0")
    assert result.exit_code == 0, result.output
    passphrases = {}
    for username in EXPECTED_USERS:
        match = re.search(rf"\b{username}\s+(\S+)\s*$", result.output, re.MULTILINE)
        assert match, f"no credentials line for {username}:\n{result.output}"
        passphrases[username] = match.group(1)
    assert len(set(passphrases.values())) == len(EXPECTED_USERS)
    web = Web(app.test_client())
    assert web.login("supervisor", passphrases["supervisor"]).status_code == 302
    with app.app_context():
        db.engine.dispose()


def test_reset_starts_over(tmp_path):
    app = _fresh_app(tmp_path)
    assert _demo(app, "--cases", "3", "--password", PASSPHRASE).exit_code == 0
    again = _demo(app, "--cases", "2", "--password", PASSPHRASE, "--reset")
    assert again.exit_code == 0, again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 2
        assert db.session.scalar(select(func.count()).select_from(User)) == len(EXPECTED_USERS)
        db.engine.dispose()
    verify = _cli(app, "audit", "verify")
    assert verify.exit_code == 0, verify.output
