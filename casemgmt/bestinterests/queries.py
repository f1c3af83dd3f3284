"""Reads for a child's best interests: the case's assessments, determinations with their panels, guardians and care
arrangements; the latest determination that stands (what the guards read); the people who may sit on a panel; the
family assessment visit and family members that the families feature records (read through its own queries)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, allowed
from casemgmt.access.policies import CASE_WORKERS
from casemgmt.accounts.models import User
from casemgmt.bestinterests.models import (
    BIA_SECTIONS,
    RECOMMENDED_FOR,
    BestInterestsAssessment,
    BestInterestsDetermination,
    CareArrangement,
    Guardian,
    PanelMember,
)
from casemgmt.cases import age
from casemgmt.cases.lookup import case_or_404  # noqa: F401 (the features' pages load cases through queries)
from casemgmt.cases.lookup import short_id as _short_id
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db

try:  # the families feature's reads (issue 15, built alongside): without it there is no visit and no member to pick
    from casemgmt.families import queries as families
except ImportError:  # pragma: no cover - only while the families feature is not installed
    families = None




def _of_case(model, case_id: str, object_id: str):
    found = db.session.get(model, object_id) if _short_id(object_id) else None
    if found is None or found.case_id != case_id:
        raise NotFound()
    return found


def assessment_or_404(case_id: str, assessment_id: str) -> BestInterestsAssessment:
    return _of_case(BestInterestsAssessment, case_id, assessment_id)


def guardian_or_404(case_id: str, guardian_id: str) -> Guardian:
    return _of_case(Guardian, case_id, guardian_id)


def care_or_404(case_id: str, care_id: str) -> CareArrangement:
    return _of_case(CareArrangement, case_id, care_id)


def assessment_of(determination: BestInterestsDetermination) -> BestInterestsAssessment | None:
    """The assessment a determination rests on."""
    if determination.assessment_id is None:
        return None
    return db.session.get(BestInterestsAssessment, determination.assessment_id)


def determination_or_404(determination_id: str) -> BestInterestsDetermination:
    found = db.session.get(BestInterestsDetermination, determination_id) if _short_id(determination_id) else None
    if found is None:
        raise NotFound()
    return found


# The child ---------------------------------------------------------------------------------------------------------

def is_child(case: Case, day: date | None = None) -> bool:
    """The procedure is for children: under 18 on `day` (today), counting one whose age is unknown but recorded as a
    child (cases.age.is_child)."""
    return age.is_child(case, day or date.today())


# Lists for the page ------------------------------------------------------------------------------------------------

def assessments_of(case_id: str) -> list[BestInterestsAssessment]:
    return list(db.session.scalars(
        select(BestInterestsAssessment).where(BestInterestsAssessment.case_id == case_id)
        .order_by(BestInterestsAssessment.assessed_on.desc(), BestInterestsAssessment.created_at.desc())
    ))


def latest_assessment(case_id: str) -> BestInterestsAssessment | None:
    found = assessments_of(case_id)
    return found[0] if found else None


def determinations_of(case_id: str) -> list[BestInterestsDetermination]:
    """Newest first, each with its panel (one query for all panels)."""
    return list(db.session.scalars(
        select(BestInterestsDetermination).where(BestInterestsDetermination.case_id == case_id)
        .options(selectinload(BestInterestsDetermination.panel))
        .order_by(BestInterestsDetermination.proposed_at.desc())
    ))


def guardians_of(case_id: str) -> list[Guardian]:
    return list(db.session.scalars(
        select(Guardian).where(Guardian.case_id == case_id).order_by(Guardian.started_on.desc(), Guardian.created_at)
    ))


def care_of(case_id: str) -> list[CareArrangement]:
    return list(db.session.scalars(
        select(CareArrangement).where(CareArrangement.case_id == case_id)
        .order_by(CareArrangement.started_on.desc(), CareArrangement.created_at)
    ))


def reveal(record, columns) -> dict[str, str | None]:
    """The record's encrypted fields, decrypted: only for a user the policy allowed to view best interests."""
    return {name: unseal(record, name) for name in columns}


def reveal_assessment(assessment: BestInterestsAssessment) -> dict[str, str | None]:
    return reveal(assessment, BIA_SECTIONS)


# What the guards read ----------------------------------------------------------------------------------------------

def latest_determined(case_id: str) -> BestInterestsDetermination | None:
    """The determination that stands: the newest the panel agreed (a later one replaces an earlier one)."""
    return db.session.scalar(
        select(BestInterestsDetermination)
        .where(BestInterestsDetermination.case_id == case_id, BestInterestsDetermination.status == "determined")
        .order_by(BestInterestsDetermination.determined_on.desc(), BestInterestsDetermination.closed_at.desc())
        .limit(1)
    )


def recommends(case_id: str, step: str) -> bool:
    """Whether the determination that stands recommends `step` (a key of RECOMMENDED_FOR)."""
    found = latest_determined(case_id)
    return found is not None and found.recommendation in RECOMMENDED_FOR[step]


# The panel ---------------------------------------------------------------------------------------------------------

def panel_candidates(case: Case) -> list[User]:
    """Who may sit on the case's panel: active caseworkers, mission staff and supervisors of the case's organisation
    who may open the case's best interests (a caseworker not on the case may not)."""
    people = db.session.scalars(
        select(User).where(User.organisation_id == case.organisation_id, User.active.is_(True),
                           User.role.in_([str(r) for r in CASE_WORKERS]))
        .order_by(User.display_name, User.id)
    )
    return [user for user in people if allowed(user, Action.BEST_INTERESTS_VIEW, case)]


def pending_for(user, limit: int = 50) -> list[PanelMember]:
    """The user's signatures that a convened panel waits for, oldest first (their home page)."""
    return list(db.session.scalars(
        select(PanelMember)
        .join(BestInterestsDetermination, BestInterestsDetermination.id == PanelMember.determination_id)
        .join(Case, Case.id == PanelMember.case_id)
        .where(PanelMember.user_id == user.id, PanelMember.vote == "pending",
               BestInterestsDetermination.status == "convened", Case.erased_at.is_(None))
        .options(selectinload(PanelMember.determination).selectinload(BestInterestsDetermination.case),
                 selectinload(PanelMember.determination).selectinload(BestInterestsDetermination.panel))
        .order_by(BestInterestsDetermination.proposed_at, PanelMember.id)
        .limit(limit)
    ))


def user_names(ids) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all())


# The families feature's records ------------------------------------------------------------------------------------

def latest_visit(case_id: str):
    """The case's latest family assessment visit (families feature), or None."""
    return families.latest_visit(case_id) if families is not None else None


def family_members(case_id: str) -> list:
    return families.live_members(case_id) if families is not None else []


def member_choices(case_id: str) -> list[tuple[str, str]]:
    """(id, name) of the family members who may be named guardian or carer: never one who may be involved in the
    trafficking. Decrypts the case's members: call it only for a user who may view best interests."""
    out = []
    for member in family_members(case_id):
        if member.possibly_involved:
            continue
        revealed = families.reveal(member)
        out.append((member.id, families.display_name(revealed)))
    return out


def member_names(case_id: str, ids) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {m.id: families.display_name(families.reveal(m)) for m in family_members(case_id) if m.id in wanted}
