"""Read-only questions about projects and enrolments that other features ask (the fund, the reports)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from casemgmt.extensions import db
from casemgmt.programmes.models import Enrolment, Project, ProjectOrganisation


def projects_for(organisation_id: int) -> list[Project]:
    """The projects the organisation implements (leading them or not), newest period first."""
    return list(db.session.scalars(
        select(Project)
        .join(ProjectOrganisation, ProjectOrganisation.project_id == Project.id)
        .where(ProjectOrganisation.organisation_id == organisation_id)
        .order_by(Project.starts_on.desc(), Project.code)
    ))


def enrolled_projects(case_id: str, organisation_id: int, on: date) -> list[Project]:
    """The projects of `organisation_id` that the case is enrolled in on `on` (the enrolment and the project's
    period both cover the day): the only projects work on the case that day can be charged to."""
    return list(db.session.scalars(
        select(Project)
        .join(Enrolment, Enrolment.project_id == Project.id)
        .where(Enrolment.case_id == case_id, Enrolment.organisation_id == organisation_id,
               Enrolment.enrolled_on <= on, or_(Enrolment.ended_on.is_(None), Enrolment.ended_on >= on),
               Project.starts_on <= on, Project.ends_on >= on)
        .order_by(Project.code)
        .distinct()
    ))


def is_enrolled(case_id: str, project_id: int, organisation_id: int, on: date) -> bool:
    return any(p.id == project_id for p in enrolled_projects(case_id, organisation_id, on))
