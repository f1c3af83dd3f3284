"""Reads for family members, tracing and the family assessment visit, also for other features: residence and best
interests read a case's family members through live_members(), reveal() and may_learn_location(), and a child's
best-interests determination reads latest_visit()."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from casemgmt.accounts.models import Organisation, User
from casemgmt.cases.age import years_between
from casemgmt.cases.lookup import case_or_404  # noqa: F401 (the features' pages load cases through queries)
from casemgmt.cases.lookup import short_id as _short_id
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.families.models import FamilyAssessmentVisit, FamilyMember, TracingAction, TracingRequest

MEMBER_SEALED = ("given_name", "family_name", "date_of_birth", "phone", "address", "notes")
ACTION_SEALED = ("contacted", "place", "notes")
VISIT_SEALED = ("place", "people_met", "findings")




def member_or_404(case_id: str, member_id: str) -> FamilyMember:
    """A live family member of this case; a removed one, or one of another case, answers 404."""
    member = db.session.get(FamilyMember, member_id) if _short_id(member_id) else None
    if member is None or member.case_id != case_id or member.deleted_at is not None:
        raise NotFound()
    return member


def request_or_404(request_id: str) -> TracingRequest:
    found = db.session.get(TracingRequest, request_id) if _short_id(request_id) else None
    if found is None:
        raise NotFound()
    return found


# For other features ---------------------------------------------------------------------------------------------

def live_members(case_id: str) -> list[FamilyMember]:
    """The case's family members that were not removed, in the order they were recorded."""
    return list(db.session.scalars(
        select(FamilyMember)
        .where(FamilyMember.case_id == case_id, FamilyMember.deleted_at.is_(None))
        .order_by(FamilyMember.created_at, FamilyMember.id)
    ))


def reveal(member: FamilyMember) -> dict:
    """The member's encrypted fields, decrypted (date_of_birth as a date). Call it only for members shown to a user
    who may see them (family.view)."""
    out = {name: unseal(member, name) for name in MEMBER_SEALED}
    out["date_of_birth"] = _parse_date(out["date_of_birth"])
    return out


def may_learn_location(member: FamilyMember) -> bool:
    """Whether this member may be told where the person is: the person agreed, and the member is neither possibly
    involved in the trafficking nor deceased."""
    return bool(member.may_be_told_location and not member.possibly_involved and member.whereabouts != "deceased")


def location_refusal(member: FamilyMember) -> str | None:
    """Why this member may not be told where the person is (translated), or None when they may."""
    if member.possibly_involved:
        return gettext("May be involved in the trafficking: never tell them where the person is.")
    if member.whereabouts == "deceased":
        return gettext("Recorded as deceased.")
    if not member.may_be_told_location:
        return gettext("The person has not agreed that this family member may be told where they are.")
    return None


def latest_visit(case_id: str) -> FamilyAssessmentVisit | None:
    """The case's most recent family assessment visit (by the day it was made), or None."""
    return db.session.scalar(
        select(FamilyAssessmentVisit)
        .where(FamilyAssessmentVisit.case_id == case_id)
        .order_by(FamilyAssessmentVisit.visited_on.desc(), FamilyAssessmentVisit.created_at.desc())
        .limit(1)
    )


# For the pages ---------------------------------------------------------------------------------------------------

def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def age_of(revealed: dict, today: date | None = None) -> int | None:
    born = revealed.get("date_of_birth")
    return years_between(born, today or date.today()) if isinstance(born, date) else None


def display_name(revealed: dict) -> str:
    return " ".join(part for part in (revealed.get("given_name"), revealed.get("family_name")) if part)


def requests_of(case_id: str) -> list[TracingRequest]:
    """Every tracing request of the case, newest first."""
    return list(db.session.scalars(
        select(TracingRequest).where(TracingRequest.case_id == case_id)
        .options(selectinload(TracingRequest.family_member))
        .order_by(TracingRequest.opened_on.desc(), TracingRequest.created_at.desc())
    ))


def open_request_members(case_id: str) -> set[str]:
    return set(db.session.scalars(
        select(TracingRequest.family_member_id)
        .where(TracingRequest.case_id == case_id, TracingRequest.status == "open")
    ))


def actions_of(request_id: str) -> list[TracingAction]:
    """A request's actions in the order they were done."""
    return list(db.session.scalars(
        select(TracingAction).where(TracingAction.tracing_request_id == request_id)
        .order_by(TracingAction.done_on, TracingAction.created_at)
    ))


def last_action_days(request_ids: list[str]) -> dict[str, date]:
    """The day of each request's latest action (requests without one are absent), in one query."""
    if not request_ids:
        return {}
    return dict(db.session.execute(
        select(TracingAction.tracing_request_id, func.max(TracingAction.done_on))
        .where(TracingAction.tracing_request_id.in_(request_ids))
        .group_by(TracingAction.tracing_request_id)
    ).all())


def visits_of(case_id: str, request_id: str | None = None) -> list[FamilyAssessmentVisit]:
    query = select(FamilyAssessmentVisit).where(FamilyAssessmentVisit.case_id == case_id)
    if request_id is not None:
        query = query.where(FamilyAssessmentVisit.tracing_request_id == request_id)
    return list(db.session.scalars(query.order_by(FamilyAssessmentVisit.visited_on.desc(),
                                                  FamilyAssessmentVisit.created_at.desc())))


def unsealed(record, columns) -> dict:
    return {name: unseal(record, name) for name in columns}


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def organisation_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())
