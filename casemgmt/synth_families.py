"""Family members, tracing, best interests, guardians, care, protection status and reunification, for `casemgmt synth`
(issue 15).

For each case the journey writer has written, FamilyWriter.write() adds rows to the same batch:
- family members (1 to 3, for about 45% of cases and every child traced), each with the relationship, whether they
  are a safe contact, whether they may be involved in the trafficking (about 1 in 9) and whether they may be told
  where the person is, which is never the case for someone who may be involved (the database refuses it too);
- for a share of children (all unaccompanied or separated ones), a tracing request for a member whose whereabouts
  are unknown, 1 to 4 tracing actions with their outcomes, and the outcome (found, not found, closed, or still
  open); the person's whereabouts are shared only with a member who may learn them; for a found family of a child who
  returns, the receiving mission's family assessment visit;
- for children in tracing or returning, a best-interests assessment; a child who returns has a determined
  best-interests determination recommending the return, dated before the return plan was approved (the stage guard's
  rule), and some children who stay have one recommending against a return or long-term care; every panel has two or
  three people of the organisation who all concurred, never the caseworker alone;
- a guardian and a care arrangement for some children;
- for a share of adults who do not return (and every case that reaches the "stay" stage), a protection status
  applied for, then granted, refused or still pending; about half of those granted are joined by family members who
  may be told where the person is and are not possibly involved, with documents, travel, arrival and services.

Free text (names, contact, notes, reasons) is sealed under the case's key and bound to its row, as the operations
seal it. The rows draw from a generator of their own (seeded from the case's seed), so the journeys are the same
with or without them. Each family member's blind indexes (family_member_keys) are written as
families.tracing_match.write_member_keys writes them (the same keys, in every live index generation, with the case's
organisation's country as the phone region), so a tracing request meets as many candidates in synthetic data as it
would in real data: the tracing page's matching is what the benchmarks measure at 100,000 cases.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta

from casemgmt.bestinterests.models import (
    BestInterestsAssessment,
    BestInterestsDetermination,
    CareArrangement,
    Guardian,
    PanelMember,
)
from casemgmt.cases import age
from casemgmt.families import tracing_match
from casemgmt.families.models import (
    FamilyAssessmentVisit,
    FamilyMember,
    FamilyMemberKey,
    TracingAction,
    TracingRequest,
)
from casemgmt.residence.models import ProtectionStatus, Reunification, ReunificationMember, ReunificationService
from casemgmt.returns.models import ReturnPlan
from casemgmt.synth_people import LOCALES, pick
from casemgmt.synth_rows import Batch

# Mixed into the case's seed: these rows draw from a generator of their own.
SALT = 0x15FA3
RELATIONSHIPS = {"mother": 30, "father": 18, "sibling": 22, "grandparent": 8, "aunt_uncle": 9, "spouse": 7,
                 "child": 6}
ACTION_KINDS = {"phone_call": 35, "home_visit": 15, "community_inquiry": 15, "registry_search": 10,
                "partner_organisation": 15, "authority": 10}
CONTACTED = ("The neighbour who knew the family", "The parish priest", "The community leader",
             "The school's director", "An aunt living in the capital")
PLACES = ("The family's last known village", "The municipal office", "The market where the mother sold",
          "The bus terminal", "By telephone")
NOTES = ("The family moved two years ago; a neighbour gave a new district.",
         "No one of that name is known in the community.",
         "The mother was found and wants her daughter back; she did not know where she was.",
         "The uncle answered and asked for time to talk with the family.")
BIA_TEXT = {
    "child_views": "She wants to go home and to finish school; she is afraid of the recruiter's cousin.",
    "safety": "The recruiter lives in another town; the family has no contact with him.",
    "family": "Mother and two siblings; the father left. The mother works at the market.",
    "health": "Treated for an infection; no ongoing needs.",
    "education": "Left school in the seventh grade; the local school agrees to take her back.",
    "recommendations": "Return with an escort, family support and monitoring for twelve months.",
}
BID_REASONS = {
    "return_to_family": "The family assessment found the home safe and the mother willing; the child wants to return.",
    "against_return": "The family assessment found that an uncle took part in the recruitment: returning is unsafe.",
    "alternative_care": "No family could be found; long-term foster care near her school.",
    "local_integration": "Her mother is dead and the family that remains sold her; she has a place at school here.",
    "reunification_destination": "Her mother holds a residence permit here and the home visit found it safe.",
}
STATUS_KINDS = {"t_visa": 55, "continued_presence": 15, "residence_permit": 20, "asylum": 10}
AGENCIES = ("HHS Office on Trafficking in Persons", "Federal Bureau of Investigation",
            "U.S. Department of Homeland Security")


def _day(moment: datetime) -> date:
    return moment.date()


def _may_sit(actor, c) -> bool:
    """Whether `actor` may open the case's best interests (access.policies._in_case_scope): supervisors and mission
    staff of the organisation, and a caseworker who opened or holds the case."""
    return actor.role in ("supervisor", "mission_staff") or (
        actor.role == "caseworker" and actor.id in (c.creator.id, getattr(c.assignee, "id", None)))


class FamilyWriter:
    """Writes one case's family rows into the batch (called by the journey writer with the case it wrote)."""

    def __init__(self, now: datetime):
        self.now = now
        self.today = now.date()

    def write(self, batch: Batch, c, seed: int) -> None:
        _CaseFamily(self, batch, c, random.Random(seed ^ SALT)).write()  # noqa: S311 - synthetic data


class Chained:
    """The journey writer's one hook (World.programmes), calling the programme writer and then the family writer."""

    def __init__(self, *writers):
        self.writers = writers

    def write(self, batch: Batch, c, seed: int) -> None:
        for writer in self.writers:
            writer.write(batch, c, seed)


class _CaseFamily:
    def __init__(self, writer: FamilyWriter, batch: Batch, c, rng: random.Random):
        self.writer, self.batch, self.c, self.rng = writer, batch, c, rng
        self.now = writer.now

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def at(self, day: date, earliest: datetime | None = None) -> datetime:
        moment = datetime.combine(day, time(self.rng.randint(8, 17), self.rng.randint(0, 59)))
        if earliest is not None and moment < earliest:
            moment = earliest + timedelta(minutes=self.rng.randint(5, 120))
        return min(moment, self.now)

    def after(self, start: datetime, low: int, high: int) -> datetime | None:
        """A moment low..high days after start, or None when that is after now."""
        moment = start + timedelta(days=self.rng.randint(low, high), hours=self.rng.randint(0, 8))
        return moment if moment <= self.now else None

    # --- the case -------------------------------------------------------------------------------------------------

    def write(self) -> None:
        c, rng = self.c, self.rng
        self.child = age.child_from(c.age_facts, _day(c.created))
        self.returning = "return" in c.reaches
        self.plan = self._return_plan() if self.returning else None
        traced = self.child and not c.org.mission and (c.values["unaccompanied_or_separated"] or rng.random() < 0.6)
        members = []
        if traced or rng.random() < 0.45:
            members = [self._member(index, traced and index == 0) for index in range(rng.randint(1, 3))]
        if traced:
            self._tracing(members[0])
        stays_on = next((at for stage, at in c.moves if stage == "stay"), None)
        if self.child and (traced or self.returning or stays_on):
            assessment = self._assessment()
            self._determination(assessment)
            if stays_on is not None:
                # Staying is a durable decision too: a BID recommending it, before the move (bestinterests.guards).
                # After a return's approval, if there was one: that return's BID stays the latest before it.
                approved = self.plan.get("approved_at") if self.plan else None
                self._decided(assessment, stays_on, "stay", rng.choice(("local_integration",
                                                                        "reunification_destination")), approved)
        if self.child and rng.random() < 0.4:
            self._guardian(members)
        if self.child and rng.random() < 0.5:
            self._care(members)
        stays = "stay" in c.reaches or (not self.child and not c.org.mission and not self.returning
                                         and "counseling" in c.reaches and rng.random() < 0.25)
        if stays:
            granted = self._status()
            if granted is not None and rng.random() < 0.5:
                self._reunification(granted, members)

    def _return_plan(self) -> dict | None:
        """The case's return plan row in this batch (the journey writer added it just before)."""
        for row in reversed(self.batch.rows.get(ReturnPlan, [])):
            if row["case_id"] != self.c.id:
                break
            return row
        return None

    # --- family members -------------------------------------------------------------------------------------------

    def _member(self, index: int, sought: bool) -> dict:
        c, rng = self.c, self.rng
        member_id = self.uuid()
        relationship = rng.choice(("mother", "father")) if sought else pick(rng, RELATIONSHIPS)
        involved = not sought and rng.random() < 0.11
        told = not involved and rng.random() < 0.5
        country = c.values["citizenship"] or c.org.country
        locale = LOCALES.get(country, "es_MX")
        pools = c.world.pools
        female = relationship in ("mother", "grandparent") or rng.random() < 0.5
        given = rng.choice(pools.female[locale] if female else pools.male[locale])
        family_name = (c.values.get("family_name") or rng.choice(pools.family[locale])).split(" ")[0]
        created = self.at(_day(c.created), c.created)
        phone = None if sought else f"+{rng.randint(500, 599)} {rng.randint(10000000, 99999999)}"
        row = self.batch.add(
            FamilyMember, id=member_id, case_id=c.id, relationship=relationship,
            given_name=c.seal(FamilyMember.__tablename__, "given_name", member_id, given),
            family_name=c.seal(FamilyMember.__tablename__, "family_name", member_id, family_name),
            phone=c.seal(FamilyMember.__tablename__, "phone", member_id, phone),
            address=c.seal(FamilyMember.__tablename__, "address", member_id, rng.choice(pools.addresses[locale])),
            country=country, whereabouts="unknown" if sought else "known", lives_with_person=False,
            safe_contact=not involved and rng.random() < 0.6, possibly_involved=involved,
            may_be_told_location=told, created_by_id=c.worker.id, created_at=created, updated_at=created,
            updated_by_id=c.worker.id,
        )
        c.event(created, c.worker, "family.add", "family_member", member_id, relationship=relationship,
                possibly_involved=involved)
        self._keys(member_id, {"given_name": given, "family_name": family_name, "date_of_birth": None,
                               "phone": phone})
        return row

    def _keys(self, member_id: str, values: dict) -> None:
        """The member's family_member_keys rows, computed by the code write_member_keys uses (the region: the
        case's organisation's country, as tracing_match._region reads it)."""
        c = self.c
        identity = tracing_match.member_identity(values, c.org.country)
        for row in tracing_match.rows_for(member_id, c.id, identity, c.world.generations):
            self.batch.add(FamilyMemberKey, **row)

    # --- tracing --------------------------------------------------------------------------------------------------

    def _tracing(self, member: dict) -> None:
        c, rng = self.c, self.rng
        opened = self.at(_day(c.created) + timedelta(days=rng.randint(0, 6)), c.created)
        request_id = self.uuid()
        # A request of the last weeks is still open; older ones mostly ended.
        recent = (self.now - opened).days < 20
        status = "open" if recent else pick(rng, {"found": 60, "not_found": 18, "closed": 8, "open": 14})
        actions = rng.randint(1, 4)
        day = opened
        outcomes = []
        for index in range(actions):
            moment = self.after(day, 2, 15)
            if moment is None:
                break
            day = moment
            last = index == actions - 1
            outcome = ("located" if status == "found" else "no_information") if last and status != "open" \
                else pick(rng, {"no_information": 50, "lead": 50})
            outcomes.append((moment, outcome))
        if not outcomes:
            status = "open"
        elif status == "found" and outcomes[-1][1] != "located":
            outcomes[-1] = (outcomes[-1][0], "located")
        mission_traces = c.return_referral and rng.random() < 0.5
        closed = outcomes[-1][0] if status != "open" else None
        self.batch.add(
            TracingRequest, id=request_id, case_id=c.id, organisation_id=c.org.id, family_member_id=member["id"],
            reason="unaccompanied" if c.values["unaccompanied_or_separated"] else "separated",
            description=c.seal(TracingRequest.__tablename__, "description", request_id,
                               "Sought with the help of the child's description of the house and the market."),
            status=status, opened_on=_day(opened), opened_by_id=c.worker.id,
            closed_on=_day(closed) if closed else None, closed_by_id=c.worker.id if closed else None,
            outcome_note=c.seal(TracingRequest.__tablename__, "outcome_note", request_id,
                                rng.choice(NOTES) if closed else None),
            created_at=opened, updated_at=closed or opened,
        )
        c.event(opened, c.worker, "tracing.open", "tracing_request", request_id, reason="unaccompanied")
        for moment, outcome in outcomes:
            action_id = self.uuid()
            by_mission = mission_traces and rng.random() < 0.6
            actor = c.world.mission_actor if by_mission else c.worker
            shared = outcome == "located" and member["may_be_told_location"] and not member["possibly_involved"]
            self.batch.add(
                TracingAction, id=action_id, tracing_request_id=request_id, case_id=c.id,
                organisation_id=actor.organisation_id, kind=pick(rng, ACTION_KINDS), done_on=_day(moment),
                contacted=c.seal(TracingAction.__tablename__, "contacted", action_id, rng.choice(CONTACTED)),
                place=c.seal(TracingAction.__tablename__, "place", action_id, rng.choice(PLACES)),
                notes=c.seal(TracingAction.__tablename__, "notes", action_id, rng.choice(NOTES)),
                outcome=outcome, family_member_id=member["id"] if outcome == "located" else None,
                whereabouts_shared=shared, recorded_by_id=actor.id, created_at=moment,
            )
            c.event(moment, actor, "tracing.action", "tracing_request", request_id, outcome=outcome)
        if closed:
            c.event(closed, c.worker, "tracing.close", "tracing_request", request_id, status=status)
        if status == "found" and self.returning and closed is not None:
            visited = self.after(closed, 3, 20)
            if visited is not None:
                visit_id = self.uuid()
                actor = c.world.mission_actor
                self.batch.add(
                    FamilyAssessmentVisit, id=visit_id, case_id=c.id, organisation_id=actor.organisation_id,
                    tracing_request_id=request_id, visited_on=_day(visited),
                    place=c.seal(FamilyAssessmentVisit.__tablename__, "place", visit_id, rng.choice(PLACES)),
                    findings=c.seal(FamilyAssessmentVisit.__tablename__, "findings", visit_id,
                                    "The mother and grandmother are willing; the house is safe and the school near."),
                    family_willing=True, safety="safe", recommendation="reunify_with_support",
                    recorded_by_id=actor.id, created_at=visited, updated_at=visited,
                )
                c.event(visited, actor, "tracing.visit", "family_assessment_visit", visit_id,
                        recommendation="reunify_with_support")

    # --- best interests -------------------------------------------------------------------------------------------

    def _assessment(self) -> dict:
        c, rng = self.c, self.rng
        assessment_id = self.uuid()
        assessed = self.at(_day(c.created) + timedelta(days=rng.randint(1, 10)), c.created)
        sealed = {name: c.seal(BestInterestsAssessment.__tablename__, name, assessment_id, text)
                  for name, text in BIA_TEXT.items()}
        row = self.batch.add(BestInterestsAssessment, id=assessment_id, case_id=c.id, organisation_id=c.org.id,
                             assessed_on=_day(assessed), recorded_by_id=c.worker.id, created_at=assessed,
                             updated_at=assessed, **sealed)
        c.event(assessed, c.worker, "bia.record", "bia", assessment_id)
        return row

    def _panel(self) -> list:
        """Two or three different people of the organisation: the supervisor, and staff who are not the only
        member, so the caseworker never decides alone. Only people who may open the case's best interests, as the
        form offers them (bestinterests.queries.panel_candidates): supervisors, mission staff and the case's own
        caseworker; never the hotline operator who logged the contact, nor a caseworker not on the case."""
        c, rng = self.c, self.rng
        people = {c.org.supervisor.id: c.org.supervisor}
        for actor in (*c.org.assignees[0], *c.org.creators[0]):
            if actor is not None and _may_sit(actor, c):
                people.setdefault(actor.id, actor)
        if len(people) < 2:
            # A case its supervisor both opened and holds: nobody else of a one-supervisor organisation may open its
            # best interests. Its caseworker sits with the supervisor, as a real organisation would arrange.
            for actor in c.org.assignees[0]:
                if actor is not None and actor.role == "caseworker":
                    people.setdefault(actor.id, actor)
                    break
        others = [a for a in people.values() if a.id != c.org.supervisor.id]
        rng.shuffle(others)
        size = min(len(people), rng.choice((2, 2, 3)))
        return [c.org.supervisor, *others[:size - 1]]

    def _determination(self, assessment: dict) -> None:
        c, rng = self.c, self.rng
        if self.returning:
            approved = self.plan.get("approved_at") if self.plan else None
            # Decided before the plan's approval (the guard's rule): the BID comes first.
            latest = approved or next(at for stage, at in c.moves if stage == "return")
            self._decided(assessment, latest, "return", "return_to_family")
            return
        if "stay" in c.reaches or rng.random() < 0.5:
            return  # a child who stays gets a BID recommending it (write())
        proposed = self.after(assessment["created_at"], 10, 40)
        if proposed is None:
            return
        determined = self.after(proposed, 2, 10)
        decision, recommendation = rng.choice((("return", "against_return"), ("placement", "alternative_care")))
        self._write_bid(assessment, proposed, determined, decision, recommendation)

    def _decided(self, assessment: dict, latest: datetime, decision: str, recommendation: str,
                 after: datetime | None = None) -> None:
        """A determined BID proposed and decided between the assessment (or `after`, or the case's opening) and
        `latest`."""
        earliest = max(assessment["created_at"], after or assessment["created_at"])
        if latest <= earliest:
            earliest = self.c.created
        self._write_bid(assessment, earliest + (latest - earliest) * 0.3, earliest + (latest - earliest) * 0.7,
                        decision, recommendation)

    def _write_bid(self, assessment: dict, proposed: datetime, determined: datetime | None, decision: str,
                   recommendation: str) -> None:
        c = self.c
        bid_id = self.uuid()
        panel = self._panel()
        status = "determined" if determined is not None else "convened"
        self.batch.add(
            BestInterestsDetermination, id=bid_id, case_id=c.id, organisation_id=c.org.id,
            assessment_id=assessment["id"], decision=decision, recommendation=recommendation,
            reasons=c.seal(BestInterestsDetermination.__tablename__, "reasons", bid_id, BID_REASONS[recommendation]),
            status=status, proposed_by_id=c.worker.id, proposed_at=proposed,
            determined_on=_day(determined) if determined else None, closed_at=determined,
            version=1 + (len(panel) if determined else 0),
        )
        c.event(proposed, c.worker, "bid.convene", "bid", bid_id,
                decision=decision, recommendation=recommendation, panel=len(panel))
        for position, member in enumerate(panel):
            signed = proposed + (determined - proposed) * ((position + 1) / len(panel)) if determined else None
            self.batch.add(PanelMember, id=self.uuid(), determination_id=bid_id, case_id=c.id, user_id=member.id,
                           position=position, vote="concur" if signed else "pending", signed_at=signed)
            if signed:
                c.event(signed, member, "bid.sign", "bid", bid_id, vote="concur")

    def _guardian(self, members: list[dict]) -> None:
        c, rng = self.c, self.rng
        guardian_id = self.uuid()
        started = self.at(_day(c.created) + timedelta(days=rng.randint(1, 20)), c.created)
        kind = rng.choice(("legal_guardian", "guardian_ad_litem", "legal_representative"))
        self.batch.add(
            Guardian, id=guardian_id, case_id=c.id, kind=kind,
            name=c.seal(Guardian.__tablename__, "name", guardian_id, "Dra. Ana Lucía Torres"),
            appointed_by=c.seal(Guardian.__tablename__, "appointed_by", guardian_id,
                                "Juzgado de Familia, resolución 2024-1187"),
            started_on=_day(started), recorded_by_id=c.worker.id, created_at=started,
        )
        c.event(started, c.worker, "guardian.add", "guardian", guardian_id, kind=kind)

    def _care(self, members: list[dict]) -> None:
        c, rng = self.c, self.rng
        care_id = self.uuid()
        started = self.at(_day(c.created) + timedelta(days=rng.randint(0, 15)), c.created)
        kind = "residential" if "shelter" in c.reaches else rng.choice(("foster", "kinship", "family"))
        kin = next((m for m in members if not m["possibly_involved"]), None) if kind in ("kinship", "family") else None
        self.batch.add(
            CareArrangement, id=care_id, case_id=c.id, kind=kind, long_term=False,
            family_member_id=kin["id"] if kin else None,
            carer=c.seal(CareArrangement.__tablename__, "carer", care_id, "Hogar Santa Rosa, Lima"),
            started_on=_day(started), recorded_by_id=c.worker.id, created_at=started,
        )
        c.event(started, c.worker, "care.add", "care", care_id, kind=kind)

    # --- victims who stay -----------------------------------------------------------------------------------------

    def _status(self) -> date | None:
        """A protection status applied for; returns the day it was granted, if it was."""
        c, rng = self.c, self.rng
        status_id = self.uuid()
        applied = self.after(c.created, 20, 120)
        if applied is None:
            return None
        decided = self.after(applied, 60, 400)
        state = "applied" if decided is None else pick(rng, {"granted": 75, "refused": 12, "withdrawn": 3,
                                                             "applied": 10})
        if state == "applied":
            decided = None
        kind = pick(rng, STATUS_KINDS)
        self.batch.add(
            ProtectionStatus, id=status_id, case_id=c.id, organisation_id=c.org.id, country=c.org.country,
            kind=kind, state=state, applied_on=_day(applied), decided_on=_day(decided) if decided else None,
            valid_until=(_day(decided) + timedelta(days=4 * 365)) if state == "granted" else None,
            certifying_agency=rng.choice(AGENCIES), work_authorisation=state == "granted",
            reference=c.seal(ProtectionStatus.__tablename__, "reference", status_id,
                             f"EAC-{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(10000, 99999)}"),
            recorded_by_id=c.worker.id, created_at=applied, updated_at=decided or applied,
        )
        c.event(applied, c.worker, "status.record", "protection_status", status_id, kind=kind,
                state=state)
        return _day(decided) if state == "granted" else None

    def _reunification(self, granted: date, members: list[dict]) -> None:
        c, rng = self.c, self.rng
        joining = [m for m in members if m["relationship"] in ("child", "spouse", "mother", "father", "sibling")
                   and not m["possibly_involved"] and m["may_be_told_location"]]
        if not joining:
            return
        opened = self.after(datetime.combine(granted, time(10)), 5, 30)
        if opened is None:
            return
        reunification_id = self.uuid()
        arrivals = []
        member_rows = []
        for member in joining:
            applied = self.after(opened, 5, 30)
            issued = self.after(applied, 30, 150) if applied else None
            arrived = self.after(issued, 10, 40) if issued else None
            arrivals.append(arrived)
            member_rows.append(dict(
                id=self.uuid(), reunification_id=reunification_id, case_id=c.id, family_member_id=member["id"],
                derivative_kind="t3" if member["relationship"] == "child" else "t2" if member["relationship"] ==
                "spouse" else "t4" if member["relationship"] in ("mother", "father") else "t5",
                document_status="issued" if issued else "applied" if applied else "none",
                document_applied_on=_day(applied) if applied else None,
                document_issued_on=_day(issued) if issued else None,
                travel_on=_day(arrived) if arrived else None, arrived_on=_day(arrived) if arrived else None,
                created_at=opened,
            ))
        done = all(arrivals)
        reunified = max(arrivals) if done else None
        status = "reunified" if done else ("in_progress" if any(r["document_applied_on"] for r in member_rows)
                                            else "planning")
        self.batch.add(
            Reunification, id=reunification_id, case_id=c.id, organisation_id=c.org.id, status=status,
            notes=c.seal(Reunification.__tablename__, "notes", reunification_id,
                         "The family will live with her in the apartment the programme rents."),
            opened_on=_day(opened), opened_by_id=c.worker.id,
            reunified_on=_day(reunified) if reunified else None, created_at=opened,
            updated_at=reunified or opened,
        )
        for row in member_rows:
            self.batch.add(ReunificationMember, **row)
        c.event(opened, c.worker, "reunification.open", "reunification", reunification_id,
                members=len(member_rows))
        if reunified:
            c.event(reunified, c.worker, "reunification.arrived", "reunification", reunification_id)
            for kind in rng.sample(("reception", "housing", "school", "medical", "language"), k=rng.randint(1, 3)):
                provided = self.after(reunified, 0, 30)
                if provided is None:
                    continue
                service_id = self.uuid()
                self.batch.add(
                    ReunificationService, id=service_id, reunification_id=reunification_id, case_id=c.id, kind=kind,
                    provided_on=_day(provided),
                    notes=c.seal(ReunificationService.__tablename__, "notes", service_id,
                                 "Enrolled at the neighbourhood school; bus pass provided."),
                    recorded_by_id=c.worker.id, created_at=provided,
                )
