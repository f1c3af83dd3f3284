"""Named verbs of a child's best interests. Each checks its policy on the object it touches, changes the record,
writes its audit event (ids and codes, never names or text) and leaves the commit to the caller.

Signing a determination, and why two signatures at once can neither both miss the decision nor both make it: a
signature first locks the determination's row (core.invariants.lock_row: SELECT ... FOR UPDATE on PostgreSQL, the
write lock on SQLite), then reads it again, records the member's vote with a conditional UPDATE (... WHERE vote =
'pending': the same member twice signs once), and only then counts the panel's votes. The second of two signatures
waits for the first to commit and counts its vote, so the last concurrence always sees every other one; the decision
itself is a conditional UPDATE (... WHERE status = 'convened') that moves the version counter, so it is made once.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy import select

from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.bestinterests import panel, queries
from casemgmt.bestinterests.models import (
    BIA_SECTIONS,
    BID_STATUSES,
    CARE_KINDS,
    DECISIONS,
    GUARDIAN_KINDS,
    RECOMMENDATIONS,
    BestInterestsAssessment,
    BestInterestsDetermination,
    CareArrangement,
    Guardian,
    PanelMember,
)
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core import versions
from casemgmt.core.invariants import lock_row, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db


class BestInterestsError(ValueError):
    """A step that cannot be taken; the message is shown to the user (already translated)."""


def _clean(value) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    return value or None


def _event(action: str, actor, object_type: str, obj, **details) -> None:
    record_event(action, object_type=object_type, object_id=obj.id, case_id=obj.case_id, actor=actor,
                 details=details or None)


def _day(value, what: str, *, required: bool = True) -> date | None:
    if value is None and not required:
        return None
    if not isinstance(value, date):
        raise BestInterestsError(gettext("Give %(what)s as a date.", what=what))
    if value > date.today():
        raise BestInterestsError(gettext("%(what)s cannot be in the future.", what=what))
    if value.year < 1900:
        raise BestInterestsError(gettext("%(what)s is too far in the past.", what=what))
    return value


def not_a_child_message() -> str:
    return gettext("The best-interests procedure is for children: this person is not a child (under 18) today.")


def _check_case(case: Case) -> None:
    if case.stage == "closed":
        raise BestInterestsError(gettext("This case is closed: reopen it before recording its best interests."))
    if not queries.is_child(case):
        raise BestInterestsError(not_a_child_message())


# Loading ---------------------------------------------------------------------------------------------------------

def open_page(actor, case_id: str) -> Case:
    """The case for its best-interests page (another organisation's case answers 404); the view is audited, since
    the page decrypts what the assessments say about the child."""
    case = queries.case_or_404(case_id)
    authorize(actor, Action.BEST_INTERESTS_VIEW, case)
    record_event("bestinterests.view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case


def load_case(actor, case_id: str, action: Action = Action.BEST_INTERESTS_RECORD) -> Case:
    case = queries.case_or_404(case_id)
    authorize(actor, action, case)
    return case


def load_determination(actor, determination_id: str, action: Action) -> BestInterestsDetermination:
    determination = queries.determination_or_404(determination_id)
    # Someone who may not open the case learns nothing about it: 404 from another organisation, 403 inside.
    authorize(actor, Action.BEST_INTERESTS_VIEW, determination.case)
    authorize(actor, action, determination)
    return determination


def open_determination(actor, determination_id: str) -> BestInterestsDetermination:
    """A determination for its page, the view audited (the page decrypts its reasons)."""
    determination = load_determination(actor, determination_id, Action.BEST_INTERESTS_VIEW)
    record_event("bid.view", object_type="bid", object_id=determination.id, case_id=determination.case_id,
                 actor=actor)
    return determination


# The assessment (BIA) --------------------------------------------------------------------------------------------

def _assessment_values(values: dict) -> tuple[date, dict[str, str | None]]:
    assessed_on = _day(values.get("assessed_on"), gettext("The date of the assessment"))
    texts = {name: _clean(values.get(name)) for name in BIA_SECTIONS}
    if not any(texts.values()):
        raise BestInterestsError(gettext("Write at least one part of the assessment (the child's views first)."))
    return assessed_on, texts


def record_assessment(actor, case: Case, values: dict) -> BestInterestsAssessment:
    authorize(actor, Action.BEST_INTERESTS_RECORD, case)
    _check_case(case)
    assessed_on, texts = _assessment_values(values)
    assessment = BestInterestsAssessment(
        id=new_uuid(), case_id=case.id, organisation_id=case.organisation_id, assessed_on=assessed_on,
        recorded_by_id=actor.id, created_at=utcnow(), updated_at=utcnow(),
    )
    for name, text in texts.items():
        seal(assessment, name, text)
    db.session.add(assessment)
    db.session.flush()
    _event("bia.record", actor, "bia", assessment, fields=[n for n, t in texts.items() if t])
    return assessment


def _saved_assessment(assessment: BestInterestsAssessment) -> dict:
    return {"assessed_on": assessment.assessed_on, **queries.reveal_assessment(assessment)}


def update_assessment(actor, assessment: BestInterestsAssessment, values: dict) -> None:
    """Correct an assessment, from the version the form was filled from (core/versions.py)."""
    authorize(actor, Action.BEST_INTERESTS_RECORD, assessment.case)
    _check_case(assessment.case)
    fields = ["assessed_on", *BIA_SECTIONS]
    if "version" in values:
        versions.check(assessment, "bia", versions.base_of(values["version"]),
                       lambda: _saved_assessment(assessment), values, fields)
    assessed_on, texts = _assessment_values(values)
    before = _saved_assessment(assessment)
    assessment.assessed_on = assessed_on
    for name, text in texts.items():
        seal(assessment, name, text)
    assessment.updated_at = utcnow()
    versions.flush(assessment, "bia", _saved_assessment, {"assessed_on": assessed_on, **texts}, fields)
    changed = [f for f in fields if versions.normalise(before.get(f)) != versions.normalise(
        assessed_on if f == "assessed_on" else texts.get(f))]
    _event("bia.record", actor, "bia", assessment, fields=changed, corrected=True)


# The determination (BID) -----------------------------------------------------------------------------------------

def no_assessment_message() -> str:
    return gettext("A determination rests on a best-interests assessment: record one first.")


def convene(actor, case: Case, values: dict) -> BestInterestsDetermination:
    """Propose a determination and name its panel (panel.py says who may decide); it waits, "convened", for every
    member's signature."""
    authorize(actor, Action.BEST_INTERESTS_RECORD, case)
    _check_case(case)
    assessment_id = values.get("assessment_id")
    if not queries.assessments_of(case.id):
        raise BestInterestsError(no_assessment_message())
    assessment = db.session.get(BestInterestsAssessment, assessment_id) if isinstance(assessment_id, str) else None
    if assessment is None or assessment.case_id != case.id:
        raise BestInterestsError(gettext("Choose the assessment the determination rests on."))
    decision, recommendation = values.get("decision"), values.get("recommendation")
    if decision not in DECISIONS:
        raise BestInterestsError(gettext("Choose what the panel decides about."))
    if recommendation not in RECOMMENDATIONS:
        raise BestInterestsError(gettext("Choose the recommendation."))
    reasons = _clean(values.get("reasons"))
    if reasons is None:
        raise BestInterestsError(gettext("Give the reasons for the recommendation."))
    members = [int(m) for m in values.get("panel") or []]
    candidates = {user.id for user in queries.panel_candidates(case)}
    refused = panel.refusal(members, candidates, case.assigned_to_id, actor.id)
    if refused:
        raise BestInterestsError(refused)
    determination = BestInterestsDetermination(
        id=new_uuid(), case_id=case.id, organisation_id=case.organisation_id, assessment_id=assessment.id,
        decision=decision, recommendation=recommendation, status="convened", proposed_by_id=actor.id,
        proposed_at=utcnow(),
    )
    seal(determination, "reasons", reasons)
    seal(determination, "conditions", _clean(values.get("conditions")))
    determination.panel = [PanelMember(id=new_uuid(), case_id=case.id, user_id=user_id, position=position)
                           for position, user_id in enumerate(members)]
    db.session.add(determination)
    db.session.flush()
    _event("bid.convene", actor, "bid", determination, decision=decision, recommendation=recommendation,
           panel=len(members))
    return determination


def _moved_on(determination: BestInterestsDetermination) -> BestInterestsError:
    return BestInterestsError(gettext("This determination no longer waits for the panel: %(status)s.",
                                      status=BID_STATUSES.label(determination.status)))


def sign(actor, determination: BestInterestsDetermination, vote: str, reason: str | None = None) -> str | None:
    """A panel member's signature: concur, or dissent with a reason. Returns the determination's new status when
    this signature decided it ("determined" when every member has concurred, "not agreed" at the first dissent)."""
    authorize(actor, Action.BID_SIGN, determination)
    if vote not in ("concur", "dissent"):
        raise BestInterestsError(gettext("Choose whether you concur or dissent."))
    reason = _clean(reason)
    if vote == "dissent" and reason is None:
        raise BestInterestsError(gettext("Say why you dissent."))
    # See the module's docstring: lock, read again, then vote and count.
    lock_row(BestInterestsDetermination, determination.id, BestInterestsDetermination.proposed_at)
    db.session.refresh(determination)
    if determination.status != "convened":
        raise _moved_on(determination)
    member = db.session.scalar(select(PanelMember).where(PanelMember.determination_id == determination.id,
                                                         PanelMember.user_id == actor.id))
    if member is None:  # the policy let only members through; the panel cannot change once convened
        raise BestInterestsError(gettext("Only a member of the panel signs its determination."))
    db.session.refresh(member)
    if not transition(member, PanelMember.vote == "pending", vote=vote, signed_at=utcnow()):
        raise BestInterestsError(gettext("You have already signed this determination."))
    if vote == "dissent":
        seal(member, "dissent_reason", reason)
    _event("bid.sign", actor, "bid", determination, vote=vote)
    votes = list(db.session.scalars(select(PanelMember.vote)
                                    .where(PanelMember.determination_id == determination.id)))
    outcome = "not_agreed" if vote == "dissent" else ("determined" if all(v == "concur" for v in votes) else None)
    if outcome is not None:
        changes = {"status": outcome, "closed_at": utcnow()}
        if outcome == "determined":
            changes["determined_on"] = date.today()
        if not transition(determination, BestInterestsDetermination.status == "convened", **changes):
            raise _moved_on(determination)
        _event("bid.determined" if outcome == "determined" else "bid.not_agreed", actor, "bid", determination,
               recommendation=determination.recommendation)
    db.session.expire(determination, ["panel"])
    return outcome


def may_withdraw(actor, determination: BestInterestsDetermination) -> bool:
    return determination.status == "convened" and determination.proposed_by_id == getattr(actor, "id", None)


def withdraw(actor, determination: BestInterestsDetermination, reason: str | None) -> None:
    """Whoever proposed a determination may withdraw it while it waits for the panel, saying why."""
    authorize(actor, Action.BEST_INTERESTS_RECORD, determination.case)
    if determination.proposed_by_id != actor.id:
        raise BestInterestsError(gettext("Only whoever proposed a determination may withdraw it."))
    reason = _clean(reason)
    if reason is None:
        raise BestInterestsError(gettext("Say why the determination is withdrawn."))
    if not transition(determination, BestInterestsDetermination.status == "convened", status="withdrawn",
                      closed_at=utcnow()):
        raise _moved_on(determination)
    seal(determination, "withdrawal_reason", reason)
    db.session.flush()
    _event("bid.withdraw", actor, "bid", determination)


# Guardians and care arrangements -------------------------------------------------------------------------------------

def _family_member(case: Case, member_id) -> str | None:
    """A family member of the case who may be named guardian or carer: never one who may be involved in the
    trafficking."""
    if not member_id:
        return None
    member = next((m for m in queries.family_members(case.id) if m.id == member_id), None)
    if member is None:
        raise BestInterestsError(gettext("Choose a family member of this case."))
    if member.possibly_involved:
        raise BestInterestsError(gettext("This family member may be involved in the trafficking: they can be "
                                         "neither the child's guardian nor their carer."))
    return member.id


def _dates(values: dict, what_start: str) -> tuple[date, date | None]:
    started = _day(values.get("started_on"), what_start)
    ended = _day(values.get("ended_on"), gettext("The end date"), required=False)
    if ended is not None and ended < started:
        raise BestInterestsError(gettext("The end date cannot be before the start date."))
    return started, ended


def add_guardian(actor, case: Case, values: dict) -> Guardian:
    authorize(actor, Action.BEST_INTERESTS_RECORD, case)
    _check_case(case)
    kind = values.get("kind")
    if kind not in GUARDIAN_KINDS:
        raise BestInterestsError(gettext("Choose the kind of guardian or representative."))
    member_id = _family_member(case, values.get("family_member_id"))
    name = _clean(values.get("name"))
    if member_id is None and name is None:
        raise BestInterestsError(gettext("Name the guardian, or choose them among the family members."))
    started, ended = _dates(values, gettext("The date of appointment"))
    guardian = Guardian(id=new_uuid(), case_id=case.id, kind=kind, family_member_id=member_id, started_on=started,
                        ended_on=ended, recorded_by_id=actor.id, created_at=utcnow())
    seal(guardian, "name", name)
    seal(guardian, "contact", _clean(values.get("contact")))
    seal(guardian, "appointed_by", _clean(values.get("appointed_by")))
    db.session.add(guardian)
    db.session.flush()
    _event("guardian.add", actor, "guardian", guardian, kind=kind, family_member=member_id is not None)
    return guardian


def long_term_refusal(case: Case) -> str | None:
    if queries.recommends(case.id, "placement"):
        return None
    return gettext("A long-term care arrangement needs a best-interests determination recommending a long-term "
                   "placement: none has been determined for this child.")


def add_care(actor, case: Case, values: dict) -> CareArrangement:
    authorize(actor, Action.BEST_INTERESTS_RECORD, case)
    _check_case(case)
    kind = values.get("kind")
    if kind not in CARE_KINDS:
        raise BestInterestsError(gettext("Choose the kind of care."))
    long_term = bool(values.get("long_term"))
    if long_term and (refused := long_term_refusal(case)):
        raise BestInterestsError(refused)
    member_id = _family_member(case, values.get("family_member_id"))
    carer = _clean(values.get("carer"))
    if member_id is None and carer is None:
        raise BestInterestsError(gettext("Say who cares for the child, or choose them among the family members."))
    started, ended = _dates(values, gettext("The start date"))
    care = CareArrangement(id=new_uuid(), case_id=case.id, kind=kind, long_term=long_term,
                           family_member_id=member_id, started_on=started, ended_on=ended, recorded_by_id=actor.id,
                           created_at=utcnow())
    seal(care, "carer", carer)
    seal(care, "notes", _clean(values.get("notes")))
    db.session.add(care)
    db.session.flush()
    _event("care.add", actor, "care", care, kind=kind, long_term=long_term)
    return care


def _end(actor, record, model, ended_on, action: str, object_type: str) -> None:
    authorize(actor, Action.BEST_INTERESTS_RECORD, record.case)
    if record.case.stage == "closed":
        raise BestInterestsError(gettext("This case is closed: reopen it before recording its best interests."))
    ended = _day(ended_on, gettext("The end date"))
    if ended < record.started_on:
        raise BestInterestsError(gettext("The end date cannot be before the start date."))
    # Conditional: of two "end" clicks, the second finds it ended and is refused instead of moving the date.
    if not transition(record, model.ended_on.is_(None), ended_on=ended):
        raise BestInterestsError(gettext("This has already ended."))
    _event(action, actor, object_type, record)


def end_guardian(actor, guardian: Guardian, ended_on) -> None:
    _end(actor, guardian, Guardian, ended_on, "guardian.end", "guardian")


def end_care(actor, care: CareArrangement, ended_on) -> None:
    _end(actor, care, CareArrangement, ended_on, "care.end", "care")


def reasons_of(determination: BestInterestsDetermination) -> dict:
    """The determination's text and each dissent, decrypted (for bestinterests.view only)."""
    return {
        "reasons": unseal(determination, "reasons"),
        "conditions": unseal(determination, "conditions"),
        "withdrawal_reason": unseal(determination, "withdrawal_reason"),
        "dissents": {m.id: unseal(m, "dissent_reason") for m in determination.panel if m.vote == "dissent"},
    }
