"""A child's durable steps need a best-interests determination that recommends them (issue 15):

- the stage "return" needs the determination that stands (queries.latest_determined: the newest one determined)
  to recommend a return (RECOMMENDED_FOR["return"]); the stage "stay" one that recommends staying;
- a child's return plan cannot be submitted, approved, or depart without it: a check registered with the returns
  feature (returns.queries.register_approval_check), so the return page lists the sentence instead of its buttons.

Who is a child is what the record knows (cases.age.is_child): on the day the return happens. Before the departure
that is the day the returns feature reads for the escort rule (returns.queries.escort_day: the planned departure,
or today); once the person has departed, the departure's own date; a manual move to "stay" reads today. A person
whose date of birth makes them 18 by the day of the return is not a child for it, and an age recorded later that
makes them one is (the departure checks again on its date). An unknown age recorded as a child counts as a child.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext

from casemgmt.bestinterests import queries
from casemgmt.bestinterests.models import RECOMMENDED_FOR
from casemgmt.cases.stages import register_guard
from casemgmt.returns import queries as returns


def _return_missing(found) -> str:
    if found is None:
        return gettext("A child returns only after a best-interests determination by a panel recommends return: "
                       "none has been determined for this child.")
    return gettext("A child returns only after a best-interests determination by a panel recommends return: the "
                   "latest determination for this child does not recommend it.")


def return_refusal(case, day: date) -> str | None:
    """Why this person may not return on `day` for want of a best-interests determination, or None."""
    if not queries.is_child(case, day):
        return None
    found = queries.latest_determined(case.id)
    if found is not None and found.recommendation in RECOMMENDED_FOR["return"]:
        return None
    return _return_missing(found)


def check_return(case) -> str | None:
    plan = returns.current_plan(case.id)
    day = plan.departed_on if plan is not None and plan.departed_on is not None else date.today()
    return return_refusal(case, day)


def check_stay(case) -> str | None:
    if not queries.is_child(case):
        return None
    found = queries.latest_determined(case.id)
    if found is not None and found.recommendation in RECOMMENDED_FOR["stay"]:
        return None
    if found is None:
        return gettext("A child stays in the destination country only after a best-interests determination by a "
                       "panel recommends it: none has been determined for this child.")
    return gettext("A child stays in the destination country only after a best-interests determination by a panel "
                   "recommends it: the latest determination for this child does not recommend it.")


def check_plan(plan, case, day: date) -> str | None:
    """The returns feature's hook: a child's plan is submitted, approved and departs only with a recommending BID."""
    return return_refusal(case, day)


register_guard("return", check_return)
register_guard("stay", check_stay)
returns.register_approval_check(check_plan)
