"""Stage guards of the return: no move to "return" without consent, a risk assessment and an approved plan; no move
to "reintegration" before the person's arrival is confirmed."""

from __future__ import annotations

from flask_babel import gettext

from casemgmt.cases.stages import register_guard
from casemgmt.returns import queries
from casemgmt.returns.models import APPROVED_OR_LATER


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
