"""Demo of the cross-organisation notice (issue 13, item 4): Fundación Camino Seguro registers a person Casa
Esperanza already holds, typed as intake desks type names (accents dropped), and the sweep tells Casa Esperanza's
supervisor, who sees it on the notifications page and on the page of duplicate checks; Camino Seguro is told
nothing. Called once every demo case exists (casemgmt/demo.py)."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.access.grants import CaseGrant
from casemgmt.accounts.models import User
from casemgmt.cases import identity
from casemgmt.cases import operations as cases
from casemgmt.cases.models import Case
from casemgmt.crypto.fields import preload_keys
from casemgmt.extensions import db
from casemgmt.matching import crossorg, normalise


def _holder_case(holder: User, registrant: User) -> tuple[Case, dict] | None:
    """A case of the holder's organisation with a name and a date of birth, not shared with the registrant's."""
    shared = select(CaseGrant.case_id).where(CaseGrant.organisation_id == registrant.organisation_id)
    found = db.session.scalars(
        select(Case).where(Case.organisation_id == holder.organisation_id, Case.erased_at.is_(None),
                           Case.id.not_in(shared)).order_by(Case.created_at, Case.id)
    ).all()
    preload_keys([c.id for c in found])
    for case in found:
        values = identity.read_identity(case.person)
        if values.get("given_name") and values.get("family_name") and values.get("date_of_birth"):
            return case, values
    return None


def _registrants_case(registrant: User) -> Case | None:
    """The newest case of the registrant's that they may still edit (a demo case may have been closed, transferred
    or handed on since they opened it)."""
    mine = db.session.scalars(
        select(Case).where(Case.organisation_id == registrant.organisation_id, Case.created_by_id == registrant.id,
                           Case.erased_at.is_(None)).order_by(Case.created_at.desc(), Case.id)
    ).all()
    return next((case for case in mine if allowed(registrant, Action.CASE_EDIT, case)), None)


def finish(people: dict[str, User], rng: random.Random) -> Case | None:
    """Work off the queue of the demo's own cases, then make the pair; returns the registering case.

    The demo has exactly the number of cases asked for, so the registering case is one Camino Seguro already has,
    whose person is then written as the one Casa Esperanza holds (the identity changes: it is looked for again)."""
    crossorg.run_all()
    holder, registrant = people.get("caseworker"), people.get("caseworker2")
    if holder is None or registrant is None:
        return None
    found, case = _holder_case(holder, registrant), _registrants_case(registrant)
    if found is None or case is None:
        return None
    _, values = found
    born = values["date_of_birth"]
    born = born if isinstance(born, date) else date.fromisoformat(str(born))
    try:
        cases.update_case(registrant, case, {
            "given_name": normalise.fold(values["given_name"]).title(),
            "family_name": normalise.fold(values["family_name"]).title(),
            "aliases": None, "date_of_birth": born, "birth_year": born.year, "estimated_age": None,
            "age_estimated_on": None, "phone": None, "document_number": None,
        }, case.version)
    except cases.CaseError:  # an age the demo drew that the new date contradicts: the demo goes on without the pair
        db.session.rollback()
        return None
    db.session.commit()
    crossorg.run_all()
    return case
