"""The family's rule for a return: the parent or guardian named to travel with the person is never a family member
recorded as possibly involved in the trafficking. Travelling along, they would learn where the person goes.

The return plan names its travelling guardian in free text (returns.models.ReturnPlan.guardian_name, issue 12), so
the check compares name parts the way matching does (accents, case, particles and order do not matter; matching's
normalise.name_parts): a possibly-involved member whose every name part is in the guardian's name is that person.
It is registered with the returns feature (returns.queries.register_approval_check): the plan is not submitted,
approved or departed while it holds, and the return page lists the sentence instead of the buttons.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext

from casemgmt.crypto import unseal
from casemgmt.families import queries
from casemgmt.matching.normalise import name_parts
from casemgmt.returns import queries as returns


def involved_guardian(plan, case) -> str | None:
    """The travelling guardian's name when it is a family member recorded as possibly involved, else None."""
    if plan.guardian_name is None:
        return None
    guardian = unseal(plan, "guardian_name") or ""
    named = set(name_parts(guardian))
    if not named:
        return None
    for member in queries.live_members(case.id):
        if not member.possibly_involved:
            continue
        revealed = queries.reveal(member)
        parts = set(name_parts(revealed.get("given_name"), revealed.get("family_name")))
        if parts and parts <= named:
            return guardian
    return None


def check_plan(plan, case, day: date) -> str | None:
    name = involved_guardian(plan, case)
    if name is None:
        return None
    return gettext("%(name)s, named to travel with the person, is recorded on the family page as possibly involved in "
                   "the trafficking and must never learn where the person goes: name an escort or another guardian.",
                   name=name)


returns.register_approval_check(check_plan)
