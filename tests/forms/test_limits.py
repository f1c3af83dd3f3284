"""Issue 16, item 4: a text over a field's limit is refused by the server with a message on its field (422), the
whole text kept in the form to be shortened, nothing saved. forms.js lifts the browser's maxlength (which cut pasted
text without a word) and counts instead, so the server's check is what holds the limit: every free-text field of
every form has one, and every maxlength a page shows is that check's."""

from __future__ import annotations

import html as html_lib
import importlib
import importlib.resources
import inspect
import json
import pkgutil
import re

import pytest
from sqlalchemy import func, select
from wtforms import Form, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length, Regexp

import casemgmt
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.families.models import FamilyMember
from casemgmt.intake.models import Contact
from casemgmt.residence.models import ProtectionStatus
from tests import factories
from tests.families.support import MOTHER, as_user, form_data


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _refused(response, field: str, text: str, limit: int) -> str:
    """The page answers 422, says on the field what the limit is, and gives back the whole text."""
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:400]
    errors = re.search(rf'id="{field}-errors">([^<]*)<', page)
    assert errors and errors.group(1) == f"Field cannot be longer than {limit} characters.", errors
    assert html_lib.escape(text) in page  # kept, whole, to be shortened
    assert re.search(rf'<(input|textarea)[^>]*id="{field}"[^>]*maxlength="{limit}"', page)  # what forms.js counts
    return page


def _case_data(**changes) -> dict:
    values = factories.case_values()
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()
            if v is not None and v is not False}
    data["status"] = "active"
    return {**data, **changes}


@pytest.mark.parametrize(("field", "limit"), [("given_name", 120), ("aliases", 300), ("narrative", 20000)])
def test_a_new_case_with_a_text_over_its_limit_is_refused_and_kept(app, web, w, field, limit):
    web.login("caseworker")
    text = "Ñ" * (limit - 5) + "ü🙂" * 10  # letters a byte-counting or UTF-16 limit would count differently
    _refused(web.post("/cases/new", _case_data(**{field: text})), field, text, limit)
    assert _count(app, Case) == 0


def test_a_case_edit_over_the_limit_changes_nothing(app, web, w):
    with app.app_context():
        case = factories.case(w.caseworker, assigned_to_id=w.caseworker.id)
        case_id, version = case.id, case.version
    web.login("caseworker")
    text = "Valentina " * 15  # 150 characters in a 120-character field
    _refused(web.post(f"/cases/{case_id}/edit", _case_data(given_name=text, version=str(version))), "given_name",
             text, 120)
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.version == version and unseal(case.person, "given_name") == "María José"


def test_a_line_break_counts_as_the_two_characters_a_browser_sends(app, web, w):
    # A text area's line break arrives as CR LF: forms.js counts it as two, as this check does.
    web.login("caseworker")
    text = "a\r\n" * 167  # 501 characters
    _refused(web.post("/cases/new", _case_data(address=text)), "address", text, 500)
    assert _count(app, Case) == 0


def test_a_family_member_over_the_limit_is_refused_and_kept(app, scene):
    web = as_user(app, "caseworker")
    text = "Mirlande" * 26  # 208 characters in a 200-character field
    _refused(web.post(f"/cases/{scene.case_id}/family/new", form_data({**MOTHER, "given_name": text})),
             "given_name", text, 200)
    assert _count(app, FamilyMember) == 0


def test_a_protection_status_with_a_long_agency_is_refused_and_kept(app, web, w):
    with app.app_context():
        case_id = factories.case(w.caseworker).id
    web.login("caseworker")
    text = "USCIS Vermont Service Center " * 5  # 145 characters in a 120-character field
    response = web.post(f"/cases/{case_id}/stay/status/new", {
        "country": "US", "kind": "t_visa", "state": "applied", "applied_on": "2024-01-10",
        "certifying_agency": text})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Name the certifying agency in at most 120 characters" in page  # its own, clearer message
    assert html_lib.escape(text) in page
    assert _count(app, ProtectionStatus) == 0


@pytest.mark.parametrize(("field", "limit"), [("caller_name", 120), ("summary", 5000)])
def test_an_intake_contact_over_the_limit_is_refused_and_kept(app, web, w, field, limit):
    web.login("hotline")
    text = "x" * (limit + 43)
    _refused(web.post("/intake/contacts/new", {"channel": "phone", "call_type": "tip", field: text}),
             field, text, limit)
    assert _count(app, Contact) == 0


def _forms() -> list[type[Form]]:
    found = []
    for module in pkgutil.walk_packages(casemgmt.__path__, "casemgmt."):
        if module.name.endswith(".forms"):
            loaded = importlib.import_module(module.name)
            found += [cls for cls in vars(loaded).values()
                      if inspect.isclass(cls) and issubclass(cls, Form) and cls.__module__ == loaded.__name__]
    return found


def test_every_free_text_field_has_a_limit_the_server_checks():
    """A field without a Length(max) would show no counter and accept any text; a phone or a code is held by an
    anchored pattern instead (Regexp "^...$")."""
    unbounded = []
    for form in _forms():
        for name in dir(form):
            unbound = getattr(form, name, None)
            if not isinstance(unbound, UnboundField) or unbound.field_class not in (StringField, TextAreaField):
                continue
            validators = unbound.kwargs.get("validators") or (unbound.args[1] if len(unbound.args) > 1 else [])
            bounded = [v for v in validators if (isinstance(v, Length) and v.max > 0) or (
                isinstance(v, Regexp) and v.regex.pattern.startswith("^") and v.regex.pattern.endswith("$"))]
            if not bounded:
                unbounded.append(f"{form.__module__}.{form.__name__}.{name}")
    assert len(_forms()) > 50
    assert unbounded == []


def test_the_hand_written_maxlengths_match_their_forms_limits():
    """A few templates write their text areas by hand: their maxlength must be the form's Length, or the counter
    and the server would disagree."""
    from casemgmt.referrals.forms import DecisionForm, DeclineForm

    limits = {"decline_reason": DeclineForm.decline_reason, "decision_note": DecisionForm.decision_note}
    root = importlib.resources.files("casemgmt") / "templates"
    written = 0
    for path in ("referrals/inbox.html", "referrals/case_index.html"):
        source = (root / path).read_text()
        for name, limit in re.findall(r'<textarea[^>]*name="(\w+)"[^>]*maxlength="(\d+)"', source):
            lengths = [v.max for v in limits[name].kwargs["validators"] if isinstance(v, Length)]
            assert lengths == [int(limit)], (path, name)
            written += 1
    assert written == 3


def test_the_strings_and_library_forms_js_is_given(app):
    from flask import render_template_string

    with app.test_request_context("/"):
        attribute = render_template_string('{% from "macros.html" import forms_config %}<p {{ forms_config() }}>')
    config = json.loads(html_lib.unescape(re.search(r"data-forms='([^']*)'", attribute).group(1)))
    assert config["counter"] == "{count} / {limit}"
    assert config["overOne"] == "{count} character over the limit of {limit}"
    assert config["overOther"] == "{count} characters over the limit of {limit}"
    assert config["noResults"] == "No results found" and config["remove"] == "Remove"
    client = app.test_client()
    for url in (config["tomSelectJs"], config["tomSelectCss"]):
        response = client.get(url)
        assert response.status_code == 200 and len(response.data) > 10_000
        assert b"sourceMappingURL" not in response.data  # the maps are not shipped: no 404 for them
