"""Stage guard of the stay: a case moves to "stay" only while no return is approved or under way.

A return plan approved (or departed on) says the person is leaving: staying needs the plan cancelled first (which is
possible until departure), so nobody travels on a plan the case no longer follows. A plan whose arrival was confirmed
is a journey that ended: a person who came back later may stay. The child's best-interests guard for "stay" is the
best-interests feature's (bestinterests/guards.py)."""

from __future__ import annotations

from flask_babel import gettext

from casemgmt.cases.stages import register_guard
from casemgmt.returns import queries as returns


def check_stay(case) -> str | None:
    plan = returns.current_plan(case.id)
    if plan is None:
        return None
    if plan.status == "approved":
        return gettext("The return plan is approved: cancel it before the person stays.")
    if plan.status == "departed":
        return gettext("The person has departed on the return plan: confirm the arrival, or record what happened, "
                       "before the case moves to a stay in the destination country.")
    return None


register_guard("stay", check_stay)
