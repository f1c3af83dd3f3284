"""The referral page offers only what the operations accept: each offered option goes through, each left out is still
refused by the operation with its own message."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.referrals import operations
from casemgmt.referrals.models import Referral, Transfer
from tests.referrals.conftest import new_case

DANGER = "The trafficker found the shelter; she must leave the country tonight."
CHILD = {"date_of_birth": date(date.today().year - 12, 1, 1), "age_band": "9-17"}


class _Options(HTMLParser):
    """The options of every select inside each <form class="... name-form ...">, by form class and field name."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict[str, list[str]]] = {}
        self._form: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = next((c for c in (attrs.get("class") or "").split() if c.endswith("-form")), None)
            if self._form:
                self.forms.setdefault(self._form, {})
        elif tag == "select" and self._form:
            self._select = attrs["name"]
            self.forms[self._form][self._select] = []
        elif tag == "option" and self._select and attrs.get("value"):
            self.forms[self._form][self._select].append(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def _page(web, case_id) -> tuple[str, dict[str, dict[str, list[str]]]]:
    response = web.get(f"/cases/{case_id}/referrals")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    parser = _Options()
    parser.feed(html)
    return html, parser.forms


def _refer(web, case_id, to_org, basis):
    return web.post(f"/cases/{case_id}/referrals", {
        "to_organisation_id": str(to_org), "reason": "Other", "consent_basis": basis, "override_reason": DANGER})


def _request(web, case_id, to_org, basis):
    token = web.token("/account")
    data = {"to_organisation_id": str(to_org), "transfer_reason": "She moves to Bogotá.", "consent_basis": basis,
            "override_reason": DANGER, "csrf_token": token}
    return web.post(f"/cases/{case_id}/transfers", {f"transfer-{k}": v for k, v in data.items()})


def _refusal(app, w, case_id, verb, basis) -> str:
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        actor = db.session.get(type(w.caseworker), w.caseworker.id)
        with pytest.raises(operations.ReferralError) as refused:
            if verb == "refer":
                operations.create_referral(actor, case, w.mission_org.id, "Other", consent_basis=basis,
                                           override_reason=DANGER)
            else:
                operations.request_transfer(actor, case, w.mission_org.id, "She moves.", consent_basis=basis,
                                            override_reason=DANGER)
        db.session.rollback()
        return str(refused.value)


FACTS = (  # what the record shows -> the bases the operations accept
    ({"consent": False}, ["imminent_danger"]),
    ({"consent": True}, ["consent", "imminent_danger"]),
    ({"consent": False, **CHILD}, ["minor", "imminent_danger"]),
    ({"consent": True, **CHILD}, ["consent", "minor", "imminent_danger"]),
)
REFUSALS = {"consent": "No consent to share this case is on record",
            "minor": "The record does not show this person as a child (under 18) today"}


@pytest.mark.parametrize("verb", ["refer", "transfer"])
def test_only_the_bases_the_operation_accepts_are_offered(app, web, w, verb):
    web.login("caseworker")
    form, field, post = (("referral-form", "consent_basis", _refer) if verb == "refer"
                         else ("transfer-form", "transfer-consent_basis", _request))
    for facts, expected in FACTS:
        probe = new_case(app, w.caseworker, **facts)
        html, forms = _page(web, probe)
        assert forms[form][field] == expected, facts
        if "consent" not in expected:
            assert REFUSALS["consent"] in html  # the page says why consent is not offered
        for basis in expected:  # each offered basis goes through, on a case with the same facts
            case_id = new_case(app, w.caseworker, **facts)
            assert post(web, case_id, w.mission_org.id, basis).status_code == 302, (facts, basis)
        for basis in set(REFUSALS) - set(expected):  # each left out is refused, by the form and the operation
            response = post(web, probe, w.mission_org.id, basis)
            assert response.status_code == 422
            assert REFUSALS[basis] in response.get_data(as_text=True).replace("&#39;", "'")
            assert _refusal(app, w, probe, verb, basis).startswith(REFUSALS[basis])
    with app.app_context():
        made = Referral if verb == "refer" else Transfer
        assert len(db.session.scalars(select(made)).all()) == sum(len(expected) for _, expected in FACTS)


def test_no_form_is_offered_when_every_basis_would_be_refused(app, web, w, monkeypatch):
    case_id = new_case(app, w.caseworker, consent=False)
    refused = {"consent": "No consent is recorded.", "minor": "Not a minor.", "imminent_danger": "No danger."}
    monkeypatch.setattr(operations, "refused_bases", lambda case: refused)
    web.login("caseworker")
    html, forms = _page(web, case_id)
    assert "referral-form" not in forms and "transfer-form" not in forms
    assert "This case cannot be referred or transferred yet:" in html
    assert all(reason in html for reason in refused.values())
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        with pytest.raises(operations.ReferralError, match="No danger"):
            operations.create_referral(w.caseworker, case, w.mission_org.id, "Other",
                                       consent_basis="imminent_danger", override_reason=DANGER)


def test_a_waiting_transfer_is_shown_instead_of_the_transfer_form(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _, forms = _page(web, case_id)
    assert str(w.ngo2.id) in forms["transfer-form"]["transfer-to_organisation_id"]
    assert _request(web, case_id, w.ngo2.id, "consent").status_code == 302
    html, forms = _page(web, case_id)
    assert "transfer-form" not in forms
    assert "The transfer to Camino Seguro requested on" in html and "is waiting for a decision" in html
    second = _request(web, case_id, w.mission_org.id, "consent")
    assert second.status_code == 422 and "already waiting for a decision" in second.get_data(as_text=True)
    shown = _Options()
    shown.feed(second.get_data(as_text=True))
    assert "transfer-form" not in shown.forms
    assert _refusal(app, w, case_id, "transfer", "consent") == (
        "A transfer of this case is already waiting for a decision.")
    with app.app_context():
        waiting = db.session.scalar(select(Transfer).where(Transfer.case_id == case_id))
    assert web.post(f"/cases/{case_id}/transfers/{waiting.id}/cancel",
                    token_page=f"/cases/{case_id}/referrals").status_code == 302
    html, forms = _page(web, case_id)  # withdrawn: a transfer may be requested again
    assert "transfer-form" in forms and "is waiting for a decision" not in html
    assert _request(web, case_id, w.mission_org.id, "consent").status_code == 302


def test_organisations_with_an_open_referral_are_not_offered(app, web, w):
    case_id = new_case(app, w.caseworker)
    web.login("caseworker")
    _, forms = _page(web, case_id)
    assert forms["referral-form"]["to_organisation_id"] == [str(w.ngo2.id), str(w.mission_org.id)]
    assert _refer(web, case_id, w.mission_org.id, "consent").status_code == 302
    html, forms = _page(web, case_id)
    assert forms["referral-form"]["to_organisation_id"] == [str(w.ngo2.id)]  # offered, and accepted
    again = _refer(web, case_id, w.mission_org.id, "consent")
    assert again.status_code == 422 and "This case is already referred to IOM Haiti." in again.get_data(as_text=True)
    assert _refusal(app, w, case_id, "refer", "consent") == "This case is already referred to IOM Haiti."
    assert _refer(web, case_id, w.ngo2.id, "consent").status_code == 302
    html, forms = _page(web, case_id)  # none left: the page says so instead of showing the form
    assert "referral-form" not in forms
    assert "Every other organisation already has a pending or accepted referral of this case." in html
    assert "transfer-form" in forms  # a transfer is another matter
    # A referral that ends (revoked here) frees its organisation for a new one.
    with app.app_context():
        mission = db.session.scalar(select(Referral).where(Referral.to_organisation_id == w.mission_org.id))
    assert web.post(f"/cases/{case_id}/referrals/{mission.id}/revoke",
                    token_page=f"/cases/{case_id}/referrals").status_code == 302
    _, forms = _page(web, case_id)
    assert forms["referral-form"]["to_organisation_id"] == [str(w.mission_org.id)]
    assert _refer(web, case_id, w.mission_org.id, "consent").status_code == 302
