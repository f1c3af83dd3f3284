"""One synthetic case and its journey, as rows: intake contact, consent, screening, stage changes, shelter stays,
counseling sessions, an assisted return with its steps, reintegration with services and monitoring visits, tasks,
referrals and an approved closure, each with the audit events the real operations write.

The journey is a walk through a path of stages (cases.stages.TRANSITIONS) with realistic time in each stage,
stopped at "now": old cases are mostly closed, recent ones still in intake or shelter. Every record the stage
guards ask for is there (consent and an approved plan before a return, a confirmed arrival before reintegration,
an approved closure request linked to the closing stage change, no open placement on a closed case).
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from casemgmt.access.grants import AUDIENCES, CaseGrant
from casemgmt.cases import age
from casemgmt.cases.models import CODE_KINDS, Case, CaseCode, Person, StageChange
from casemgmt.cases.operations import ALL_FIELDS
from casemgmt.consent import demo as consent_demo
from casemgmt.consent.models import ConsentRecord
from casemgmt.counseling import demo as counseling_demo
from casemgmt.counseling.models import CounselingSession
from casemgmt.intake import demo as intake_demo
from casemgmt.intake import sealing
from casemgmt.intake.models import Contact, Screening
from casemgmt.intake.operations import police_report_basis
from casemgmt.intake.vocabulary import CHANNELS, INDICATORS, join_codes
from casemgmt.journey import demo as journey_demo
from casemgmt.journey.models import ClosureRequest, status_for
from casemgmt.matching.models import PersonMatchKey
from casemgmt.referrals import demo as referrals_demo
from casemgmt.referrals.models import Referral
from casemgmt.reintegration import demo as reintegration_demo
from casemgmt.reintegration.models import (
    SUPPORT_TYPES,
    MonitoringVisit,
    ReintegrationPlan,
    ReintegrationSupport,
    ServiceDelivered,
)
from casemgmt.returns import demo as returns_demo
from casemgmt.returns.models import ReturnPlan
from casemgmt.revisions.models import RecordRevision
from casemgmt.shelter import demo as shelter_demo
from casemgmt.shelter.models import Placement
from casemgmt.synth_people import Pools, person, pick
from casemgmt.synth_rows import Actor, Batch, CaseKey, identity_columns, match_key_rows
from casemgmt.tasks import demo as tasks_demo
from casemgmt.tasks.models import Task

_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as cases.models.new_reference

NGO_PATHS = {
    ("intake", "closed"): 9,
    ("intake", "shelter", "counseling", "closed"): 20,
    ("intake", "counseling", "closed"): 15,
    ("intake", "shelter", "closed"): 7,
    ("intake", "shelter", "counseling", "return", "reintegration", "closed"): 8,
    ("intake", "shelter", "return", "reintegration", "closed"): 5,
    ("intake", "counseling", "return", "reintegration", "closed"): 4,
    ("intake", "shelter", "counseling", "return", "closed"): 4,
    ("intake", "shelter", "counseling", "return", "reintegration"): 3,
    # Reopened after closure, and a return abandoned for the shelter.
    ("intake", "counseling", "closed", "counseling", "closed"): 3,
    ("intake", "shelter", "return", "shelter", "counseling", "closed"): 2,
    # Staying in the destination country (protection status, family reunification), some after a return was
    # abandoned.
    ("intake", "shelter", "stay", "closed"): 3,
    ("intake", "counseling", "stay", "closed"): 2,
    ("intake", "shelter", "counseling", "stay"): 2,
    ("intake", "shelter", "return", "stay", "closed"): 1,
    # Cases that stay open for a long time.
    ("intake", "counseling"): 6,
    ("intake", "shelter", "counseling"): 5,
    ("intake",): 3,
}
MISSION_PATHS = {
    ("intake", "return", "reintegration", "closed"): 45,
    ("intake", "return", "closed"): 15,
    ("intake", "closed"): 12,
    ("intake", "counseling", "return", "reintegration", "closed"): 10,
    ("intake", "shelter", "return", "reintegration", "closed"): 8,
    ("intake", "return", "reintegration"): 5,
    ("intake",): 3,
}
# Days in a stage before the next move: (minimum, mean of the exponential part, maximum).
STAY = {"intake": (0.2, 5, 30), "shelter": (7, 40, 180), "counseling": (14, 60, 300), "stay": (90, 240, 720),
        "return": (2, 18, 60),
        "reintegration": (60, 200, 540), "closed": (20, 120, 400)}
CLOSURE_CODES = {"completed": 52, "declined": 14, "lost_contact": 20, "referred": 9, "other": 4, "deceased": 0.3}
CLOSURE_REASONS = {
    **journey_demo.REASONS,
    "other": "Screening found no indicators of trafficking; referred to migrant support services.",
    "deceased": "The person died in hospital; the family was informed through the mission.",
}
REOPEN_REASON = "The person came back asking for support: the recruiter contacted her family again."
ABANDON_REASON = "The person changed her mind about returning after the risk assessment; back to the shelter."
STAY_REASON = "The person was granted a protection status and chose to stay in the destination country."
DISCHARGE_AFTER_CLOSURE = {"completed": "independent_living", "declined": "left_without_notice",
                           "lost_contact": "left_without_notice", "referred": "other_facility",
                           "other": "other_facility", "deceased": "other"}
SCREENING_NOT_FOUND = "NotAVictimOfTrafficking"


@dataclass
class FacilitySlot:
    id: int
    organisation_id: int
    capacity: int
    age_group: str  # shelter.models.AGE_GROUPS
    taken: int = 0

    def takes(self, child: bool) -> bool:
        return self.age_group in (("children", "both") if child else ("adults", "both"))


@dataclass
class OrgProfile:
    id: int
    country: str
    mission: bool
    supervisor: Actor
    creators: tuple[tuple[Actor, ...], tuple[float, ...]]
    assignees: tuple[tuple[Actor | None, ...], tuple[float, ...]]
    takers: tuple[tuple[Actor, ...], tuple[float, ...]]
    working_languages: frozenset[str]
    facilities: list[FacilitySlot] = field(default_factory=list)


@dataclass
class World:
    orgs: list[OrgProfile]
    org_weights: list[float]
    mission: OrgProfile
    mission_actor: Actor  # receives the NGOs' return referrals and works on reintegration
    pools: Pools
    now: datetime
    generations: list  # synth_rows.index_generations()
    programmes: object = None  # synth_programmes.ProgrammeWorld: enrolments and fund requests, when given

    @property
    def today(self) -> date:
        return self.now.date()


def _choose(rng: random.Random, options: tuple[tuple, tuple[float, ...]]):
    return rng.choices(options[0], weights=options[1])[0]


def _days(rng: random.Random, stage: str) -> timedelta:
    low, mean, high = STAY[stage]
    return timedelta(days=min(high, low + rng.expovariate(1 / mean)))


class _Case:
    """What one case's writers share: its ids, key, people, stages and the audit events to chain in order."""

    values: dict  # as the case form gives them (synth_people.person)
    creator: Actor
    assignee: Actor | None
    worker: Actor  # moves the case and runs its return (the assignee, else the supervisor)
    carer: Actor  # places the person and records counseling (caseworkers and supervisors only)
    moves: list[tuple[str, datetime]]  # (stage, entered at), "intake" first
    reaches: set[str]
    other_referral: bool
    return_referral: bool
    share_consent: str | None  # the consent record a referral of the case rests on
    stage: str
    status: str
    closure_codes: list[str]
    age_facts: age.AgeFacts  # what the record holds about the age, for the child rules on each day
    row: dict  # the cases row, for what later rows derive onto it (next_visit_due)

    def __init__(self, writer: CaseWriter, org: OrgProfile, created: datetime):
        self.world = writer.world
        self.rng = writer.rng
        self.org = org
        self.created = created
        self.id = writer.uuid()
        self.key = CaseKey(self.id)
        self.events: list[tuple[datetime, int, dict]] = []
        self.arrived: datetime | None = None  # when the return's arrival was confirmed

    def event(self, at: datetime, actor: Actor, action: str, object_type: str, object_id, case: bool = True,
              **details) -> None:
        self.events.append((at, len(self.events), {
            "at": at, "actor": actor, "action": action, "object_type": object_type, "object_id": object_id,
            "case_id": self.id if case else None, "details": details or None,
        }))

    def seal(self, table: str, column: str, row_id: str, value: str | None):
        return self.key.seal(table, column, row_id, value)

    def moment(self, day: date, earliest: datetime | None = None) -> datetime:
        """A time of day during working hours on `day`, never after now nor before `earliest`."""
        at = datetime.combine(day, time(self.rng.randint(8, 17), self.rng.randint(0, 59), self.rng.randint(0, 59)))
        if earliest is not None and at < earliest:
            at = earliest + timedelta(minutes=self.rng.randint(5, 90))
        return min(at, self.world.now)


class CaseWriter:
    def __init__(self, world: World):
        self.world = world
        self.rng = random.Random()  # noqa: S311 - replaced for each case by write()
        self._references: set[str] = set()
        self.unplaced = 0  # open stays that found every bed taken

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _reference(self) -> str:
        while True:
            ref = "C-" + "".join(self.rng.choice(_REF_ALPHABET) for _ in range(8))
            if ref not in self._references:
                self._references.add(ref)
                return ref

    # The case ------------------------------------------------------------------------------------------------------

    def write(self, batch: Batch, created: datetime, seed: int) -> None:
        # A generator per case: a case whose journey "now" cuts short draws fewer numbers, and must not change the
        # cases after it (the same seed then gives the same data on another day, except near "now").
        self.rng = rng = random.Random(seed)  # noqa: S311 - synthetic data needs no cryptographic randomness
        world = self.world
        org = rng.choices(world.orgs, weights=world.org_weights)[0]
        c = _Case(self, org, created)
        c.values = person(rng, world.pools, org.country, created, world.today)
        c.creator = _choose(rng, org.creators)
        c.assignee = c.creator if c.creator.role in ("caseworker", "mission_staff") and rng.random() < 0.95 \
            else _choose(rng, org.assignees)
        c.worker = c.assignee or org.supervisor
        # Shelter and counseling are for caseworkers and supervisors; mission staff hand them to their supervisor.
        c.carer = c.worker if c.worker.role in ("caseworker", "supervisor") else org.supervisor
        if c.values["trafficking_status"] == SCREENING_NOT_FOUND:
            path = ("intake", "closed")
        else:
            paths = MISSION_PATHS if org.mission else NGO_PATHS
            path = rng.choices(list(paths), weights=list(paths.values()))[0]
        c.moves = self._walk(path, created)
        c.reaches = {stage for stage, _ in c.moves}
        c.other_referral = (not org.mission and rng.random() < 0.04)
        c.return_referral = not org.mission and "return" in c.reaches
        self._case_rows(batch, c)
        self._contact(batch, c)
        if rng.random() < 0.4:
            self._unrelated_contact(batch, c)
        consent = self._consent(batch, c)
        # The consent a referral rests on: a grant names it (access/grants.py).
        c.share_consent = consent["id"] if consent["consents_to_share"] else None
        self._screening(batch, c, consent)
        self._placements(batch, c)
        self._sessions(batch, c)
        plan_start = self._return(batch, c) if "return" in c.reaches else None
        if c.return_referral and plan_start is not None:
            self._referral(batch, c, world.mission.id, world.mission_actor, plan_start, "MigrationOrChangeOfLocation",
                           rng.choice(referrals_demo.RETURN_NOTES), "accepted")
        if c.other_referral:
            self._other_ngo_referral(batch, c)
        if "reintegration" in c.reaches:
            self._reintegration(batch, c)
        self._tasks(batch, c)
        if world.programmes is not None:
            world.programmes.write(batch, c, seed)
        for _at, _n, event in sorted(c.events, key=lambda e: (e[0], e[1])):
            batch.event(**event)

    def _walk(self, path: tuple[str, ...], created: datetime) -> list[tuple[str, datetime]]:
        moves = [(path[0], created)]
        at = created
        for before, stage in itertools.pairwise(path):
            at = at + _days(self.rng, before)
            if at > self.world.now:
                break
            moves.append((stage, at))
        return moves

    def _case_rows(self, batch: Batch, c: _Case) -> None:
        rng, values = self.rng, c.values
        basis = age.basis_for(values)
        band = age.band_for(values, basis, self.world.today) or values["age_band"]
        c.age_facts = age.facts_from_values(values, basis)
        person_id = self.uuid()
        c.key.data_key_row(batch, c.created)
        c.stage, last_at = c.moves[-1]
        c.status = "Active"
        changes = self._stage_changes(batch, c)
        if c.stage == "reintegration" and rng.random() < 0.3:
            c.status = "FollowUp"
        last_mover = changes[-1]["changed_by_id"] if changes else c.creator.id
        c.row = batch.add(
            Case, id=c.id, reference=self._reference(), organisation_id=c.org.id, created_by_id=c.creator.id,
            assigned_to_id=c.assignee.id if c.assignee else None, stage=c.stage, status=c.status,
            trafficking_status=values["trafficking_status"], status_decided_by=values["status_decided_by"],
            recruitment_method=values["recruitment_method"],
            relationship_to_trafficker=values["relationship_to_trafficker"],
            unaccompanied_or_separated=values["unaccompanied_or_separated"], pregnant=values["pregnant"],
            elderly=values["elderly"], ill=values["ill"],
            narrative=c.seal(Case.__tablename__, "narrative", c.id, values["narrative"]),
            # The ORM's version counter moves with every UPDATE: one per stage change after creation.
            version=len(c.moves), created_at=c.created, updated_at=last_at, updated_by_id=last_mover,
            closed_at=last_at if c.stage == "closed" else None,
        )
        batch.add(
            Person, id=person_id, case_id=c.id, gender=values["gender"], citizenship=values["citizenship"],
            languages=",".join(values["languages"]) or None, age_band=band, age_basis=basis,
            **identity_columns(c.key, person_id, values),
        )
        for row in match_key_rows(c.id, values, c.org.country, self.world.generations):
            batch.add(PersonMatchKey, **row)
        for kind in CODE_KINDS:
            for code in sorted(set(values[kind])):
                batch.add(CaseCode, case_id=c.id, kind=kind, code=code)
        fields = sorted(k for k in ALL_FIELDS if values.get(k) not in ("", None))
        c.event(c.created, c.creator, "case.create", "case", c.id, fields=fields)

    def _stage_changes(self, batch: Batch, c: _Case) -> list[dict]:
        rows = [batch.add(StageChange, id=self.uuid(), case_id=c.id, from_stage=None, to_stage="intake",
                          changed_by_id=c.creator.id, changed_at=c.created)]
        c.closure_codes = []
        for (before, entered), (stage, at) in zip(c.moves, c.moves[1:], strict=False):
            change_id = self.uuid()
            reason = None
            mover = c.worker
            if stage == "closed":
                code = "other" if c.values["trafficking_status"] == SCREENING_NOT_FOUND else pick(
                    self.rng, CLOSURE_CODES)
                reason = CLOSURE_REASONS[code]
                mover = c.org.supervisor  # approving the closure request closes the case
                c.closure_codes.append(code)
                c.status = status_for(code)
            elif before == "closed":
                reason, c.status = REOPEN_REASON, "Active"
            elif before == "return":
                reason = STAY_REASON if stage == "stay" else ABANDON_REASON
            rows.append(batch.add(
                StageChange, id=change_id, case_id=c.id, from_stage=before, to_stage=stage, changed_by_id=mover.id,
                changed_at=at, stay_started_at=entered,
                reason=c.seal(StageChange.__tablename__, "reason", change_id, reason),
            ))
            details = {"from": before, "to": stage, "reason_given": reason is not None}
            if "closed" in (before, stage):
                details["status"] = c.status
            c.event(at, mover, "case.stage_change", "case", c.id, **details)
            if stage == "closed":
                self._closure(batch, c, change_id, at, code, reason, rows[-2]["changed_at"])
        return rows[1:]

    def _closure(self, batch: Batch, c: _Case, change_id: str, at: datetime, code: str, reason: str,
                 previous: datetime) -> None:
        request_id = self.uuid()
        requested = max(previous + (at - previous) / 2, at - timedelta(days=self.rng.randint(1, 10)))
        batch.add(
            ClosureRequest, id=request_id, case_id=c.id, code=code, status="approved",
            reason=c.seal(ClosureRequest.__tablename__, "reason", request_id, reason),
            requested_by_id=c.worker.id, requested_at=requested, decided_by_id=c.org.supervisor.id, decided_at=at,
            stage_change_id=change_id,
        )
        c.event(requested, c.worker, "closure.request", "closure_request", request_id, code=code)
        c.event(at, c.org.supervisor, "closure.approve", "closure_request", request_id, code=code,
                status=status_for(code), note_given=False)

    # Intake --------------------------------------------------------------------------------------------------------

    def _contact_values(self, c: _Case, taker: Actor, crisis: bool, victim_known: bool) -> dict:
        rng, values = self.rng, c.values
        caller_type = rng.choice(["PotentialVictim", "PotentialVictim", "FamilyOrFriend", "CommunityMember",
                                  "Anonymous"]) if victim_known else rng.choice(
            ["Agency", "Business", "CommunityMember", "Anonymous"])
        caller_name = None
        if caller_type == "PotentialVictim":
            caller_name = values["given_name"]
        elif caller_type != "Anonymous":
            caller_name = rng.choice(intake_demo.CALLERS)
        minor = bool(victim_known and values["age"] < 18)
        danger = crisis and rng.random() < 0.6
        consent = rng.random() < 0.7
        actions = ["follow_up"] + (["emergency_coordination"] if crisis else []) + (
            ["referral"] if rng.random() < 0.4 else [])
        if (minor or danger or consent) and victim_known and rng.random() < 0.2:
            actions.append("police_report")
        languages = values["languages"]
        return {
            "organisation_id": c.org.id, "taken_by_id": taker.id, "channel": rng.choice(list(CHANNELS)),
            "language": languages[0] if victim_known and languages else "es",
            "caller_type": caller_type,
            "call_type": ("crisis" if crisis else rng.choice(["tip", "referral", "general_information"]))
            if victim_known else rng.choice(["general_information", "training_request"]),
            "indicators": join_codes(rng.sample(list(INDICATORS), k=rng.randint(1, 3))) if victim_known else None,
            "minor_involved": minor, "immediate_danger": danger, "actions": join_codes(actions),
            "consent_to_share": consent, "police_report_basis": police_report_basis(actions, consent, minor, danger),
            "_caller_name": caller_name,
            "_caller_phone": values["phone"] if caller_type == "PotentialVictim" and rng.random() < 0.5 else None,
            "_summary": rng.choice(intake_demo.SUMMARIES) if victim_known else
            "Consulta sobre cómo identificar señales de trata en el lugar de trabajo.",
        }

    def _contact(self, batch: Batch, c: _Case) -> None:
        """The contact that opened the case, sealed under the case's key as intake.sealing.move_to_case leaves it."""
        rng = self.rng
        taker = c.creator if c.creator.role == "hotline_operator" else _choose(rng, c.org.takers)
        crisis = rng.random() < 0.25
        occurred = c.created - timedelta(minutes=rng.randint(10, 180))
        values = self._contact_values(c, taker, crisis, victim_known=True)
        contact_id = self.uuid()
        sealed = {column: c.seal(Contact.__tablename__, column, contact_id, values.pop(f"_{column}"))
                  for column in sealing.SEALED_COLUMNS}
        waiting = crisis and c.stage == "intake" and (self.world.now - c.created) < timedelta(days=2) \
            and rng.random() < 0.5
        handled = None if waiting else occurred + timedelta(minutes=rng.randint(5, 240))
        handled = min(handled, self.world.now) if handled else None
        batch.add(Contact, id=contact_id, occurred_at=occurred, case_id=c.id, linked_as="opened",
                  handled_at=handled, handled_by_id=taker.id if handled else None, created_at=occurred, **values,
                  **sealed)
        filled = sorted(k for k, v in {**values, **sealed}.items()
                        if v not in (None, False, "") and k not in ("organisation_id", "taken_by_id"))
        details = {"fields": filled, "call_type": values["call_type"]}
        if values["police_report_basis"]:
            details["police_report_basis"] = values["police_report_basis"]
        c.event(occurred, taker, "contact.log", "contact", contact_id, case=False, **details)
        c.event(c.created, c.creator, "intake.contact_attach", "contact", contact_id)
        if handled:
            c.event(handled, taker, "contact.handled", "contact", contact_id, call_type=values["call_type"])

    def _unrelated_contact(self, batch: Batch, c: _Case) -> None:
        """Most contacts never become cases; they keep a key of their own (intake.sealing)."""
        taker = _choose(self.rng, c.org.takers)
        occurred = c.created - timedelta(hours=self.rng.randint(1, 72))
        values = self._contact_values(c, taker, False, victim_known=False)
        contact = Contact(id=self.uuid(), case_id=None)
        sealing.give_own_key(contact)
        for column in sealing.SEALED_COLUMNS:
            sealing.seal_contact(contact, column, values.pop(f"_{column}"))
        handled = min(occurred + timedelta(minutes=self.rng.randint(5, 600)), self.world.now)
        batch.add(Contact, id=contact.id, occurred_at=occurred, handled_at=handled, handled_by_id=taker.id,
                  created_at=occurred, wrapped_key=contact.wrapped_key, key_version=contact.key_version,
                  **{column: getattr(contact, column) for column in sealing.SEALED_COLUMNS}, **values)
        c.event(occurred, taker, "contact.log", "contact", contact.id, case=False,
                fields=sorted(k for k, v in values.items() if v not in (None, False, "")),
                call_type=values["call_type"])
        c.event(handled, taker, "contact.handled", "contact", contact.id, case=False, call_type=values["call_type"])

    def _consent(self, batch: Batch, c: _Case) -> dict:
        rng = self.rng
        language = (c.values["languages"] or ["es"])[0]
        interpreter = language not in c.org.working_languages
        actor = c.creator if c.creator.role == "hotline_operator" else c.worker
        # Consent comes before the case's first move (a return, for one, needs it).
        latest = c.moves[1][1] - timedelta(minutes=30) if len(c.moves) > 1 else self.world.now
        obtained = max(c.created, min(c.created + timedelta(hours=rng.randint(0, 72)), latest))
        base = {
            "case_id": c.id, "obtained_by_id": actor.id, "language": language, "interpreter_used": interpreter,
            **{point: True for point in ("point_interview", "point_purpose", "point_data_uses", "point_access_right",
                                         "point_retention", "point_withdrawal")},
            "point_research": rng.random() < 0.8,
        }
        returning = "return" in c.reaches

        guardian = rng.choice(consent_demo.GUARDIANS) if age.child_from(c.age_facts, obtained.date()) else None

        def record(at: datetime, **flags) -> dict:
            record_id = self.uuid()
            # A child on that day assents, with a parent's, guardian's or representative's consent (cases.age).
            child = age.child_from(c.age_facts, at.date())
            name, relationship = guardian if child and guardian else (None, None)
            flags["is_child_assent"] = child
            row = batch.add(
                ConsentRecord, id=record_id, obtained_on=at.date(), created_at=at, **base, **flags,
                interpreter_name=c.seal(ConsentRecord.__tablename__, "interpreter_name", record_id,
                                        rng.choice(consent_demo.INTERPRETERS) if interpreter else None),
                notes=c.seal(ConsentRecord.__tablename__, "notes", record_id,
                             rng.choice(consent_demo.NOTES) if rng.random() < 0.6 else None),
                guardian_name=c.seal(ConsentRecord.__tablename__, "guardian_name", record_id, name),
                guardian_relationship=c.seal(ConsentRecord.__tablename__, "guardian_relationship", record_id,
                                             relationship),
            )
            filled = [k for k, v in {**base, **flags}.items() if v is True] + (
                ["interpreter_name"] if interpreter else []) + (["notes"] if row["notes"] is not None else []) + (
                ["guardian_name", "guardian_relationship"] if name else [])
            c.event(at, actor, "consent.record", "consent", record_id, fields=sorted(filled))
            return row

        if rng.random() < 0.12:
            # An earlier consent to a police report, withdrawn when the person feared for their family.
            earlier = record(obtained, consents_to_share=False, consents_to_return=False,
                             consents_to_police_report=True)
            withdrawn = min(obtained + timedelta(minutes=rng.randint(5, 20)), self.world.now)
            obtained = min(withdrawn + timedelta(minutes=5), self.world.now)
            earlier.update(withdrawn_at=withdrawn, withdrawn_by_id=actor.id, withdrawal_reason=c.seal(
                ConsentRecord.__tablename__, "withdrawal_reason", earlier["id"],
                "La persona teme represalias contra su familia."))
            c.event(withdrawn, actor, "consent.withdraw", "consent", earlier["id"], withdrawn=[
                "consents_to_police_report"])
        return record(obtained, consents_to_share=returning or c.other_referral or rng.random() < 0.6,
                      consents_to_return=returning, consents_to_police_report=rng.random() < 0.3)

    def _screening(self, batch: Batch, c: _Case, consent: dict) -> None:
        rng = self.rng
        moved_on = len(c.moves) > 1
        if not (moved_on and rng.random() < 0.9) and not (
                not moved_on and self.world.now - c.created > timedelta(days=3) and rng.random() < 0.5):
            return
        latest = c.moves[1][1] if moved_on else self.world.now
        screened_at = min(consent["created_at"] + timedelta(hours=rng.randint(1, 72)), latest)
        screened_at = max(screened_at, consent["created_at"])
        screening_id = self.uuid()
        interpreter = consent["interpreter_used"]
        finding = c.values["trafficking_status"] or rng.choice(
            ["PossibleVictimOfTrafficking", "ActualVictimOfTrafficking"])
        notes = rng.choice(intake_demo.INTERVIEW_NOTES) if rng.random() < 0.7 else None
        batch.add(
            Screening, id=screening_id, case_id=c.id, screened_on=screened_at.date(), screened_by_id=c.worker.id,
            consent_record_id=consent["id"], interpreter_used=interpreter,
            interpreter_name=c.seal(Screening.__tablename__, "interpreter_name", screening_id,
                                    rng.choice(consent_demo.INTERPRETERS) if interpreter else None),
            language=consent["language"], indicators=join_codes(rng.sample(list(INDICATORS), k=rng.randint(2, 4))),
            finding=finding, decided_by=c.values["status_decided_by"] or "NGO",
            notes=c.seal(Screening.__tablename__, "notes", screening_id, notes), created_at=screened_at,
        )
        filled = ["decided_by", "finding", "indicators", "language"] + (["interpreter_name"] if interpreter else []) \
            + (["notes"] if notes else [])
        c.event(screened_at, c.worker, "screening.record", "screening", screening_id, fields=sorted(filled),
                consent="recorded")

    # Shelter and counseling ----------------------------------------------------------------------------------------

    def _stays(self, c: _Case) -> list[tuple[datetime, datetime | None, str | None]]:
        """(admitted, discharged or None, reason) for each stay. A stay that began in the shelter stage may last
        through counseling and the preparation of a return, but not for ever: after 30 to 240 days the person moves
        on to a home of their own. A stay ends before a closure."""
        rng = self.rng
        stays: list[tuple[datetime, datetime | None, str | None]] = []
        admitted = until = None
        codes = iter(c.closure_codes)
        for before, (stage, at) in zip((m[0] for m in c.moves), c.moves[1:], strict=False):
            code = next(codes) if stage == "closed" else None
            if admitted is not None and until < at and before != "shelter":
                stays.append((admitted, until, "independent_living"))
                admitted = None
            if admitted is None:
                if stage == "shelter":
                    admitted, until = at, at + timedelta(days=rng.randint(30, 240))
                continue
            if stage in ("shelter", "return") or (stage == "counseling" and before == "shelter" and rng.random() < 0.5):
                if before == "shelter":
                    until = max(until, at)  # the limit counts after the shelter stage, never cuts it short
                continue
            if stage == "closed":
                ended = max(admitted + timedelta(days=1), at - timedelta(days=rng.randint(0, 3)))
                stays.append((admitted, min(ended, at), DISCHARGE_AFTER_CLOSURE[code]))
            else:
                reason = "returned_home" if stage == "reintegration" else rng.choice(
                    ["independent_living", "independent_living", "other_facility"])
                stays.append((admitted, at, reason))
            admitted = None
        if admitted is not None:
            ongoing = c.stage == "shelter" or until > self.world.now
            stays.append((admitted, None, None) if ongoing else (admitted, until, "independent_living"))
        return stays

    def _facility(self, c: _Case, open_stay: bool, admitted_on: date) -> FacilitySlot | None:
        # A facility that takes the person as a child or an adult on the admission date (shelter.operations).
        child = age.child_from(c.age_facts, admitted_on)
        choices = [f for f in c.org.facilities if f.takes(child)]
        if open_stay:
            choices = [f for f in choices if f.taken < f.capacity]
        if not choices:
            return None
        facility = self.rng.choice(choices)
        if open_stay:
            facility.taken += 1
        return facility

    def _placements(self, batch: Batch, c: _Case) -> None:
        rng = self.rng
        for admitted, discharged, reason in self._stays(c):
            facility = self._facility(c, discharged is None, admitted.date())
            if facility is None:
                self.unplaced += discharged is None
                continue  # every bed is taken: the person waits for one
            placement_id = self.uuid()
            admitted_on = admitted.date()
            reflection = admitted_on + timedelta(days=rng.choice([30, 60, 90])) if rng.random() < 0.7 else None
            note = rng.choice(shelter_demo.NOTES[reason]) if reason in shelter_demo.NOTES and rng.random() < 0.6 \
                else None
            batch.add(
                Placement, id=placement_id, case_id=c.id, facility_id=facility.id, admitted_on=admitted_on,
                reflection_period_until=reflection, created_by_id=c.carer.id, created_at=admitted,
                discharged_on=discharged.date() if discharged else None, discharge_reason=reason,
                discharge_note=c.seal(Placement.__tablename__, "discharge_note", placement_id, note),
                discharged_by_id=c.carer.id if discharged else None, discharged_at=discharged,
            )
            c.event(admitted, c.carer, "placement.admit", "placement", placement_id,
                    fields=["facility_id", "admitted_on"] + (["reflection_period_until"] if reflection else []))
            if discharged:
                c.event(discharged, c.carer, "placement.discharge", "placement", placement_id,
                        fields=["discharged_on", "discharge_reason"] + (["discharge_note"] if note else []))

    def _segments(self, c: _Case, stage: str) -> list[tuple[datetime, datetime | None]]:
        out = []
        for i, (name, at) in enumerate(c.moves):
            if name == stage:
                out.append((at, c.moves[i + 1][1] if i + 1 < len(c.moves) else None))
        return out

    def _sessions(self, batch: Batch, c: _Case) -> None:
        rng, today = self.rng, self.world.today
        spans = [(start, end, 6) for start, end in self._segments(c, "counseling")]
        spans += [(start, end, 1) for start, end in self._segments(c, "shelter") if rng.random() < 0.3]
        for start, end, most in spans:
            last_day = (end or self.world.now).date()
            held = start.date() + timedelta(days=rng.randint(0, 7))
            days = []
            while held <= last_day and held <= today and len(days) < most:
                days.append(held)
                held += timedelta(days=rng.randint(5, 25))
            if not days:
                days = [start.date()]
            for i, day in enumerate(days):
                kind = "psychosocial" if i == 0 else rng.choice(["psychosocial", "psychosocial", "legal", "medical"])
                author = c.carer if rng.random() < 0.8 else c.org.supervisor
                open_now = end is None and c.stage != "closed"
                follow_up = day + timedelta(days=rng.randint(7, 30)) if i == len(days) - 1 and open_now else None
                session_id = self.uuid()
                notes = rng.choice(counseling_demo.NOTES[kind]) if rng.random() < 0.9 else None
                recorded = c.moment(day, start)
                row = batch.add(
                    CounselingSession, id=session_id, case_id=c.id, session_type=kind,
                    provider=rng.choice(counseling_demo.PROVIDERS[kind]), held_on=day,
                    duration_minutes=rng.choice([30, 45, 50, 60, 60, 90]), follow_up_on=follow_up,
                    author_id=author.id, created_at=recorded,
                    notes=c.seal(CounselingSession.__tablename__, "notes", session_id, notes),
                )
                fields = ["duration_minutes", "held_on", "provider", "session_type"] + (
                    ["follow_up_on"] if follow_up else []) + (["notes"] if notes else [])
                c.event(recorded, author, "counseling.record", "counseling_session", session_id, fields=sorted(fields))
                self._session_revision(batch, c, row, notes, author, recorded)

    def _session_revision(self, batch: Batch, c: _Case, row: dict, notes: str | None, author: Actor,
                          recorded: datetime) -> None:
        """A few sessions were corrected after the fact (the duration typed wrongly) and a few recorded twice and
        deleted (issue 12, item 6): the version each replaced is in record_revisions, sealed under the case's key,
        as counseling.corrections would have kept it."""
        rng = self.rng
        roll = rng.random()
        if roll >= counseling_demo.CORRECTED_SHARE + counseling_demo.DELETED_SHARE:
            return
        deleted = roll < counseling_demo.DELETED_SHARE
        at = min(recorded + timedelta(days=rng.randint(0, 10), minutes=rng.randint(5, 300)), self.world.now)
        earlier = {name: row[name] for name in ("session_type", "provider", "held_on", "duration_minutes",
                                                "follow_up_on")}
        earlier["notes"] = notes
        revision_id = self.uuid()
        if deleted:
            reason = rng.choice(counseling_demo.DELETION_REASONS)
            row.update(deleted_at=at, deleted_by_id=author.id, version=2,
                       deletion_reason=c.seal(CounselingSession.__tablename__, "deletion_reason", row["id"], reason))
        else:
            reason = rng.choice(counseling_demo.CORRECTION_REASONS)
            earlier["duration_minutes"] = rng.choice([m for m in (30, 45, 50, 60, 90) if m != row["duration_minutes"]])
            row["version"] = 2
        content = json.dumps({k: v.isoformat() if isinstance(v, date) else v for k, v in earlier.items()},
                             sort_keys=True, ensure_ascii=False)
        batch.add(RecordRevision, id=revision_id, record_type="counseling_session", record_id=row["id"], case_id=c.id,
                  version=1, change="delete" if deleted else "correct", changed_by_id=author.id, changed_at=at,
                  content=c.seal(RecordRevision.__tablename__, "content", revision_id, content),
                  reason=c.seal(RecordRevision.__tablename__, "reason", revision_id, reason))
        if deleted:
            c.event(at, author, "counseling.delete", "counseling_session", row["id"], revision=revision_id,
                    from_version=1, to_version=2)
        else:
            c.event(at, author, "counseling.correct", "counseling_session", row["id"], fields=["duration_minutes"],
                    revision=revision_id, from_version=1, to_version=2)

    # Return and reintegration --------------------------------------------------------------------------------------

    def _return(self, batch: Batch, c: _Case) -> datetime:
        """The return plan, approved before the move to "return"; its later steps follow the case's next stage.
        Returns when the plan was started."""
        rng, now = self.rng, self.world.now
        index = next(i for i, (stage, _) in enumerate(c.moves) if stage == "return")
        entered = c.moves[index][1]
        after = c.moves[index + 1] if index + 1 < len(c.moves) else None
        earliest = c.moves[index - 1][1]
        started = max(entered - timedelta(days=rng.randint(25, 45)), earliest + (entered - earliest) * 0.2)
        span = entered - started

        def on(share: float) -> datetime:
            return started + span * share

        country = c.values["citizenship"] or self.world.mission.country
        sender, approver = c.worker, c.org.supervisor
        receiver = c.worker if c.org.mission else self.world.mission_actor
        # A child on the day of approval (and so on every day of travel after it) goes with an escort, or now and
        # then with a parent or legal guardian instead (returns.queries.needs_escort).
        child = age.child_from(c.age_facts, on(0.9).date())
        guardian = returns_demo.GUARDIANS[rng.randrange(len(returns_demo.GUARDIANS))] \
            if child and rng.random() < 0.3 else None
        escort = (child and guardian is None) or (not child and rng.random() < 0.2)
        level, risk = rng.choice(returns_demo.RISKS)
        outcome, family = rng.choice(returns_demo.FAMILIES)
        plan_id = self.uuid()

        def sealed(column: str, value: str | None):
            return c.seal(ReturnPlan.__tablename__, column, plan_id, value)

        steps = {
            "status": "approved", "departed_on": None, "departure_confirmed_by_id": None,
            "departure_confirmed_at": None, "arrived_on": None, "arrival_confirmed_by_id": None,
            "arrival_confirmed_at": None, "cancelled_by_id": None, "cancelled_at": None, "cancellation_reason": None,
        }
        departed = arrived = None
        if after is not None and after[0] in ("reintegration", "closed"):
            arrived = after[1] - timedelta(hours=rng.randint(1, 12))
            departed = arrived - timedelta(hours=rng.choice([4, 8, 20, 30]))
            departed = max(departed, entered + timedelta(minutes=30))
            arrived = max(arrived, departed + timedelta(minutes=30))
        elif after is not None:
            steps.update(status="cancelled", cancelled_by_id=sender.id, cancelled_at=after[1],
                         cancellation_reason=sealed("cancellation_reason", ABANDON_REASON))
        elif rng.random() < 0.35:
            departed = min(entered + timedelta(days=rng.randint(0, 10)), now)
        if departed is not None:
            steps.update(status="departed", departed_on=departed.date(), departure_confirmed_by_id=sender.id,
                         departure_confirmed_at=departed)
        if arrived is not None:
            steps.update(status="arrived", arrived_on=arrived.date(), arrival_confirmed_by_id=receiver.id,
                         arrival_confirmed_at=arrived)
        requested = on(0.1).date()
        batch.add(
            ReturnPlan, id=plan_id, case_id=c.id, receiving_organisation_id=self.world.mission.id,
            destination_country=country,
            destination_locality=sealed("destination_locality", rng.choice(
                returns_demo.LOCALITIES.get(country, returns_demo.LOCALITIES["HT"]))),
            risk_level=level, risk_summary=sealed("risk_summary", risk), risk_assessed_on=on(0.15).date(),
            risk_assessed_by_id=sender.id, family_outcome=outcome, family_summary=sealed("family_summary", family),
            family_assessed_on=on(0.3).date(), family_assessed_by_id=sender.id, travel_document_status="issued",
            travel_document_requested_on=requested, travel_document_issued_on=on(0.6).date(),
            consular_contact_made=True, consular_contact_on=requested,
            consular_note=sealed("consular_note", returns_demo.CONSULAR),
            planned_departure_on=(departed or entered + timedelta(days=rng.randint(0, 20))).date(),
            route_details=sealed("route_details", rng.choice(returns_demo.ROUTES)), escort_required=escort,
            escort_name=sealed("escort_name", rng.choice(returns_demo.ESCORTS) if escort else None),
            guardian_name=sealed("guardian_name", guardian[0] if guardian else None),
            guardian_relationship=sealed("guardian_relationship", guardian[1] if guardian else None),
            created_by_id=sender.id, created_at=started, updated_at=max(
                t for t in (entered, departed, arrived, steps["cancelled_at"]) if t is not None),
            submitted_by_id=sender.id, submitted_at=on(0.75), approved_by_id=approver.id, approved_at=on(0.9),
            **steps,
        )
        c.event(started, sender, "return.plan_create", "return_plan", plan_id,
                fields=["destination_country", "destination_locality", "receiving_organisation_id"])
        for share, action, fields in (
            (0.1, "return.travel_document", ["travel_document_status", "travel_document_requested_on"]),
            (0.12, "return.consular_contact", ["consular_contact_made", "consular_contact_on", "consular_note"]),
            (0.15, "return.risk_assessment", ["risk_level", "risk_summary", "risk_assessed_on"]),
            (0.3, "return.family_assessment", ["family_outcome", "family_summary", "family_assessed_on"]),
            (0.6, "return.travel_document", ["travel_document_status", "travel_document_issued_on"]),
            (0.7, "return.itinerary", ["planned_departure_on", "route_details", "escort_required", "escort_name",
                                       "guardian_name", "guardian_relationship"]),
        ):
            c.event(on(share), sender, action, "return_plan", plan_id, fields=fields)
        c.event(on(0.75), sender, "return.submit", "return_plan", plan_id, **{"from": "draft", "to": "submitted"})
        c.event(on(0.9), approver, "return.approve", "return_plan", plan_id, **{"from": "submitted", "to": "approved"})
        if departed is not None:
            c.event(departed, sender, "return.depart", "return_plan", plan_id, **{"from": "approved", "to": "departed"})
        if arrived is not None:
            c.event(arrived, receiver, "return.arrive", "return_plan", plan_id, **{"from": "departed", "to": "arrived"})
        if steps["cancelled_at"] is not None:
            c.event(steps["cancelled_at"], sender, "return.cancel", "return_plan", plan_id,
                    **{"from": "approved", "to": "cancelled"})
        c.arrived = arrived
        return started

    def _referral(self, batch: Batch, c: _Case, to_org: int, responder: Actor, before: datetime, reason: str,
                  note: str, status: str) -> None:
        rng = self.rng
        referral_id = self.uuid()
        created = max(before - timedelta(days=rng.randint(1, 5)), c.created + timedelta(hours=1))
        responded = min(created + timedelta(hours=rng.randint(2, 72)), self.world.now) if status != "pending" \
            else None
        decline = "Our legal team is at capacity this month." if status == "declined" else None
        batch.add(
            Referral, id=referral_id, case_id=c.id, from_organisation_id=c.org.id, to_organisation_id=to_org,
            reason=reason, status=status, consent_basis="consent",
            note=c.seal(Referral.__tablename__, "note", referral_id, note), created_by_id=c.worker.id,
            created_at=created, responded_by_id=responder.id if responded else None, responded_at=responded,
            decline_reason=c.seal(Referral.__tablename__, "decline_reason", referral_id, decline),
        )
        c.event(created, c.worker, "referral.create", "referral", referral_id, to_organisation=to_org,
                from_organisation=c.org.id, kind="referral", reason=reason, consent_basis="consent", fields=["note"])
        if responded:
            c.event(responded, responder, f"referral.{'accept' if status == 'accepted' else 'decline'}", "referral",
                    referral_id, from_organisation=c.org.id, to_organisation=to_org, kind="referral")
        if status == "accepted":
            self._grant(batch, c, to_org, responder, referral_id, responded)

    def _grant(self, batch: Batch, c: _Case, to_org: int, responder: Actor, referral_id: str, at: datetime) -> None:
        """The access an accepted referral gives, as referrals.operations.accept_referral() grants it: the receiving
        organisation's row, and the accepting caseworker's own when the organisation's does not reach them."""
        ids = [self.uuid()]
        if responder.role not in AUDIENCES["referral"]:
            ids.append(self.uuid())
        for grant_id, user_id in zip(ids, (None, responder.id), strict=False):
            batch.add(CaseGrant, id=grant_id, case_id=c.id, organisation_id=to_org, user_id=user_id, level="referral",
                      reason_kind="referral", reason_id=referral_id, consent_id=c.share_consent, granted_at=at,
                      granted_by_id=responder.id)
        c.event(at, responder, "grant.create", "grant", ids[0], to_organisation=to_org, from_organisation=c.org.id,
                level="referral", reason_kind="referral", reason_id=referral_id, grants=sorted(ids),
                personal=len(ids) > 1, consent=c.share_consent is not None)

    def _other_ngo_referral(self, batch: Batch, c: _Case) -> None:
        """Now and then an NGO refers a case to the other NGO for services it does not offer."""
        at = c.created + timedelta(days=self.rng.randint(5, 40))
        others = [o for o in self.world.orgs if not o.mission and o.id != c.org.id]
        if not others or at > self.world.now - timedelta(days=1):
            return
        status = pick(self.rng, {"accepted": 55, "declined": 20, "pending": 25})
        other = others[0]
        responder = next(a for a in other.assignees[0] if a is not None)
        self._referral(batch, c, other.id, responder, at, "AdditionalServicesRequired", referrals_demo.SERVICES_NOTE,
                       status)

    def _reintegration(self, batch: Batch, c: _Case) -> None:
        rng, today = self.rng, self.world.today
        arrived = c.arrived
        if arrived is None:
            return
        late = rng.random() < 0.2
        made = arrived.date() + timedelta(days=rng.randint(35, 50) if late else rng.randint(3, 28))
        if made > today:
            return  # the plan is not made yet
        actor = c.worker if c.org.mission else self.world.mission_actor
        closing = next((at for stage, at in c.moves if stage == "closed" and at > arrived), None)
        if closing is not None and made > closing.date():
            made = closing.date()  # a short reintegration: the plan was made just before the case closed
        end = closing.date() if closing else today
        plan_id = self.uuid()
        supports = sorted(rng.sample(list(SUPPORT_TYPES), k=rng.randint(2, 4)))
        created = c.moment(made, arrived)
        batch.add(
            ReintegrationPlan, id=plan_id, case_id=c.id, created_on=made,
            objectives=c.seal(ReintegrationPlan.__tablename__, "objectives", plan_id,
                              rng.choice(reintegration_demo.OBJECTIVES)),
            planned_end_on=made + timedelta(days=rng.randint(180, 365)),
            actual_end_on=max(end, made) if closing else None, responsible_organisation_id=self.world.mission.id,
            created_by_id=actor.id, created_at=created, updated_at=created,
        )
        for support in supports:
            batch.add(ReintegrationSupport, plan_id=plan_id, support_type=support)
        c.event(created, actor, "reintegration.plan_create", "reintegration_plan", plan_id,
                fields=["created_on", "support_types", "objectives", "planned_end_on", "actual_end_on",
                        "responsible_organisation_id"])
        currency = "HTG" if c.values["citizenship"] == "HT" else "USD"
        span = max((end - made).days, 0)
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(supports)
            service_id = self.uuid()
            delivered = made + timedelta(days=rng.randint(0, span))
            note = "Receipt kept by the mission; second instalment pending." if rng.random() < 0.25 else None
            recorded = c.moment(delivered, created)
            batch.add(
                ServiceDelivered, id=service_id, plan_id=plan_id, case_id=c.id, service_type=kind,
                provider=rng.choice(reintegration_demo.PROVIDERS[kind]),
                amount=Decimal(rng.randint(50, 1500)) * (Decimal(130) if currency == "HTG" else Decimal(1)),
                currency=currency, delivered_on=delivered, implemented=rng.random() < 0.85,
                note=c.seal(ServiceDelivered.__tablename__, "note", service_id, note), recorded_by_id=actor.id,
                created_at=recorded,
            )
            c.event(recorded, actor, "reintegration.service", "reintegration_service", service_id,
                    fields=["service_type", "provider", "amount", "currency", "delivered_on", "implemented"]
                    + (["note"] if note else []))
        visits, visited = [], made
        while len(visits) < 4:
            visited = visited + timedelta(days=rng.randint(20, 45))
            if visited > end:
                break
            visits.append(visited)
        scores = {"economic_score": rng.randint(1, 3), "social_score": rng.randint(2, 3),
                  "psychosocial_score": rng.randint(1, 3)}
        for i, day in enumerate(visits):
            if i + 1 < len(visits):
                next_due = visits[i + 1]
            else:
                next_due = None if closing else max(day + timedelta(days=1), today + timedelta(
                    days=rng.randint(-10, 40)))
            visit_id = self.uuid()
            observations = rng.choice(reintegration_demo.OBSERVATIONS) if rng.random() < 0.85 else None
            recorded = c.moment(day, created)
            batch.add(
                MonitoringVisit, id=visit_id, case_id=c.id, visited_on=day, visited_by_id=actor.id, **scores,
                observations=c.seal(MonitoringVisit.__tablename__, "observations", visit_id, observations),
                next_visit_due=next_due, recorded_by_id=actor.id, created_at=recorded,
            )
            c.row["next_visit_due"] = next_due  # the visits go forward in time: this one is the latest so far
            c.event(recorded, actor, "reintegration.visit", "monitoring_visit", visit_id,
                    fields=["visited_on", "visited_by_id", "economic_score", "social_score", "psychosocial_score",
                            "next_visit_due"] + (["observations"] if observations else []))
            scores = {k: min(5, v + rng.randint(0, 1)) for k, v in scores.items()}

    # Tasks ---------------------------------------------------------------------------------------------------------

    def _tasks(self, batch: Batch, c: _Case) -> None:
        rng, now, today = self.rng, self.world.now, self.world.today
        if c.stage in tasks_demo.TITLES:
            entered = c.moves[-1][1]
            count = rng.choices([0, 1, 2, 3], weights=[25, 35, 25, 15])[0]
            titles = rng.sample(tasks_demo.TITLES[c.stage], k=count)
            window = (entered, now)
        else:
            passed = [(stage, at, nxt) for (stage, at), (_, nxt) in zip(c.moves, c.moves[1:], strict=False)
                      if stage in tasks_demo.TITLES]
            if not passed or rng.random() < 0.5:
                return
            stage, start, end = rng.choice(passed)
            titles = rng.sample(tasks_demo.TITLES[stage], k=rng.randint(1, 2))
            window = (start, end)
        for title, description in titles:
            description = description if rng.random() < 0.7 else None
            task_id = self.uuid()
            created = window[0] + (window[1] - window[0]) * rng.random() * 0.5
            if c.stage in tasks_demo.TITLES:
                due = today + timedelta(days=rng.randint(-10, 21))
                done = created + (now - created) * rng.random() if rng.random() < 0.3 else None
            else:
                due = (created + timedelta(days=rng.randint(2, 14))).date()
                done = created + (window[1] - created) * rng.random()
            assignee = c.assignee or c.worker
            batch.add(
                Task, id=task_id, organisation_id=c.org.id, case_id=c.id, title=title,
                description=c.seal(Task.__tablename__, "description", task_id, description),
                due_on=due, priority=rng.choice(("normal", "normal", "high", "low")), assignee_id=assignee.id,
                created_by_id=c.worker.id, created_at=created, updated_at=done or created, done_at=done,
                done_by_id=assignee.id if done else None,
            )
            c.event(created, c.worker, "task.create", "task", task_id,
                    fields=sorted(["assignee_id", "due_on", "priority", "title"] + (
                        ["description"] if description else [])))
            if done:
                c.event(done, assignee, "task.complete", "task", task_id)
