"""Every record `casemgmt demo` and `casemgmt synth` make passes the validation of the form a user saves it with.

Issue 11, finding 9: 15 of 38 demo phone numbers (e.g. "670.887.8531x62448") failed the case form's phone check,
so those cases could not be saved until the phone was retyped. See tests/demo/form_checks.py for how each record is
put back through its form. The data does not depend on the database, so one backend (SQLite) is enough.
"""

from __future__ import annotations

import pytest

from casemgmt.extensions import db
from casemgmt.synth import build
from tests import factories
from tests.conftest import make_test_app
from tests.demo.form_checks import refusals

DEMO_CASES = 50  # the demo's default
SYNTH_CASES = 30


def _check(app) -> None:
    checked, refused = {}, []
    for table, count, found in refusals(app):
        checked[table] = count
        refused += found
    assert not refused, f"{len(refused)} values the forms refuse:\n" + "\n".join(map(str, refused[:40]))
    # Each kind of record the generators make was checked (a check that found nothing would prove nothing).
    assert checked["cases"] and checked["contacts"] and checked["consent_records"], checked
    return checked


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    app = make_test_app(tmp_path_factory.mktemp("demo-forms"), None)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--cases", str(DEMO_CASES), "--password",
                                                    "quartz-meadow-lantern-orbit-71"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def synth_app(tmp_path_factory):
    app = make_test_app(tmp_path_factory.mktemp("synth-forms"), None)
    with app.app_context():
        db.create_all()
        build(SYNTH_CASES, seed=11, password=factories.PASSWORD)  # "now" is today: the forms judge dates by it
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_every_demo_record_passes_its_form(demo_app):
    checked = _check(demo_app)
    assert checked["cases"] == DEMO_CASES


def test_every_synth_record_passes_its_form(synth_app):
    checked = _check(synth_app)
    assert checked["cases"] == SYNTH_CASES
