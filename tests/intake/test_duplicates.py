"""find_candidates(): blind-index candidates, scored after decryption (matching.score), the agreeing fields shown for
cases the user may open, nothing else revealed (tests/security/test_duplicate_oracle.py checks the pages answer the
same whether or not another organisation holds the person; tests/matching/test_check.py the pages themselves)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from casemgmt.audit.models import AuditEvent
from casemgmt.extensions import db
from casemgmt.intake.duplicates import find_candidates
from casemgmt.matching import generations
from tests import factories


def test_each_identifier_finds_the_person_after_normalisation(ctx, world):
    mine = factories.case(world.caseworker)
    factories.case(world.caseworker, given_name="Otra", family_name="Persona", document_number="X-1",
                   phone="+51 1", date_of_birth=date(1980, 1, 1))
    for kwargs, matched in [
        ({"given_name": "MARÍA  JOSÉ", "family_name": "quispe mamani", "birth_year": 1999}, ("name", "birth_year")),
        ({"given_name": "Maria Jose", "family_name": "Quispe Mamani", "date_of_birth": date(1999, 4, 12)},
         ("name", "date_of_birth")),
        ({"given_name": "María José", "family_name": "Quispe Mamani", "date_of_birth": date(1999, 12, 4)},
         ("name", "date_of_birth_swapped")),
        ({"given_name": "Mari", "family_name": "Kispe", "birth_year": 1999, "phone": "+51 (987) 654-321"},
         ("name_similar", "birth_year", "phone")),
        ({"document_number": "pe 1234567"}, ("document_number",)),
        ({"given_name": "María", "phone": "987 654 321"}, ("name", "phone")),
        ({"given_name": "María José", "family_name": "Quispe Mamani", "birth_year": 1999,
          "document_number": "PE1234567", "phone": "51987654321"}, ("name", "birth_year", "document_number", "phone")),
    ]:
        report = find_candidates(world.caseworker, **kwargs)
        assert [(c.reference, c.name, c.matched) for c in report.candidates] == [
            (mine.reference, "María José Quispe Mamani", matched)], kwargs
        assert not report.in_own_organisation


def test_a_name_alone_or_a_different_year_is_not_a_match(ctx, world):
    factories.case(world.caseworker)
    alone = find_candidates(world.caseworker, "María José", "Quispe Mamani")
    assert alone.empty and not alone.searched
    other_year = find_candidates(world.caseworker, "María José", "Quispe Mamani", birth_year=1998)
    assert other_year.empty and other_year.searched
    # Searching is audited even when nothing could be searched, with counts only.
    details = [json.loads(e.details) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "intake.duplicate_check"))]
    assert details == [{"own_organisation_not_open": False, "searched": False, "shown": 0},
                       {"own_organisation_not_open": False, "searched": True, "shown": 0}]


def test_other_organisations_cases_are_not_looked_at(ctx, world):
    factories.case(world.caseworker2)
    factories.case(world.supervisor2)
    factories.case(world.mission)
    report = find_candidates(world.caseworker, document_number="PE-1234567")
    assert report.searched and report.empty and report.total == 0


def test_a_colleagues_case_the_user_may_not_open_is_reported_without_anything_about_it(ctx, world):
    factories.case(world.caseworker)
    report = find_candidates(world.hotline, document_number="PE-1234567")
    assert report.candidates == [] and report.in_own_organisation and report.total == 1


def test_blind_index_collisions_are_dropped_by_the_scoring(ctx, world, monkeypatch):
    # Indexes of no bits at all: every key of every person collides, far more than happens by design at full size.
    monkeypatch.setattr(generations, "compute_raw", lambda *_args: 0)
    factories.case(world.caseworker, given_name="Ana", family_name="Flores", date_of_birth=date(1990, 1, 1),
                   document_number=None, phone=None)
    stranger = {"given_name": "Pedro", "family_name": "Gómez Vera", "birth_year": 1990}
    report = find_candidates(world.caseworker, **stranger)
    assert report.searched and report.empty
    # In a colleague's case the user may not open, a collision is not even reported as a possible match; in another
    # organisation's case it is not looked at.
    factories.case(world.caseworker2, **stranger, date_of_birth=None, document_number=None, phone=None)
    assert find_candidates(world.caseworker, **stranger).empty
    factories.case(world.caseworker_b, given_name="Ana", family_name="Flores", date_of_birth=date(1990, 1, 1),
                   document_number=None, phone=None)
    assert find_candidates(world.caseworker, **stranger).empty
    # The same person in that colleague's case is reported, without anything about it.
    colleague = find_candidates(world.caseworker, "Ana", "Flores", date_of_birth=date(1990, 1, 1))
    assert [c.name for c in colleague.candidates] == ["Ana Flores"] and colleague.in_own_organisation


def test_referred_in_cases_are_shown_to_the_receiving_organisation(ctx, world):

    case = factories.case(world.caseworker)
    factories.accepted_referral(case, world.mission_org)
    db.session.commit()
    report = find_candidates(world.mission, document_number="PE-1234567")
    assert [c.reference for c in report.candidates] == [case.reference]
    assert not report.in_own_organisation
