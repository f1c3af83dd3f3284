"""Reads for reintegration: the plan and its deadline, services, monitoring visits, who may be named as visitor."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.numbers import list_currencies
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casemgmt.access.policies import CASE_WORKERS
from casemgmt.accounts.models import Organisation, User
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.reintegration.models import MonitoringVisit, ReintegrationPlan, ServiceDelivered
from casemgmt.returns import queries as returns_queries

# ISO 4217 minus its codes for "no currency" and "testing".
CURRENCIES = frozenset(list_currencies()) - {"XXX", "XTS"}


def one_month_after(day: date) -> date:
    """The same day of the next month, or that month's last day (31 January -> 28 or 29 February)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Deadline:
    """When the person arrived, and the date by which the reintegration plan should exist."""

    arrived_on: date
    due_on: date

    def late(self, created_on: date | None) -> bool:
        return created_on is not None and created_on > self.due_on


def deadline(case_id: str) -> Deadline | None:
    arrived = returns_queries.arrival_date(case_id)
    return Deadline(arrived, one_month_after(arrived)) if arrived else None


def plan_of(case_id: str) -> ReintegrationPlan | None:
    return db.session.scalar(
        select(ReintegrationPlan)
        .where(ReintegrationPlan.case_id == case_id)
        .options(selectinload(ReintegrationPlan.supports))
    )


def services_of(case_id: str) -> list[ServiceDelivered]:
    return list(db.session.scalars(
        select(ServiceDelivered)
        .where(ServiceDelivered.case_id == case_id, ServiceDelivered.live())
        .order_by(ServiceDelivered.delivered_on.desc(), ServiceDelivered.created_at.desc())
    ))


def visits_of(case_id: str) -> list[MonitoringVisit]:
    """Newest first; the first one's next_visit_due is when the next visit is due."""
    return list(db.session.scalars(
        select(MonitoringVisit)
        .where(MonitoringVisit.case_id == case_id, MonitoringVisit.live())
        .order_by(MonitoringVisit.visited_on.desc(), MonitoringVisit.created_at.desc())
    ))


def totals_by_currency(services: list[ServiceDelivered]) -> list[tuple[str, Decimal]]:
    totals: dict[str, Decimal] = {}
    for service in services:
        totals[service.currency] = totals.get(service.currency, Decimal(0)) + service.amount
    return sorted(totals.items())


def revealed_objectives(plan: ReintegrationPlan) -> str | None:
    return unseal(plan, "objectives")


def revealed_notes(rows) -> dict[str, str | None]:
    """Decrypt each row's free text (notes of services, observations of visits), by row id."""
    out = {}
    for row in rows:
        column = "observations" if isinstance(row, MonitoringVisit) else "note"
        out[row.id] = unseal(row, column)
    return out


def visitor_choices(organisation_id: int) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(User.id, User.display_name)
        .where(User.organisation_id == organisation_id, User.active.is_(True), User.role.in_(list(CASE_WORKERS)))
        .order_by(User.display_name)
    )
    return [(uid, name) for uid, name in rows]


def organisation_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(select(Organisation.id, Organisation.name).order_by(Organisation.name))
    return [(oid, name) for oid, name in rows]


def default_responsible_organisation(case_id: str, fallback: int) -> int:
    """The receiving organisation of the return, which usually runs reintegration; else the user's own."""
    plan = returns_queries.current_plan(case_id)
    return plan.receiving_organisation_id if plan else fallback


def user_names(ids: set[int]) -> dict[int, str]:
    return returns_queries.user_names({i for i in ids if i is not None})
