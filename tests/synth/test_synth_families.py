"""The synthetic families, tracing, best interests and residence rows (casemgmt/synth_families.py) hold what the
operations guarantee: a panel of at least two people of the organisation who all concurred, never a member who may be
involved in the trafficking told where the person is, and no child's approved return without a determined
best-interests determination recommending it; sealed text decrypts under the case's key."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import and_, select

from casemgmt.accounts.models import User
from casemgmt.bestinterests.models import MIN_PANEL, RECOMMENDED_FOR, BestInterestsDetermination, PanelMember
from casemgmt.cases import age
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.families import tracing_match
from casemgmt.families.models import FamilyMember, FamilyMemberKey, TracingAction, TracingRequest
from casemgmt.matching import generations
from casemgmt.residence.models import ProtectionStatus, Reunification, ReunificationMember
from casemgmt.returns.models import ReturnPlan
from tests.synth.conftest import NOW


def _all(model, *where):
    return list(db.session.scalars(select(model).where(*where)))


def test_the_synthetic_data_has_children_in_tracing_determinations_and_statuses(built):
    with built.app.app_context():
        assert len(_all(FamilyMember)) >= 50
        outcomes = Counter(r.status for r in _all(TracingRequest))
        assert outcomes["found"] and outcomes["not_found"] and sum(outcomes.values()) >= 10
        recommendations = Counter(b.recommendation for b in _all(BestInterestsDetermination,
                                                                  BestInterestsDetermination.status == "determined"))
        assert recommendations["return_to_family"] and recommendations["against_return"] + recommendations[
            "alternative_care"]
        assert any(s.state == "granted" for s in _all(ProtectionStatus))
        for table in ("family_members", "tracing_requests", "best_interests_determinations", "protection_statuses"):
            assert built.result["rows"][table] > 0, table


def test_every_panel_has_two_or_more_people_of_the_organisation_who_all_concurred(built):
    with built.app.app_context():
        members = defaultdict(list)
        for member in _all(PanelMember):
            members[member.determination_id].append(member)
        determinations = _all(BestInterestsDetermination)
        assert determinations
        for bid in determinations:
            panel = members[bid.id]
            people = {m.user_id for m in panel}
            assert len(people) == len(panel) >= MIN_PANEL, bid.id
            case = db.session.get(Case, bid.case_id)
            # Never the caseworker alone: someone else always sits with them.
            assert people - {case.assigned_to_id}, bid.id
            for member in panel:
                assert db.session.get(User, member.user_id).organisation_id == bid.organisation_id
            if bid.status == "determined":
                assert all(m.vote == "concur" and m.signed_at is not None for m in panel), bid.id
                assert max(m.signed_at for m in panel).date() <= bid.determined_on <= NOW.date()
            else:
                assert bid.determined_on is None and all(m.vote == "pending" for m in panel)


def test_a_member_who_may_be_involved_is_never_told_where_the_person_is(built):
    with built.app.app_context():
        members = {m.id: m for m in _all(FamilyMember)}
        involved = {i for i, m in members.items() if m.possibly_involved}
        assert involved, "some family members may be involved"
        assert not any(members[i].may_be_told_location for i in involved)
        for action in _all(TracingAction, TracingAction.whereabouts_shared.is_(True)):
            member = members[action.family_member_id]
            assert member.may_learn_location and not member.possibly_involved
        for joining in _all(ReunificationMember):
            assert joining.family_member_id not in involved
            assert members[joining.family_member_id].may_be_told_location
        # Sealed under the case's key, bound to the row.
        sample = next(iter(members.values()))
        assert unseal(sample, "given_name")


def test_no_child_return_is_approved_without_a_determination_recommending_it(built):
    with built.app.test_request_context():
        determined = defaultdict(list)
        for bid in _all(BestInterestsDetermination, BestInterestsDetermination.status == "determined"):
            determined[bid.case_id].append(bid)
        children = 0
        for plan in _all(ReturnPlan, ReturnPlan.approved_at.is_not(None)):
            case = db.session.get(Case, plan.case_id)
            if not age.is_child(case, plan.approved_at.date()):
                continue
            children += 1
            before = [b for b in determined[case.id] if b.determined_on <= plan.approved_at.date()]
            assert before, case.reference
            latest = max(before, key=lambda b: (b.determined_on, b.proposed_at))
            assert latest.recommendation in RECOMMENDED_FOR["return"], case.reference
        assert children, "the synthetic data has children who returned"


def test_reunifications_are_of_granted_statuses_and_complete_when_everyone_arrived(built):
    with built.app.app_context():
        granted = {s.case_id for s in _all(ProtectionStatus, ProtectionStatus.state == "granted")}
        joining = defaultdict(list)
        for member in _all(ReunificationMember):
            joining[member.reunification_id].append(member)
        for reunification in _all(Reunification):
            assert reunification.case_id in granted
            arrived = [m.arrived_on for m in joining[reunification.id]]
            assert arrived
            if reunification.status == "reunified":
                assert all(arrived) and reunification.reunified_on == max(arrived)
            else:
                assert not all(arrived) and reunification.reunified_on is None


def test_family_members_have_the_blind_indexes_the_operations_write(built):
    """Each synthetic family member's family_member_keys rows are exactly the ones families.tracing_match computes
    from its decrypted values (write_member_keys, in every live generation, with the case's organisation's country as
    the phone region), so a tracing request meets its real candidates in synthetic data."""
    with built.app.test_request_context():
        members = _all(FamilyMember)
        assert built.result["rows"]["family_member_keys"] >= len(members)
        stored = defaultdict(set)
        for key in _all(FamilyMemberKey):
            stored[key.family_member_id].add((key.generation, key.kind, key.value, key.case_id))
        live = generations.live()
        for member in members:
            identity = tracing_match.member_identity(tracing_match.read_member(member),
                                                     db.session.get(Case, member.case_id).organisation.country)
            expected = {(r["generation"], r["kind"], r["value"], r["case_id"])
                        for r in tracing_match.rows_for(member.id, member.case_id, identity, live)}
            assert expected and stored[member.id] == expected, member.id


def test_tracing_requests_meet_candidates_among_the_organisations_other_families(built):
    """The candidates query of the tracing page (tracing_match.top_members, on the keys alone) finds family members
    of the organisation's other cases for the synthetic requests: the benchmark's tracing page ranks and decrypts real
    candidates, as it would with real data, not an empty index."""
    with built.app.test_request_context():
        requests = [r for r in _all(TracingRequest) if r.family_member_id]
        assert requests
        met = 0
        for request in requests:
            case = db.session.get(Case, request.case_id)
            query = tracing_match.sought_identity(request)
            scope = and_(Case.organisation_id == case.organisation_id, Case.id != case.id)
            met += bool(tracing_match.top_members(tracing_match._query_keys(query), scope))
        assert met >= len(requests) // 2, (met, len(requests))
