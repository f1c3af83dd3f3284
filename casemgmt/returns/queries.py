"""Reads for the return: the case's current plan, what still blocks its approval, the decrypted details."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from casemgmt.accounts.models import Organisation, User
from casemgmt.cases.models import Case
from casemgmt.consent.queries import has_consent
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.returns.models import ReturnPlan

SEALED_FIELDS = (
    "destination_locality", "risk_summary", "family_summary", "consular_note", "route_details", "escort_name",
    "cancellation_reason",
)


def case_or_404(case_id: str) -> Case:
    case = db.session.get(Case, case_id) if case_id and len(case_id) <= 36 else None
    if case is None:
        raise NotFound()
    return case


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


def needs_escort(case: Case) -> bool:
    return bool(case.unaccompanied_minor)


def escort_missing_message() -> str:
    return gettext("An unaccompanied minor must travel with an escort: record that an escort is required and "
                   "the escort's name in the itinerary.")


def approval_checklist(plan: ReturnPlan, case: Case) -> list[tuple[str, bool]]:
    """Each condition of approval with whether it is met, as the page shows it and the approval checks it."""
    items = [
        (gettext("The person's consent to return is documented (and not withdrawn)."), consent_documented(case)),
        (gettext("A risk assessment is recorded."), plan.risk_assessed),
        (gettext("A family assessment is recorded."), plan.family_assessed),
        (gettext("The travel document is issued, or none is needed."), plan.travel_document_ready),
    ]
    if needs_escort(case):
        items.append((gettext("An escort is named (the person is an unaccompanied minor)."), plan.has_escort))
    return items


def approval_blockers(plan: ReturnPlan, case: Case) -> list[str]:
    """Why the plan cannot be approved yet: one translated sentence per missing condition."""
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
    if needs_escort(case) and not plan.has_escort:
        blockers.append(escort_missing_message())
    return blockers


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
