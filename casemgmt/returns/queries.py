"""Reads for the return: the case's current plan, what still blocks its approval, the decrypted details."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask_babel import format_date, gettext
from sqlalchemy import select

from casemgmt.accounts.models import Organisation, User
from casemgmt.cases import age, lookup
from casemgmt.cases.models import Case
from casemgmt.consent.queries import has_consent
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.returns.models import ReturnPlan

SEALED_FIELDS = (
    "destination_locality", "risk_summary", "family_summary", "consular_note", "route_details", "escort_name",
    "guardian_name", "guardian_relationship", "cancellation_reason",
)


def case_or_404(case_id: str) -> Case:
    return lookup.case_or_404(case_id)


def plans_of(case_id: str) -> list[ReturnPlan]:
    """Every return plan of the case, newest first (cancelled ones included, for the record)."""
    return list(db.session.scalars(
        select(ReturnPlan).where(ReturnPlan.case_id == case_id).order_by(ReturnPlan.created_at.desc())
    ))


def current_plan(case_id: str) -> ReturnPlan | None:
    """The case's one active plan: the newest that is not cancelled."""
    return db.session.scalar(
        select(ReturnPlan)
        .where(ReturnPlan.case_id == case_id, ReturnPlan.status != "cancelled")
        .order_by(ReturnPlan.created_at.desc())
        .limit(1)
    )


def arrival_date(case_id: str) -> date | None:
    """When the person arrived in the country of origin (confirmed), for the reintegration deadline."""
    return db.session.scalar(
        select(ReturnPlan.arrived_on)
        .where(ReturnPlan.case_id == case_id, ReturnPlan.status == "arrived")
        .order_by(ReturnPlan.arrived_on.desc())
        .limit(1)
    )


def consent_documented(case: Case) -> bool:
    return has_consent(case.id, "return")


def escort_day(plan: ReturnPlan | None) -> date:
    """The day whose age decides whether the return needs an escort, before the departure is confirmed: the planned
    departure, or today when it is not planned or already past. An approval is given today and the departure cannot
    be dated before the approval, so no departure can come earlier than this; confirming the departure checks again
    on its own date (a child who turns 18 in between no longer needs the escort, whatever was planned)."""
    today = date.today()
    planned = plan.planned_departure_on if plan is not None else None
    return max(today, planned) if planned else today


def needs_escort(case: Case, day: date | None = None) -> bool:
    """A child on the departure date (`day`; escort_day of the current plan when not given) travels with an escort
    or a named parent or legal guardian."""
    return age.is_child(case, day if day is not None else escort_day(current_plan(case.id)))


def escort_missing_message(day: date) -> str:
    return gettext("The person is a child (under 18) on %(day)s, the day of departure: they travel with an escort or "
                   "a parent or legal guardian. Name one in the itinerary.", day=format_date(day))


def family_tracing_missing(plan: ReturnPlan, case: Case, day: date) -> bool:
    """An unaccompanied or separated child (the recorded fact adds this rule to a child's) is returned only after
    the family has been traced and assessed: "not applicable" is no outcome for them."""
    return bool(case.unaccompanied_or_separated) and age.is_child(case, day) and (
        not plan.family_assessed or plan.family_outcome == "not_applicable")


def approval_checklist(plan: ReturnPlan, case: Case) -> list[tuple[str, bool]]:
    """Each condition of approval with whether it is met, as the page shows it and the approval checks it."""
    items = [
        (gettext("The person's consent to return is documented (and not withdrawn)."), consent_documented(case)),
        (gettext("A risk assessment is recorded."), plan.risk_assessed),
        (gettext("A family assessment is recorded."), plan.family_assessed),
        (gettext("The travel document is issued, or none is needed."), plan.travel_document_ready),
    ]
    day = escort_day(plan)
    if needs_escort(case, day):
        items.append((gettext("An escort, or a parent or legal guardian travelling along, is named (the person is a "
                              "child on %(day)s, the day of departure).", day=format_date(day)), plan.accompanied))
        if case.unaccompanied_or_separated:
            items.append((gettext("The family has been traced and assessed (the person is an unaccompanied or "
                                  "separated child)."), not family_tracing_missing(plan, case, day)))
    return items


# Conditions of a return that other features add without this package importing them (bestinterests: a child returns
# only after a best-interests determination recommending it). A check is called as check(plan, case, day), `day`
# being the day of departure whose age decides (escort_day before the departure, the departure's own date when it is
# confirmed), and answers a translated sentence saying what is missing, or None. Each is a condition of submission
# and approval (approval_blockers) and is checked again before the departure (guards.missing_for_departure).
APPROVAL_CHECKS: list[Callable[[ReturnPlan, Case, date], str | None]] = []


def register_approval_check(check: Callable[[ReturnPlan, Case, date], str | None]) -> None:
    if check not in APPROVAL_CHECKS:
        APPROVAL_CHECKS.append(check)


def added_blockers(plan: ReturnPlan, case: Case, day: date) -> list[str]:
    """What the checks other features registered say is missing for a return on `day`."""
    return [sentence for sentence in (check(plan, case, day) for check in APPROVAL_CHECKS) if sentence]


def approval_blockers(plan: ReturnPlan, case: Case) -> list[str]:
    """Why the plan cannot be approved yet: one translated sentence per missing condition (those of other features
    included, APPROVAL_CHECKS)."""
    blockers = []
    if not consent_documented(case):
        blockers.append(gettext("The person's consent to return is not documented (or has been withdrawn): "
                                "record it on the consent page first."))
    if not plan.risk_assessed:
        blockers.append(gettext("No risk assessment has been recorded."))
    if not plan.family_assessed:
        blockers.append(gettext("No family assessment has been recorded."))
    if not plan.travel_document_ready:
        blockers.append(gettext("The travel document has not been issued (and it is needed)."))
    day = escort_day(plan)
    if needs_escort(case, day) and not plan.accompanied:
        blockers.append(escort_missing_message(day))
    if plan.family_assessed and family_tracing_missing(plan, case, day):
        blockers.append(gettext("The person is an unaccompanied or separated child: the family must be traced and "
                                "assessed before a return (\"Not applicable\" is not an outcome for them)."))
    return blockers + added_blockers(plan, case, day)


def reveal(plan: ReturnPlan) -> dict[str, str | None]:
    """The plan's encrypted free text, decrypted for a user whom the policy has allowed to view the return."""
    return {name: unseal(plan, name) for name in SEALED_FIELDS}


def user_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def organisation_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(select(Organisation.id, Organisation.name).order_by(Organisation.name))
    return [(oid, name) for oid, name in rows]
