"""Issue 15, item 2: a tracing request is matched against the family members and the persons other cases record, on
the matching engine of issue 13 and with its no-oracle rule (families.tracing_match). Real databases, real
encryption, real notices; family members and requests are written as the families operations write them (sealed
fields, then write_member_keys), so these tests do not depend on the pages."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select, text
from werkzeug.exceptions import Forbidden, NotFound

from casemgmt.accounts.models import Organisation
from casemgmt.audit.models import AuditEvent
from casemgmt.cases import operations as case_operations
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.families import tracing_match
from casemgmt.families.match_models import TracingCrossCheck
from casemgmt.families.models import FamilyMember, FamilyMemberKey, TracingRequest
from casemgmt.matching import keys
from casemgmt.matching.generations import Snapshot
from casemgmt.matching.models import IndexGeneration
from casemgmt.notifications import queries as notice_queries
from casemgmt.notifications.models import Notification
from tests import factories
from tests.cli.support import new_root_key, private_database, request, ring, run_cli

SOUGHT = {"given_name": "María Elena", "family_name": "Quispe Mamani", "date_of_birth": date(1975, 3, 14),
          "phone": "+51 987 111 222"}


def _person(**values) -> dict:
    # Nothing of the factory's default person: each test says who the case is about.
    base = {"given_name": "Ana", "family_name": "Torres Vega", "aliases": "", "date_of_birth": date(2010, 1, 2),
            "phone": None, "document_number": None, "address": None}
    return {**base, **values}


def _case(actor, **values) -> Case:
    return factories.case(actor, **_person(**values))


def _member(case: Case, relationship: str = "mother", **values) -> FamilyMember:
    """A family member as families.operations.add_member writes one: sealed fields, then the keys."""
    now = utcnow()
    member = FamilyMember(id=new_uuid(), case_id=case.id, relationship_code=relationship, created_at=now,
                          updated_at=now)
    for name in tracing_match.MEMBER_FIELDS:
        value = values.get(name)
        seal(member, name, value.isoformat() if isinstance(value, date) else value)
    db.session.add(member)
    tracing_match.write_member_keys(member, values)
    db.session.commit()
    return member


def _tracing(actor, case: Case, **sought) -> TracingRequest:
    """A child's case tracing its mother (the values sought), queued as families.operations.open_request does."""
    member = _member(case, "mother", **(sought or SOUGHT))
    found = TracingRequest(id=new_uuid(), case_id=case.id, organisation_id=actor.organisation_id,
                           family_member_id=member.id, reason="unaccompanied", status="open", opened_on=date.today(),
                           opened_by_id=actor.id)
    db.session.add(found)
    tracing_match.enqueue(found)
    db.session.commit()
    return found


def _key_rows(member_id: str) -> set[tuple]:
    return {tuple(r) for r in db.session.execute(
        select(FamilyMemberKey.generation, FamilyMemberKey.kind, FamilyMemberKey.value, FamilyMemberKey.case_id)
        .where(FamilyMemberKey.family_member_id == member_id))}


def _raw(table: str) -> bytes:
    """Every value of the table as the database returns it (ciphertext as bytes)."""
    return b"|".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                     for row in db.session.execute(text(f"SELECT * FROM {table}")) for v in row)  # noqa: S608


def _notices() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.kind == tracing_match.KIND)
                                   .order_by(Notification.id)))


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


# --- keys -------------------------------------------------------------------------------------------------------------


def test_keys_are_rows_without_plaintext_replaced_on_edit_and_gone_on_delete(ctx, world):
    child = _case(world.caseworker)
    member = _member(child, **SOUGHT)
    rows = _key_rows(member.id)
    # One row per key: a phonetic code per name part (alone and with the year), the date, the phone.
    assert {kind for _, kind, _, _ in rows} == {"p", "py", "dob", "ph"}
    assert all(isinstance(value, int) and case_id == child.id for _, _, value, case_id in rows)
    # Nothing readable: the key rows hold integers and kind codes only; the member's own row, ciphertext.
    raw = _raw("family_member_keys") + _raw("family_members")
    for plain in ("Quispe", "quispe", "María", "Maria", "1975-03-14", "987111222", "987 111 222"):
        assert plain.encode() not in raw
    # What the engine would compute, and only that.
    [live] = db.session.scalars(select(IndexGeneration)).all()
    expected = tracing_match.rows_for(member.id, child.id, tracing_match.member_identity(SOUGHT, "PE"), [live])
    assert rows == {(r["generation"], r["kind"], r["value"], r["case_id"]) for r in expected}

    # An edit replaces them (another phone, no date of birth any more).
    edited = {**SOUGHT, "date_of_birth": None, "phone": "+51 955 000 333"}
    tracing_match.write_member_keys(member, edited)
    db.session.commit()
    after = _key_rows(member.id)
    assert {kind for _, kind, _, _ in after} == {"p", "ph"}
    assert [r for r in after if r[1] == "ph"] != [r for r in rows if r[1] == "ph"]
    assert after == {(r["generation"], r["kind"], r["value"], r["case_id"]) for r in tracing_match.rows_for(
        member.id, child.id, tracing_match.member_identity(edited, "PE"), [live])}

    # A removal deletes them; the other members' keys stay.
    other = _member(child, "father", given_name="Juan", family_name="Quispe")
    tracing_match.delete_member_keys(member.id)
    db.session.commit()
    assert _key_rows(member.id) == set() and _key_rows(other.id) != set()
    # An erasure of the case takes every member's.
    tracing_match.delete_case_keys(child.id)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(FamilyMemberKey)) == 0


# --- the tracing page: the user's own organisation --------------------------------------------------------------------


@pytest.mark.parametrize("recorded", [
    {"given_name": "Maria Elena", "family_name": "Quispe Mamani", "date_of_birth": date(1975, 3, 14)},  # no accents
    {"given_name": "María", "family_name": "Mamani Quispe", "date_of_birth": date(1975, 3, 14)},  # order, one name
    {"given_name": "Maria Elena", "family_name": "Quispe", "phone": "987 111 222"},  # a surname dropped, local phone
    {"given_name": "Quispe Mamani", "family_name": "María Elena", "date_of_birth": date(1975, 3, 14)},  # swapped
])
def test_a_member_recorded_on_another_case_of_the_organisation_is_found(ctx, world, recorded):
    child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
    request_ = _tracing(world.caseworker, child)
    sibling = _case(world.caseworker, given_name="Pedro", family_name="Quispe Mamani")
    _member(sibling, "mother", **recorded)
    [found] = tracing_match.own_matches(world.caseworker, request_)
    assert (found.case_reference, found.kind, found.relationship_label) == (sibling.reference, "family_member",
                                                                             "Mother")
    assert found.case_url == f"/cases/{sibling.id}"
    assert found.name == f"{recorded['given_name']} {recorded['family_name']}"
    assert found.strength_label == "Strong match"
    # Audited with a count, never the names.
    [event] = _events("tracing.own_matches")
    assert json.loads(event.details) == {"shown": 1} and event.object_id == request_.id
    assert "Quispe" not in (event.details or "")


def test_a_creole_spelling_is_found(ctx, world):
    child = _case(world.caseworker, given_name="Wilner", family_name="Pierre")
    request_ = _tracing(world.caseworker, child, given_name="Jean-Baptiste", family_name="Pierre Louis",
                        date_of_birth=date(1970, 8, 1))
    cousin = _case(world.caseworker, given_name="Nadège", family_name="Louis")
    _member(cousin, "aunt_uncle", given_name="Jan Batis", family_name="Pyè Louis", date_of_birth=date(1970, 8, 1))
    [found] = tracing_match.own_matches(world.caseworker, request_)
    assert (found.case_reference, found.relationship_label) == (cousin.reference, "Aunt or uncle")
    assert (found.name, found.strength_label) == ("Jan Batis Pyè Louis", "Strong match")


def test_names_alone_are_a_possible_match(ctx, world):
    child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
    request_ = _tracing(world.caseworker, child)
    sibling = _case(world.caseworker, given_name="Pedro", family_name="Quispe Mamani")
    _member(sibling, "mother", given_name="Maria Elena", family_name="Quispe Mamani")  # no date, no phone
    [found] = tracing_match.own_matches(world.caseworker, request_)
    # The names agree and nothing else confirms them: possible, not strong.
    assert (found.case_reference, found.strength_label) == (sibling.reference, "Possible match")


def test_the_person_of_another_case_is_found(ctx, world):
    child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
    request_ = _tracing(world.caseworker, child)
    mother = _case(world.caseworker, given_name="Maria Elena", family_name="Quispe Mamani",
                   date_of_birth=date(1975, 3, 14))
    [found] = tracing_match.own_matches(world.caseworker, request_)
    assert (found.case_reference, found.kind, found.relationship_label, found.strength_label) == (
        mother.reference, "person", "Assisted person", "Strong match")
    assert found.name == "Maria Elena Quispe Mamani"


@pytest.mark.parametrize("other", [
    {"given_name": "Rosa", "family_name": "Quispe Mamani", "date_of_birth": date(1975, 3, 14)},  # a sister, twin
    {"given_name": "María Elena", "family_name": "Quispe Mamani", "date_of_birth": date(1990, 7, 1)},  # namesake
    {"given_name": "Juana", "family_name": "Huamán", "phone": "+51 987 111 222"},  # the phone alone
])
def test_a_different_person_is_not_found(ctx, world, other):
    child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
    request_ = _tracing(world.caseworker, child)
    elsewhere = _case(world.caseworker, given_name="Pedro", family_name="Soto")
    _member(elsewhere, "mother", **other)
    _case(world.caseworker, **other)
    assert tracing_match.own_matches(world.caseworker, request_) == []


def test_the_request_s_own_case_and_removed_members_are_not_matches(ctx, world):
    child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
    request_ = _tracing(world.caseworker, child)
    _member(child, "other_relative", **SOUGHT)  # the same woman twice on the child's own case
    sibling = _case(world.caseworker, given_name="Pedro", family_name="Quispe Mamani")
    gone = _member(sibling, "mother", **SOUGHT)
    gone.deleted_at = utcnow()
    tracing_match.delete_member_keys(gone.id)
    db.session.commit()
    assert tracing_match.own_matches(world.caseworker, request_) == []


def test_own_matches_never_reads_another_organisation_or_a_case_out_of_scope(ctx, world):
    child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
    request_ = _tracing(world.caseworker, child)
    # Camino Seguro records her as a mother and as a person; a colleague's case records her too.
    elsewhere = _case(world.caseworker2, given_name="Pedro", family_name="Quispe Mamani")
    _member(elsewhere, "mother", **SOUGHT)
    _case(world.caseworker2, **SOUGHT)
    colleague = _case(world.caseworker_b, given_name="Inés", family_name="Quispe Mamani")
    _member(colleague, "mother", **SOUGHT)
    # The caseworker opens neither: nothing shown, nothing decrypted.
    assert tracing_match.own_matches(world.caseworker, request_) == []
    # Her supervisor opens every case of Casa Esperanza, and still nothing of Camino Seguro's.
    shown = tracing_match.own_matches(world.supervisor, request_)
    assert [m.case_reference for m in shown] == [colleague.reference]


def test_own_matches_needs_the_family_view(ctx, world):
    child = _case(world.caseworker)
    request_ = _tracing(world.caseworker, child)
    with pytest.raises(Forbidden):
        tracing_match.own_matches(world.hotline, request_)  # the hotline operator sees no family
    with pytest.raises(NotFound):
        tracing_match.own_matches(world.caseworker2, request_)  # another organisation's request


# --- other organisations: no oracle ---------------------------------------------------------------------------------


def test_no_oracle_the_tracing_side_sees_the_same_and_only_the_holder_is_told(ctx, world):
    second = factories.user(world.ngo2, "supervisor", "supervisor2b")
    child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
    request_ = _tracing(world.caseworker, child)
    mine = _case(world.caseworker, given_name="Pedro", family_name="Quispe Mamani")
    _member(mine, "mother", **SOUGHT)
    before = tracing_match.own_matches(world.caseworker, request_)
    assert [m.case_reference for m in before] == [mine.reference]
    version_before = (request_.status, request_.version)

    # Camino Seguro records the same woman: as a family member of one case, as the person of another.
    held_member = _case(world.caseworker2, given_name="Rosa", family_name="Quispe Mamani")
    _member(held_member, "mother", given_name="Maria Elena", family_name="Mamani Quispe",
            date_of_birth=date(1975, 3, 14))
    held_person = _case(world.caseworker2, given_name="María Elena", family_name="Quispe Mamani",
                        phone="+51 987 111 222")
    # The tracing request is queued again (its member's date changed, say): constant work, nothing looked at.
    tracing_match.enqueue(request_)
    db.session.commit()
    # The tracing page is the same whether another organisation holds her or not.
    assert tracing_match.own_matches(world.caseworker, request_) == before

    report = tracing_match.run_batch()
    assert (report.checked, report.failed, report.holders) == (1, 0, 1)
    notices = _notices()
    assert sorted((n.user_id, n.case_id) for n in notices) == sorted(
        (user, case) for user in (world.supervisor2.id, second.id) for case in (held_member.id, held_person.id))
    assert {(n.object_type, n.object_id, n.link) for n in notices} == {("organisation", str(world.ngo.id),
                                                                         "/matching/")}
    assert db.session.get(TracingCrossCheck, request_.id) is None  # worked off
    # Casa Esperanza learns nothing: no notice, the same page, the request untouched.
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id.in_([world.caseworker.id, world.supervisor.id]))) == 0
    assert tracing_match.own_matches(world.caseworker, request_) == before
    db.session.refresh(request_)
    assert (request_.status, request_.version) == version_before
    # Its audit event says that a check ran, and nothing else; the holder's has counts.
    [ran] = _events("tracing.cross_check")
    assert (ran.subject_organisation_id, ran.object_id, json.loads(ran.details)) == (world.ngo.id, request_.id, {})
    [told] = _events("tracing.cross_organisation")
    assert told.subject_organisation_id == world.ngo2.id
    assert json.loads(told.details) == {"cases_matched": 2, "newly_notified": 2}

    # What the holder's supervisor reads: the tracing organisation and their own case, nothing of the sought woman
    # nor the tracing case's reference.
    mine_only = [n for n in notices if n.user_id == world.supervisor2.id]
    texts = [row.text for row in notice_queries.rows(world.supervisor2, mine_only)]
    assert sorted(texts) == sorted(
        f"Casa Esperanza is tracing a family member who matches someone recorded on your case {ref}; contact them "
        "if the person's consent allows." for ref in (held_member.reference, held_person.reference))
    for shown in texts:
        for secret in ("María", "Maria", "Quispe", "Mamani", "1975", child.reference):
            assert secret not in shown
    # The matching page lists it with the tracing organisation's contact.
    from casemgmt.matching import crossorg

    assert len(crossorg.told(world.supervisor2)) == 2

    # Checked again (the request re-queued), nobody is told twice.
    tracing_match.enqueue(request_)
    db.session.commit()
    tracing_match.run_batch()
    assert len(_notices()) == 4
    assert json.loads(_events("tracing.cross_organisation")[-1].details) == {"cases_matched": 2,
                                                                              "newly_notified": 0}


def _normalised(page: str) -> str:
    # Tokens differ from one rendering to the next whatever the data: a form's CSRF and single-use tokens.
    return re.sub(r'(name="(?:csrf_token|submission_token)"[^>]*value=")[^"]*"', r'\1"', page)


def test_no_oracle_on_the_tracing_page_and_the_holder_reads_who_traces(app, ctx, world, web):
    db.session.get(Organisation, world.ngo.id).contact = "+51 1 555 0100, coordinacion@casa.example"
    child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
    request_ = _tracing(world.caseworker, child)
    mine = _case(world.caseworker, given_name="Pedro", family_name="Quispe Mamani")
    _member(mine, "mother", **SOUGHT)
    url, child_ref, mine_ref = f"/tracing/{request_.id}", child.reference, mine.reference
    web.login("caseworker")
    before = web.get(url)
    assert before.status_code == 200
    assert mine_ref in before.get_data(as_text=True)  # her own organisation's match is shown

    held = _case(world.caseworker2, given_name="Rosa", family_name="Soto")
    _member(held, "mother", **SOUGHT)
    held_ref = held.reference
    tracing_match.enqueue(request_)
    db.session.commit()
    waiting = web.get(url)
    tracing_match.run_pending()
    after = web.get(url)
    # The same status and the same page before, while the check waits, and after another organisation was told.
    assert before.status_code == waiting.status_code == after.status_code == 200
    assert _normalised(before.get_data(as_text=True)) == _normalised(waiting.get_data(as_text=True)) \
        == _normalised(after.get_data(as_text=True))
    assert held_ref not in after.get_data(as_text=True)

    web.logout()
    web.login("supervisor2")
    page = web.get("/matching/").get_data(as_text=True)
    assert (f"Casa Esperanza is tracing a family member who matches someone recorded on your case {held_ref}; "
            "contact them if the person&#39;s consent allows.") in page
    assert "coordinacion@casa.example" in page
    for secret in (child_ref, "María", "Maria", "Quispe", "1975"):
        assert secret not in page


@pytest.mark.parametrize("recorded", [
    {"given_name": "Maria Elena", "family_name": "Quispe Mamani"},  # names alone
    {"given_name": "Maria Elena", "family_name": "Quispe Mamani", "date_of_birth": date(1980, 1, 1)},  # another
    {"given_name": "Desconocida", "phone": "+51 987 111 222"},  # the phone without the names
])
def test_a_weak_match_elsewhere_tells_nobody(ctx, world, recorded):
    held = _case(world.caseworker2, given_name="Rosa", family_name="Soto")
    _member(held, "mother", **recorded)
    child = _case(world.caseworker)
    _tracing(world.caseworker, child)
    assert tracing_match.run_pending() == 1
    assert _notices() == [] and _events("tracing.cross_organisation") == []
    assert len(_events("tracing.cross_check")) == 1


def test_someone_recorded_after_the_request_was_queued_is_not_told(ctx, world):
    """A probe recorded just after another organisation opened a tracing request would otherwise learn that they
    are tracing this person."""
    child = _case(world.caseworker)
    _tracing(world.caseworker, child)
    probe = _case(world.caseworker2, given_name="Rosa", family_name="Soto")
    later = _member(probe, "mother", **SOUGHT)
    later.created_at = later.updated_at = utcnow()  # recorded after the request was queued
    db.session.commit()
    _case(world.caseworker2, **SOUGHT)  # a person registered after it too
    tracing_match.run_pending()
    assert _notices() == []


def test_a_case_already_shared_with_the_tracing_organisation_is_not_told(ctx, world):
    held = _case(world.caseworker2, given_name="Rosa", family_name="Soto")
    _member(held, "mother", **SOUGHT)
    factories.accepted_referral(held, world.ngo, responded_by=world.caseworker)
    db.session.commit()
    child = _case(world.caseworker)
    _tracing(world.caseworker, child)
    tracing_match.run_pending()
    assert _notices() == []


def test_a_closed_request_is_taken_off_the_queue_unchecked_and_an_erased_case_is_no_holder(ctx, world):
    held = _case(world.caseworker2, given_name="Rosa", family_name="Soto")
    _member(held, "mother", **SOUGHT)
    child = _case(world.caseworker)
    request_ = _tracing(world.caseworker, child)
    request_.status = "closed"
    db.session.commit()
    report = tracing_match.run_batch()
    assert (report.checked, report.removed) == (0, 1)
    assert db.session.get(TracingCrossCheck, request_.id) is None
    assert _notices() == [] and _events("tracing.cross_check") == []
    # The holder's erased case is never a candidate either.
    request_.status = "open"
    tracing_match.enqueue(request_)
    case_operations.erase_case(world.supervisor2, held)
    db.session.commit()
    tracing_match.run_pending()
    assert _notices() == []


def test_the_sweep_command_works_the_tracing_queue_off(app, ctx, world):
    held = _case(world.caseworker2, given_name="Rosa", family_name="Soto")
    _member(held, "mother", **SOUGHT)
    child = _case(world.caseworker)
    request_ = _tracing(world.caseworker, child)
    result = app.test_cli_runner().invoke(args=["notifications", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 tracing requests looked for in other organisations, 1 notices to the holders of a match" in result.output
    assert db.session.get(TracingCrossCheck, request_.id) is None
    assert [n.user_id for n in _notices()] == [world.supervisor2.id]


def test_the_notice_kind_is_registered_with_the_organisation_named():
    from casemgmt.notifications import kinds

    assert tracing_match.KIND in kinds.KINDS and tracing_match.KIND in kinds.NAMED_ORGANISATION


# --- the rebuild ------------------------------------------------------------------------------------------------------


def test_a_new_index_generation_rebuilds_family_member_keys(backend, tmp_path):
    key = new_root_key()
    with private_database(backend, tmp_path, "famrebuild") as database:
        small = database.app(ring(v1=key), "small", EXPECTED_CASES=1000)
        database.create_schema(small)
        with request(small):
            world = factories.world()
            child = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
            request_ = _tracing(world.caseworker, child)
            sibling = _case(world.caseworker, given_name="Pedro", family_name="Quispe Mamani")
            recorded = _member(sibling, "mother", **{**SOUGHT, "given_name": "Maria Elena"})
            removed = _member(sibling, "father", given_name="Juan", family_name="Quispe")
            removed.deleted_at = utcnow()
            db.session.commit()
            ids = (request_.id, recorded.id, removed.id, world.caseworker.id)
        large = database.app(ring(v1=key), "large", EXPECTED_CASES=100_000)
        result = run_cli(large, ["indexes", "rebuild"])
        assert result.exit_code == 0, result.output
        with request(large):
            request_id, recorded_id, removed_id, worker_id = ids
            generations = {g.id: (g.state, g.bits) for g in db.session.scalars(select(IndexGeneration))}
            assert generations == {1: ("retired", 8), 2: ("active", 15)}
            stored = db.session.execute(select(FamilyMemberKey.generation, FamilyMemberKey.family_member_id,
                                               FamilyMemberKey.kind, FamilyMemberKey.value)).all()
            assert {g for g, *_ in stored} == {2}  # the old generation's rows are gone
            assert removed_id not in {m for _, m, *_ in stored}  # a removed member is not keyed again
            fresh = tracing_match.rows_for(recorded_id, "x", tracing_match.member_identity(
                {**SOUGHT, "given_name": "Maria Elena"}, "PE"), [Snapshot(2, 1, 15)])
            assert {(m, k, v) for _, m, k, v in stored if m == recorded_id} == {
                (r["family_member_id"], r["kind"], r["value"]) for r in fresh}
            assert max(v for *_, v in stored) >= 2 ** 8  # values of the new size
            # And matching still finds her through the new keys.
            from casemgmt.accounts.models import User

            worker = db.session.get(User, worker_id)
            [found] = tracing_match.own_matches(worker, db.session.get(TracingRequest, request_id))
            assert found.kind == "family_member"


def test_members_written_while_a_generation_is_built_are_in_it_when_it_is_finished(backend, tmp_path):
    from casemgmt.matching import generations, rebuild

    v1, v2 = new_root_key(), new_root_key()
    with private_database(backend, tmp_path, "fambuild") as database:
        old = database.app(ring(v1=v1), "v1")
        database.create_schema(old)
        with request(old):
            world = factories.world()
            first = _case(world.caseworker, given_name="Luz", family_name="Quispe Mamani")
            _member(first, "mother", **SOUGHT)
            worker_id = world.caseworker.id
        new = database.app(ring(v1=v1, v2=v2), "v12")
        with request(new):
            from casemgmt.accounts.models import User

            worker = db.session.get(User, worker_id)
            plan = rebuild.start()
            assert rebuild.build(plan.generation.id) == (1, 0)
            # Written while generation 2 is being built: into both.
            second = _case(worker, given_name="Pedro", family_name="Quispe Mamani")
            both = _member(second, "mother", **SOUGHT)
            assert {g for g, *_ in _key_rows(both.id)} == {1, 2}
            # A request that read the live generations just before generation 2 existed wrote generation 1 only.
            late = FamilyMember(id=new_uuid(), case_id=second.id, relationship_code="father", created_at=utcnow(),
                                updated_at=utcnow())
            seal(late, "given_name", "Juan")
            seal(late, "family_name", "Quispe")
            db.session.add(late)
            db.session.flush()
            [gen1] = [g for g in generations.live() if g.id == 1]
            db.session.execute(FamilyMemberKey.__table__.insert(), tracing_match.rows_for(
                late.id, second.id, tracing_match.member_identity({"given_name": "Juan", "family_name": "Quispe"},
                                                                  "PE"), [gen1]))
            db.session.commit()
            assert {g for g, *_ in _key_rows(late.id)} == {1}
            assert rebuild.finish(plan.generation.id) == [1]
            rebuild.retire()
            assert {g for g, *_ in _key_rows(late.id)} == {2}
            assert {g for g, *_ in _key_rows(both.id)} == {2}
            assert db.session.scalar(select(func.count()).select_from(FamilyMemberKey).where(
                FamilyMemberKey.generation == 1)) == 0


def test_identity_of_a_member_is_the_engine_s(ctx, world):
    """The member's keys are the person's keys of the same values (so a person's query finds a member and the other
    way round)."""
    identity = tracing_match.member_identity(SOUGHT, "PE")
    assert identity == keys.identity_of({**SOUGHT, "date_of_birth": "1975-03-14"}, "PE")
