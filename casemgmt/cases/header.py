"""The case header that every tab of a case shows (templates/cases/_case_header.html): who the person is (name, age
and child marker in words), the safety markers, the stage and the assignee, and what the record still needs to know
about the age.

The person's name, age and markers only for users who may see who the person is (CASE_VIEW_IDENTITY); the others see
the case reference. It decrypts the one case's person, once per request (the name here, the age in cases.age), and
reads the assignee and the safety markers in one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import g, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import exists, literal, select

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.cases import age, identity
from casemgmt.crypto import unseal
from casemgmt.extensions import db
from casemgmt.families.models import FamilyMember
from casemgmt.htcds import STAGES
from casemgmt.intake.models import Contact
from casemgmt.intake.queries import minor_reported


@dataclass(frozen=True)
class CaseHeader:
    reference: str
    stage: str | None = None          # the stage's translated label
    assignee: str | None = None       # the caseworker's display name
    name: str | None = None           # None for users who may not see who the person is, or once erased
    age: str | None = None            # "16", "about 16", "born 2010", ...
    child: bool = False               # under 18 today (or may be)
    separated: bool = False           # the recorded fact "unaccompanied or separated"
    danger: bool = False              # a contact of the user's organisation reported immediate danger
    involved_family: bool = False     # a family member may be involved in the trafficking
    prompts: list[str] = field(default_factory=list)
    edit_url: str | None = None

    @property
    def identified(self) -> bool:
        return self.age is not None


def person_name(case) -> str | None:
    """The person's name, decrypted once per request (memoised in `g` against the stored ciphertexts, as cases.age
    does, so an edit made in the same request is read again)."""
    person = case.person
    if person is None or case.erased_at is not None:
        return None
    memo = g.setdefault("_casemgmt_person_names", {})
    key = (person.given_name, person.family_name)
    cached = memo.get(person.id)
    if cached is not None and cached[0] == key:
        return cached[1]
    name = identity.display_name({column: unseal(person, column) for column in ("given_name", "family_name")}) or None
    memo[person.id] = (key, name)
    return name


def _facts(case, family: bool) -> tuple[str | None, bool, bool]:
    """The assignee's name, whether a contact reported immediate danger, and whether a family member may be involved:
    one query for the three."""
    assignee = select(User.display_name).where(User.id == case.assigned_to_id).scalar_subquery()
    danger = exists().where(
        Contact.case_id == case.id, Contact.organisation_id == current_user.organisation_id,
        Contact.immediate_danger.is_(True), Contact.live(),
    )
    involved = exists().where(
        FamilyMember.case_id == case.id, FamilyMember.possibly_involved.is_(True), FamilyMember.deleted_at.is_(None),
    ) if family else literal(False)
    row = db.session.execute(select(assignee, danger, involved)).one()
    return row[0], bool(row[1]), bool(row[2])


def _age_prompts(case, now: age.Age, today: date) -> list[str]:
    if now.basis == "child_unknown":
        return [gettext("This person was recorded as a child, age unknown: record the date of birth or an "
                        "estimated age.")]
    if now.basis == "age_band" and age.is_child(case, today):
        return [gettext("Only a child's age band is recorded, so this person counts as a child: record the "
                        "date of birth or an estimated age.")]
    if now.basis in (None, "age_band") and case.erased_at is None and minor_reported(current_user, case.id):
        return [gettext("A minor was reported on the contact: record the date of birth or an estimated age.")]
    if now.basis is None and case.unaccompanied_or_separated:
        return [gettext("Unaccompanied or separated is recorded, but no age: the rules for a child follow "
                        "the age, so record the date of birth or an estimated age.")]
    return []


def case_header(case) -> CaseHeader | None:
    if case is None or not current_user.is_authenticated:
        return None
    if case.person is None or not allowed(current_user, Action.CASE_VIEW_IDENTITY, case):
        # A finance officer (or anyone else who reaches a case page without its identity) sees the reference only.
        return CaseHeader(reference=case.reference)
    today = date.today()
    now = age.age_on(case, today)
    prompts = _age_prompts(case, now, today)
    assignee, danger, involved = _facts(case, family=allowed(current_user, Action.FAMILY_VIEW, case))
    can_edit = allowed(current_user, Action.CASE_EDIT, case)
    return CaseHeader(
        reference=case.reference, stage=STAGES.label(case.stage), assignee=assignee, name=person_name(case),
        age=now.label(), child=age.is_child(case, today), separated=bool(case.unaccompanied_or_separated),
        danger=danger, involved_family=involved,
        prompts=prompts, edit_url=url_for("cases.edit", case_id=case.id) if can_edit and prompts else None,
    )
