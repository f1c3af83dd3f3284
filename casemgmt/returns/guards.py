"""Stage guards of the return: no move to "return" without consent, a risk assessment and an approved plan; no move
to "reintegration" before the person's arrival is confirmed."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext

from casemgmt.cases.stages import register_guard
from casemgmt.returns import queries
from casemgmt.returns.models import APPROVED_OR_LATER


def missing_for_submission(plan) -> list[str]:
    """What the plan still lacks before a supervisor can approve it, one translated sentence each (empty: nothing).
    Submitting asks a supervisor to approve, so submission and approval have the same conditions: the operations
    refuse with these sentences and the page lists them instead of the button, so nobody is offered a step that would
    be refused. Conditions can change after submission (consent withdrawn), which is why approval checks again."""
    return queries.approval_blockers(plan, plan.case)


def missing_for_departure(plan, day: date | None = None) -> list[str]:
    """What stops an approved plan's departure on `day` (today when not given, the page's default departure date):
    conditions can fail after the approval (consent withdrawn, an age recorded that makes the person a child on that
    day). The page lists these instead of the departure form; operations.confirm_departure refuses with the same
    sentences for the departure date it is given."""
    day = day or date.today()
    missing = []
    if not queries.consent_documented(plan.case):
        missing.append(gettext("The person's consent to return is not documented (or has been withdrawn): the "
                               "person cannot depart."))
    if queries.needs_escort(plan.case, day) and not plan.accompanied:
        missing.append(queries.escort_missing_message(day))
    # What other features require of a return (queries.APPROVAL_CHECKS), on the departure day.
    return missing + queries.added_blockers(plan, plan.case, day)


def check_return(case) -> str | None:
    if not queries.consent_documented(case):
        return gettext("A case moves to return only with the person's documented consent to return: record it on "
                       "the consent page first.")
    plan = queries.current_plan(case.id)
    if plan is None or not plan.risk_assessed:
        return gettext("A case moves to return only after a risk assessment: record it in the return plan.")
    if plan.status not in APPROVED_OR_LATER:
        return gettext("A case moves to return only when a supervisor has approved the return plan.")
    return None


def check_reintegration(case) -> str | None:
    plan = queries.current_plan(case.id)
    if plan is None or plan.status != "arrived":
        return gettext("A case moves to reintegration only after the person's arrival in the country of origin has "
                       "been confirmed in the return plan.")
    return None


register_guard("return", check_return)
register_guard("reintegration", check_reintegration)
