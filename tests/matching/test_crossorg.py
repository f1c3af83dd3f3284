"""Issue 13, item 4: a person registered by one organisation is looked for in the others' cases by the sweep, and
only the holder of a strong match is told (matching.crossorg). Real database, real encryption, real notices."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from casemgmt.accounts.models import Organisation
from casemgmt.audit.models import AuditEvent
from casemgmt.cases import operations as cases
from casemgmt.crypto import fields as crypto_fields
from casemgmt.extensions import db
from casemgmt.matching import crossorg
from casemgmt.matching.models import CrossCheck
from casemgmt.notifications.models import Notification
from tests import factories

HELD = {"given_name": "Lucía", "family_name": "Rojas Pari", "date_of_birth": date(2001, 5, 6),
        "phone": "+57 300 555 0101", "document_number": "CO-88123456", "aliases": ""}


def _values(**overrides) -> dict:
    # Nothing of the factory's default person: each test says who it registers.
    base = {"given_name": None, "family_name": None, "aliases": "", "date_of_birth": None, "phone": None,
            "document_number": None, "address": None}
    return {**base, **overrides}


def _held(world, **overrides):
    """Camino Seguro (the second NGO) holds the person."""
    return factories.case(world.caseworker2, **_values(**{**HELD, **overrides}))


def _register(world, **values):
    """Casa Esperanza (the first NGO) registers someone."""
    return factories.case(world.caseworker, **_values(**values))


def _notices(kind: str = crossorg.KIND) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_creating_a_case_only_queues_it(ctx, world):
    held = _held(world)
    mine = _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    assert db.session.get(CrossCheck, mine.id) is not None
    assert db.session.get(CrossCheck, held.id) is not None
    # Nothing is looked at, nobody is told, until the sweep runs.
    assert _notices() == [] and _events("match.cross_check") == []


@pytest.mark.parametrize("probe", [
    {"given_name": "Lucia", "family_name": "Rojas Pari", "date_of_birth": date(2001, 5, 6)},  # accents dropped
    {"given_name": "Rojas", "family_name": "Lucía", "date_of_birth": date(2001, 6, 5)},  # swapped and swapped
    {"given_name": "Lucía", "family_name": "Rojas", "phone": "+57 300 555 0101"},  # a surname dropped, the phone
    {"given_name": "Lucia", "family_name": "Rojas Pari", "document_number": "co 88123456"},
])
def test_a_strong_match_tells_the_holders_supervisors_and_nobody_else(ctx, world, probe):
    held = _held(world)
    crossorg.run_pending()  # the holder's own case has been checked: nothing elsewhere
    assert _notices() == []
    mine = _register(world, **probe)
    report = crossorg.run_pending()
    assert (report.checked, report.failed, report.notices) == (1, 0, 1)
    [notice] = _notices()
    # To the holder's supervisor, about the holder's own case, naming the registering organisation by id only.
    assert notice.user_id == world.supervisor2.id
    assert (notice.case_id, notice.object_type, notice.object_id) == (held.id, "organisation", str(world.ngo.id))
    assert notice.link == "/matching/"
    assert db.session.get(CrossCheck, mine.id) is None  # worked off
    # Audited on both sides with counts only; the registering side's event has no result at all.
    [ran] = [e for e in _events("match.cross_check") if e.case_id == mine.id]
    assert (ran.subject_organisation_id, json.loads(ran.details)) == (world.ngo.id, {})
    [told] = _events("match.cross_organisation")
    assert told.subject_organisation_id == world.ngo2.id and told.organisation_id is None
    assert json.loads(told.details) == {"cases_matched": 1, "newly_notified": 1}
    assert mine.id not in told.details and held.id not in told.details


@pytest.mark.parametrize("probe", [
    {"given_name": "Lucía", "family_name": "Rojas Pari", "birth_year": 2001},  # a year is not a date
    {"given_name": "Desconocida", "phone": "+57 300 555 0101"},  # the phone without the name
    {"given_name": "Desconocida", "document_number": "CO-88123456"},  # the document without the name
    {"given_name": "Lucía", "family_name": "Rojas Pari", "date_of_birth": date(1990, 1, 1)},  # another person
])
def test_a_weak_or_partial_match_tells_nobody(ctx, world, probe):
    _held(world)
    _register(world, **probe)
    report = crossorg.run_pending()
    assert report.checked == 2 and report.notices == 0
    assert _notices() == [] and _events("match.cross_organisation") == []
    assert len(_events("match.cross_check")) == 2


def test_one_notice_per_pair_however_often_it_is_checked_again(ctx, world):
    held = _held(world)
    mine = _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    crossorg.run_pending()
    assert len(_notices()) == 1
    # A change that is not about who the person is queues nothing.
    cases.update_case(world.caseworker, mine, {"narrative": "Met at the bus terminal."}, mine.version)
    db.session.commit()
    assert db.session.get(CrossCheck, mine.id) is None
    # A new phone is: the person is looked for again, the holder is not told twice.
    cases.update_case(world.caseworker, mine, {"phone": "+51 955 000 111"}, mine.version)
    db.session.commit()
    assert db.session.get(CrossCheck, mine.id) is not None
    crossorg.run_pending()
    assert len(_notices()) == 1
    assert json.loads(_events("match.cross_organisation")[-1].details) == {"cases_matched": 1, "newly_notified": 0}
    # Another registration of the same person is another pair.
    _register(world, given_name="Lucía", family_name="Rojas", date_of_birth=date(2001, 5, 6))
    crossorg.run_pending()
    assert [n.case_id for n in _notices()] == [held.id, held.id]


def test_every_supervisor_of_the_holder_is_told(ctx, world):
    second = factories.user(world.ngo2, "supervisor", "supervisor2b")
    _held(world)
    _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    crossorg.run_pending()
    assert sorted(n.user_id for n in _notices()) == sorted([world.supervisor2.id, second.id])


def test_a_case_already_shared_with_the_registering_organisation_is_not_told(ctx, world):
    held = _held(world)
    factories.accepted_referral(held, world.ngo, responded_by=world.caseworker)
    db.session.commit()
    _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    crossorg.run_pending()
    assert _notices() == []


def test_erased_cases_are_neither_looked_at_nor_looked_for(ctx, world):
    held = _held(world)
    crossorg.run_pending()
    cases.erase_case(world.supervisor2, held)
    db.session.commit()
    first = _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    crossorg.run_pending()
    assert _notices() == []
    # A registration erased before the sweep leaves the queue with it, and is found by nobody's check.
    again = _held(world)
    mine = _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    cases.erase_case(world.supervisor, mine)
    db.session.commit()
    assert db.session.get(CrossCheck, mine.id) is None
    crossorg.run_pending()
    # `again` (Camino Seguro's, later) matches Casa Esperanza's `first`, not the erased one.
    assert [n.case_id for n in _notices()] == [first.id]
    assert db.session.get(CrossCheck, again.id) is None


def test_a_failing_check_is_counted_and_does_not_block_the_others(ctx, world):
    held = _held(world)
    broken = _register(world, given_name="Ana", family_name="Broken", date_of_birth=date(1990, 1, 1))
    crypto_fields.shred(broken.id)  # its person cannot be decrypted any more, yet the case is not erased
    db.session.commit()
    _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    report = crossorg.run_pending()
    assert (report.checked, report.failed) == (2, 1)  # the holder's own case and the good one
    assert [n.case_id for n in _notices()] == [held.id]
    assert db.session.get(CrossCheck, broken.id).attempts == 1
    total = crossorg.run_all()
    for _ in range(crossorg.MAX_ATTEMPTS):
        total = crossorg.run_all()
    assert total.stuck == [broken.id]
    assert db.session.get(CrossCheck, broken.id).attempts == crossorg.MAX_ATTEMPTS


def test_a_case_queued_again_during_its_check_stays_queued(ctx, world):
    mine = _register(world, given_name="Ana", family_name="Quispe", date_of_birth=date(1990, 1, 1))
    seen = db.session.get(CrossCheck, mine.id).queued_at
    checked = crossorg.Checked(mine.id, seen, world.ngo.id, {})
    cases.update_case(world.caseworker, mine, {"phone": "+51 955 000 222"}, mine.version)  # queued again
    db.session.flush()
    crossorg._write([checked], [], [], crossorg.Report())
    db.session.commit()
    assert db.session.get(CrossCheck, mine.id) is not None  # the newer values wait for their own check


def test_the_holder_reads_who_registered_and_how_to_reach_them(app, ctx, world, web):
    db.session.get(Organisation, world.ngo.id).contact = "+51 1 555 0100, coordinacion@casa.example"
    held = _held(world)
    mine = _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    crossorg.run_pending()
    held_ref, mine_ref = held.reference, mine.reference
    web.login("supervisor2")
    page = web.get("/matching/").get_data(as_text=True)
    assert (f"Casa Esperanza registered a person who matches your case {held_ref}; contact them if the "
            "person&#39;s consent allows.") in page
    assert "coordinacion@casa.example" in page
    assert mine_ref not in page and "Lucia" not in page
    listed = web.get("/notifications").get_data(as_text=True)
    # The work list names the registering organisation too (notifications.queries.rows).
    assert f"Casa Esperanza registered a person who matches your case {held_ref}" in listed
    assert mine_ref not in listed
    # The registering organisation's supervisor is told nothing.
    web.logout()
    web.login("supervisor")
    assert "No other organisation has registered" in web.get("/matching/").get_data(as_text=True)
    assert "Another organisation registered" not in web.get("/notifications").get_data(as_text=True)


def test_the_sweep_command_works_the_queue_off(app, ctx, world):
    _held(world)
    _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    result = app.test_cli_runner().invoke(args=["notifications", "sweep"])
    assert result.exit_code == 0, result.output
    assert "2 new or changed cases looked for in other organisations, 1 notices" in result.output
    assert db.session.scalars(select(CrossCheck)).all() == []
    assert len(_notices()) == 1


def test_when_both_wait_in_the_queue_only_the_earlier_holder_is_told(ctx, world):
    """Registering a probe just after another organisation registered someone must not tell the prober: the later
    registration tells the earlier holder, never the other way round."""
    held = _held(world)
    _register(world, given_name="Lucia", family_name="Rojas Pari", date_of_birth=date(2001, 5, 6))
    crossorg.run_pending()  # both in one batch, the earlier first
    assert [(n.user_id, n.case_id) for n in _notices()] == [(world.supervisor2.id, held.id)]


def test_the_demo_pair_tells_the_first_organisations_supervisor(ctx, world):
    import random

    from casemgmt.matching import demo

    held = factories.case(world.caseworker, **_values(given_name="María José", family_name="Quispe Mamani",
                                                        date_of_birth=date(1999, 4, 12)))
    factories.case(world.caseworker2, **_values(given_name="Otra", family_name="Persona",
                                                date_of_birth=date(1980, 1, 1)))
    registered = demo.finish({"caseworker": world.caseworker, "caseworker2": world.caseworker2}, random.Random(1))
    assert registered.organisation_id == world.ngo2.id
    assert [(n.user_id, n.case_id) for n in _notices()] == [(world.supervisor.id, held.id)]
    assert db.session.scalars(select(CrossCheck)).all() == []
