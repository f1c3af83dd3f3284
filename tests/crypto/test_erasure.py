"""Crypto-shredding: erasing a case deletes its data keys and blind indexes; statistics columns remain."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from werkzeug.exceptions import Forbidden, NotFound

from casemgmt.audit.models import AuditEvent
from casemgmt.audit.verify import verify_chain
from casemgmt.cases import operations, queries
from casemgmt.cases.models import Case, Person, StageChange
from casemgmt.crypto import DecryptionError, unseal
from casemgmt.extensions import db
from tests import factories
from tests.cli.support import make_world, request, run_cli, user
from tests.crypto.conftest import forget_keys

SEARCH = "María José Quispe Mamani"


def _state(case_id: str) -> dict:
    db.session.rollback()
    row = db.session.execute(text(
        "SELECT p.gender, p.citizenship, p.age_band, c.stage, c.status, c.trafficking_status, c.erased_at "
        "FROM persons p JOIN cases c ON c.id = p.case_id WHERE c.id = :id"
    ), {"id": case_id}).mappings().one()
    # The blind indexes (matching): rows of person_match_keys, in every index generation.
    index_rows = db.session.execute(text("SELECT count(*) FROM person_match_keys WHERE case_id = :id"),
                                    {"id": case_id}).scalar()
    keys = db.session.execute(text("SELECT count(*) FROM data_keys WHERE case_id = :id"), {"id": case_id}).scalar()
    codes = db.session.execute(text("SELECT count(*) FROM case_codes WHERE case_id = :id"), {"id": case_id}).scalar()
    return {**row, "data_keys": keys, "codes": codes, "index_rows": index_rows}


def _readable(case_id: str) -> bool:
    forget_keys()  # as in a new request
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    try:
        operations.snapshot(case)
        for change in db.session.scalars(select(StageChange).where(StageChange.case_id == case_id)):
            unseal(change, "reason")
    except DecryptionError:
        return False
    return True


def _assert_erased(case_id: str, before: dict) -> None:
    after = _state(case_id)
    assert after["data_keys"] == 0
    assert after["index_rows"] == 0
    assert after["erased_at"] is not None
    # The categorical columns stay for statistics.
    for column in ("gender", "citizenship", "age_band", "stage", "status", "trafficking_status", "codes"):
        assert after[column] == before[column], column
    assert (after["gender"], after["citizenship"]) == ("Feminine", "PE")
    assert after["stage"] in ("intake", "shelter")
    assert not _readable(case_id)
    forget_keys()
    person = db.session.scalar(select(Person).where(Person.case_id == case_id))
    assert person.given_name is not None  # the ciphertext is still there...
    for column in ("given_name", "family_name", "document_number", "phone", "address"):
        with pytest.raises(DecryptionError):  # ...and unreadable for good
            unseal(person, column)
    with pytest.raises(DecryptionError):
        unseal(db.session.get(Case, case_id), "narrative")


def _erase_events(case_id: str) -> list[AuditEvent]:
    db.session.rollback()
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.erase", AuditEvent.case_id == case_id)
    ).all()


def test_erase_case_shreds_keys_and_indexes_and_keeps_statistics(world):
    case = factories.case(world.caseworker)
    operations.change_stage(world.caseworker, case, "shelter", "a reason about the person")
    db.session.commit()
    keep = factories.case(world.caseworker, given_name="María José", family_name="Quispe Mamani")
    case_id, keep_id = case.id, keep.id
    before = _state(case_id)
    assert before["data_keys"] == 1 and before["index_rows"] > 0 and before["codes"] == 5
    assert _readable(case_id)
    # Both cases (same name) are found before the erasure.
    assert {h.case.id for h in queries.search_cases(world.supervisor, SEARCH).hits} == {case_id, keep_id}

    operations.erase_case(world.supervisor, db.session.get(Case, case_id))
    db.session.commit()

    _assert_erased(case_id, before)
    assert _readable(keep_id)  # other cases are untouched
    (event,) = _erase_events(case_id)
    assert (event.actor_id, event.actor_role, event.object_id) == (world.supervisor.id, "supervisor", case_id)
    assert json.loads(event.details) == {"data_keys_deleted": 1}
    assert verify_chain()[1] == []
    assert [h.case.id for h in queries.search_cases(world.supervisor, SEARCH).hits] == [keep_id]
    with pytest.raises(operations.CaseError):
        operations.erase_case(world.supervisor, db.session.get(Case, case_id))
    db.session.rollback()


def test_erased_case_disappears_from_the_pages(app, web):
    make_world(app)
    with request(app):
        gone = factories.case(user("caseworker"))
        keep = factories.case(user("caseworker"))
        gone_id, gone_ref, keep_ref = gone.id, gone.reference, keep.reference
    web.login("supervisor")
    found = web.post("/cases/search", {"term": SEARCH}).get_data(as_text=True)
    assert gone_ref in found and keep_ref in found and "2 matches" in found
    assert web.get(f"/cases/{gone_id}").status_code == 200

    with request(app):
        operations.erase_case(user("supervisor"), db.session.get(Case, gone_id))
        db.session.commit()

    listing = web.get("/cases/").get_data(as_text=True)
    assert gone_ref not in listing and keep_ref in listing
    found = web.post("/cases/search", {"term": SEARCH}).get_data(as_text=True)
    assert gone_ref not in found and keep_ref in found and "1 match" in found
    assert web.get(f"/cases/{gone_id}").status_code == 404


def test_only_the_own_organisations_supervisor_may_erase(world):
    case = factories.case(world.caseworker)
    case_id = case.id
    with pytest.raises(Forbidden):
        operations.erase_case(world.caseworker, db.session.get(Case, case_id))
    with pytest.raises(NotFound):
        operations.erase_case(world.supervisor2, db.session.get(Case, case_id))
    db.session.rollback()
    assert _state(case_id)["data_keys"] == 1 and _readable(case_id)


def test_cli_erase_with_yes(app, world):
    case = factories.case(world.caseworker)
    case_id, reference = case.id, case.reference
    before = _state(case_id)

    result = run_cli(app, ["cases", "erase", reference, "--yes"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"case {reference} erased (0 document files deleted)"
    _assert_erased(case_id, before)
    (event,) = _erase_events(case_id)
    assert (event.actor_name, event.actor_role, event.actor_id) == ("system", "system", None)
    again = run_cli(app, ["cases", "erase", case_id, "--yes"])  # by id this time
    assert again.exit_code == 1 and "already been erased" in again.output


def test_cli_erase_asks_and_no_aborts(app, world):
    case = factories.case(world.caseworker)
    case_id, reference = case.id, case.reference
    before = _state(case_id)

    refused = run_cli(app, ["cases", "erase", reference], input="n\n")

    assert refused.exit_code == 1
    assert f"Erase case {reference}?" in refused.output and "Aborted" in refused.output
    assert _state(case_id) == before
    assert _readable(case_id)
    assert _erase_events(case_id) == []

    confirmed = run_cli(app, ["cases", "erase", reference], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    _assert_erased(case_id, before)


def test_cli_erase_unknown_case(app, world):
    result = run_cli(app, ["cases", "erase", "C-NOSUCH00", "--yes"])
    assert result.exit_code == 1
    assert "no case 'C-NOSUCH00'" in result.output
