"""Reads for the "Stay and status" pages: a case's protection statuses and reunifications, the family members a
reunification may be joined by (and why the others may not), the fund requests that can pay the travel, and the
statuses that expire soon (the caseworker's work list)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased, selectinload
from werkzeug.exceptions import NotFound

from casemgmt.accounts.models import User
from casemgmt.cases import age
from casemgmt.cases.lookup import case_or_404  # noqa: F401 (the features' pages load cases through queries)
from casemgmt.cases.lookup import short_id as _short_id
from casemgmt.cases.models import Case
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.families import queries as families
from casemgmt.families.models import FamilyMember
from casemgmt.fund.models import FundRequest
from casemgmt.residence.models import (
    REUNIFICATION_OPEN,
    ProtectionStatus,
    Reunification,
    ReunificationMember,
    ReunificationService,
)

TRAVEL_CATEGORY = "family_reunification_travel"
# Fund requests that can still pay (or have paid) a journey: not declined, cancelled or refused for budget.
PAYING_STATUSES = ("requested", "approved", "disbursed", "refunded")
# How far ahead the work list warns about a status that ends.
EXPIRY_WARNING = timedelta(days=60)
# T-4 (parents) and T-5 (unmarried siblings under 18) follow only a victim under 21 on the day they applied.
T4_T5_AGE_LIMIT = 21




def status_or_404(case_id: str, status_id: str) -> ProtectionStatus:
    found = db.session.get(ProtectionStatus, status_id) if _short_id(status_id) else None
    if found is None or found.case_id != case_id:
        raise NotFound()
    return found


def reunification_or_404(reunification_id: str) -> Reunification:
    found = db.session.get(Reunification, reunification_id) if _short_id(reunification_id) else None
    if found is None:
        raise NotFound()
    return found


def statuses_of(case_id: str) -> list[ProtectionStatus]:
    """The case's status records, newest application first (those without an application date last)."""
    return list(db.session.scalars(
        select(ProtectionStatus).where(ProtectionStatus.case_id == case_id)
        .order_by(ProtectionStatus.applied_on.desc().nulls_last(), ProtectionStatus.created_at.desc())
    ))


def reunifications_of(case_id: str) -> list[Reunification]:
    return list(db.session.scalars(
        select(Reunification).where(Reunification.case_id == case_id)
        .options(selectinload(Reunification.members))
        .order_by(Reunification.opened_on.desc(), Reunification.created_at.desc())
    ))


def open_reunification(case_id: str) -> Reunification | None:
    return db.session.scalar(
        select(Reunification).where(Reunification.case_id == case_id, Reunification.status.in_(REUNIFICATION_OPEN))
        .limit(1)
    )


def services_of(reunification_id: str) -> list[ReunificationService]:
    return list(db.session.scalars(
        select(ReunificationService).where(ReunificationService.reunification_id == reunification_id)
        .order_by(ReunificationService.provided_on, ReunificationService.created_at)
    ))


def member_of(reunification: Reunification, member_id: str) -> ReunificationMember:
    for member in reunification.members:
        if member.id == member_id:
            return member
    raise NotFound()


# The family members ------------------------------------------------------------------------------------------------

def live_members(case_id: str) -> list[FamilyMember]:
    return families.live_members(case_id)


def join_refusal(member: FamilyMember) -> str | None:
    """Why this family member can never join the person (translated), or None. Joining tells them where the person
    lives: whoever may not learn it (possibly involved in the trafficking, no agreement of the person, deceased) is
    neither offered nor accepted."""
    if families.may_learn_location(member):
        return None
    return families.location_refusal(member)


def names_of(members: list[FamilyMember]) -> dict[str, str]:
    """Display names of the given family members (decrypted: only for a user who may see the family)."""
    return {m.id: families.display_name(families.reveal(m)) for m in members}


# The principal's age for T-4 and T-5 ------------------------------------------------------------------------------

def t_visa_applied_on(case_id: str) -> date | None:
    """The day the person applied for their own T visa (the earliest application recorded)."""
    return db.session.scalar(
        select(ProtectionStatus.applied_on)
        .where(ProtectionStatus.case_id == case_id, ProtectionStatus.kind == "t_visa",
               ProtectionStatus.applied_on.is_not(None))
        .order_by(ProtectionStatus.applied_on).limit(1)
    )


def under_21_at_application(case: Case) -> tuple[bool, date | None]:
    """(whether the person was surely under 21 on the day of their T visa application, that day). A person whose
    age on that day is not known, or may be 21 (a year of birth that spans the birthday), is not."""
    day = t_visa_applied_on(case.id)
    if day is None:
        return False, None
    found = age.age_on(case, day)
    if found.years is None:
        return False, day
    oldest = found.oldest if found.oldest is not None else found.years
    return oldest < T4_T5_AGE_LIMIT, day


# The fund --------------------------------------------------------------------------------------------------------

def travel_requests(case_id: str) -> list[FundRequest]:
    """The case's fund requests for family reunification travel that can pay a journey, newest first."""
    return list(db.session.scalars(
        select(FundRequest)
        .where(FundRequest.case_id == case_id, FundRequest.category == TRAVEL_CATEGORY,
               FundRequest.status.in_(PAYING_STATUSES))
        .order_by(FundRequest.requested_at.desc())
    ))


# Work list ---------------------------------------------------------------------------------------------------------

def expiring_statuses(user, today: date, limit: int = 50) -> list[ProtectionStatus]:
    """Granted statuses of the cases assigned to `user` that end within EXPIRY_WARNING (or have ended and still say
    "granted"), unless a later record of the same kind (a renewal applied for or granted) follows them."""
    later = aliased(ProtectionStatus)
    renewed = exists().where(
        later.case_id == ProtectionStatus.case_id, later.kind == ProtectionStatus.kind, later.id != ProtectionStatus.id,
        later.state.in_(("applied", "granted")), later.created_at > ProtectionStatus.created_at,
    )
    return list(db.session.scalars(
        select(ProtectionStatus)
        .join(Case, Case.id == ProtectionStatus.case_id)
        .where(
            and_(Case.assigned_to_id == user.id, Case.organisation_id == user.organisation_id,
                 Case.erased_at.is_(None), Case.stage != "closed"),
            ProtectionStatus.state == "granted", ProtectionStatus.valid_until.is_not(None),
            ProtectionStatus.valid_until <= today + EXPIRY_WARNING, ~renewed,
        )
        .options(selectinload(ProtectionStatus.case))
        .order_by(ProtectionStatus.valid_until, ProtectionStatus.id)
        .limit(limit)
    ))


# Reading the encrypted fields --------------------------------------------------------------------------------------

def reveal_status(status: ProtectionStatus) -> dict[str, str | None]:
    return {"reference": unseal(status, "reference"), "notes": unseal(status, "notes")}


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
