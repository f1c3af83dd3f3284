"""The case header that every tab of a case shows (templates/cases/_case_header.html): the person's age today, a
child marker in words, and what the record still needs to know about the age.

Only for users who may see who the person is (CASE_VIEW_IDENTITY): the age comes from the encrypted date of birth or
estimate. It decrypts the one case's person, once per request (cases.age memoises it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from casemgmt.access import Action, allowed
from casemgmt.cases import age
from casemgmt.intake.queries import minor_reported


@dataclass(frozen=True)
class CaseHeader:
    age: str                      # "16", "about 16", "born 2010", ...
    child: bool                   # under 18 today (or may be)
    separated: bool               # the recorded fact "unaccompanied or separated"
    prompts: list[str] = field(default_factory=list)
    edit_url: str | None = None


def case_header(case) -> CaseHeader | None:
    if case is None or case.person is None or not current_user.is_authenticated:
        return None
    if not allowed(current_user, Action.CASE_VIEW_IDENTITY, case):
        return None
    today = date.today()
    now = age.age_on(case, today)
    prompts = []
    if now.basis == "child_unknown":
        prompts.append(gettext("This person was recorded as a child, age unknown: record the date of birth or an "
                               "estimated age."))
    elif now.basis == "age_band" and age.is_child(case, today):
        prompts.append(gettext("Only a child's age band is recorded, so this person counts as a child: record the "
                               "date of birth or an estimated age."))
    elif now.basis in (None, "age_band") and case.erased_at is None and minor_reported(current_user, case.id):
        prompts.append(gettext("A minor was reported on the contact: record the date of birth or an estimated age."))
    elif now.basis is None and case.unaccompanied_or_separated:
        prompts.append(gettext("Unaccompanied or separated is recorded, but no age: the rules for a child follow "
                               "the age, so record the date of birth or an estimated age."))
    can_edit = allowed(current_user, Action.CASE_EDIT, case)
    return CaseHeader(
        age=now.label(), child=age.is_child(case, today), separated=bool(case.unaccompanied_or_separated),
        prompts=prompts, edit_url=url_for("cases.edit", case_id=case.id) if can_edit and prompts else None,
    )
