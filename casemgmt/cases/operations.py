"""Named verbs that read and change cases. Each checks its policy, writes its audit event, and leaves the commit to
the caller (one commit per request), so a change and its audit record are saved together or not at all."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import NotFound

from casemgmt.access import Action, authorize
from casemgmt.access.roles import Role
from casemgmt.accounts.models import User
from casemgmt.audit import record_event
from casemgmt.cases import age, identity, stages
from casemgmt.cases.models import CODE_KINDS, Case, CaseCode, Person, StageChange, new_uuid
from casemgmt.core.time import utcnow
from casemgmt.crypto import fields as crypto_fields
from casemgmt.crypto import seal, unseal
from casemgmt.extensions import db

CASE_FIELDS = (
    "status", "trafficking_status", "status_decided_by", "recruitment_method", "relationship_to_trafficker",
    "unaccompanied_or_separated", "pregnant", "elderly", "ill", "assigned_to_id",
)
PERSON_FIELDS = ("gender", "citizenship", "languages", "age_band")
ALL_FIELDS = identity.ENCRYPTED_FIELDS + PERSON_FIELDS + CASE_FIELDS + CODE_KINDS + ("narrative",)


class CaseError(ValueError):
    """A change that cannot be made; the message is shown to the user (already translated)."""


class EditConflict(Exception):
    """Someone saved the case after the editor opened it. Carries both versions so the page can show them."""

    def __init__(self, case: Case, saved: dict, mine: dict):
        super().__init__("edit conflict")
        self.case = case
        self.saved = saved
        self.mine = mine
        self.differences = [f for f in ALL_FIELDS if _norm(saved.get(f)) != _norm(mine.get(f))]
        # Who saved the version shown, and when: the conflict page (templates/conflict.html) names them.
        saver = db.session.get(User, case.updated_by_id) if case.updated_by_id else None
        self.changed_by = saver.display_name if saver is not None else None
        self.changed_at = case.updated_at


def _norm(value):
    if isinstance(value, list | tuple):
        return sorted(value)
    if isinstance(value, date):
        return value.isoformat()
    return value if value not in ("", None) else None


def _check_assignee(actor, assignee_id: int | None) -> None:
    if assignee_id is None:
        return
    user = db.session.get(User, assignee_id)
    if (
        user is None
        or not user.active
        or user.organisation_id != actor.organisation_id
        or user.role not in (Role.CASEWORKER, Role.SUPERVISOR, Role.MISSION)
    ):
        raise CaseError(gettext("A case can only be assigned to an active caseworker of your organisation."))


def _check_age(values: dict) -> None:
    """The date of birth, estimated age and year of birth must be plausible and agree (cases.age.problems)."""
    found = age.problems(values)
    if found:
        raise CaseError(next(iter(found.values())))


def _apply(case: Case, person: Person, values: dict) -> None:
    # The age's basis follows what is given; a person recorded as a child without an age stays one until an age is.
    basis = age.basis_for(values, person.age_basis)
    if values.get("estimated_age") in (None, ""):
        values = {**values, "age_estimated_on": None}
    elif not isinstance(values.get("age_estimated_on"), date):
        values = {**values, "age_estimated_on": date.today()}  # an estimate without a day is today's
    band = age.band_for(values, basis)
    if band is not None:
        values = {**values, "age_band": band}
    person.age_basis = basis
    for field in CASE_FIELDS:
        if field in values:
            setattr(case, field, values[field] if values[field] != "" else None)
    for field in PERSON_FIELDS:
        value = values.get(field)
        if field == "languages" and isinstance(value, list | tuple):
            value = ",".join(value)
        setattr(person, field, value or None)
    wanted = {(kind, code) for kind in CODE_KINDS for code in (values.get(kind) or [])}
    current = {(c.kind, c.code): c for c in case.codes}
    for key, row in current.items():
        if key not in wanted:
            case.codes.remove(row)
    for kind, code in sorted(wanted - set(current)):
        case.codes.append(CaseCode(kind=kind, code=code))
    identity.write_identity(person, values)
    seal(case, "narrative", values.get("narrative"))


def create_case(actor, values: dict) -> Case:
    authorize(actor, Action.CASE_CREATE)
    _check_age(values)
    assignee = values.get("assigned_to_id")
    if assignee is None and actor.role in (Role.CASEWORKER, Role.MISSION):
        assignee = actor.id
    _check_assignee(actor, assignee)
    case = Case(
        id=new_uuid(), organisation_id=actor.organisation_id, created_by_id=actor.id, updated_by_id=actor.id,
        stage="intake",
    )
    db.session.add(case)
    crypto_fields.create_data_key(case.id)
    person = Person(id=new_uuid(), case_id=case.id)
    case.person = person
    _apply(case, person, {**values, "assigned_to_id": assignee, "status": values.get("status") or "Active"})
    db.session.add(
        StageChange(id=new_uuid(), case_id=case.id, from_stage=None, to_stage="intake", changed_by_id=actor.id)
    )
    db.session.flush()
    record_event("case.create", object_type="case", object_id=case.id, case_id=case.id, actor=actor,
                 details={"fields": sorted(k for k in ALL_FIELDS if _norm(values.get(k)) is not None)})
    from casemgmt.matching import crossorg

    crossorg.enqueue(case)  # other organisations are looked at later, by the sweep, never in this request
    return case


def snapshot(case: Case) -> dict:
    """Every editable field as the form shows it, identifying fields decrypted."""
    revealed = identity.read_identity(case.person)
    data: dict = dict(revealed)
    for field in ("date_of_birth", "age_estimated_on"):
        data[field] = date.fromisoformat(revealed[field]) if revealed.get(field) else None
    for field in ("estimated_age", "birth_year"):
        data[field] = int(revealed[field]) if revealed.get(field) else None
    for field in CASE_FIELDS:
        data[field] = getattr(case, field)
    for field in PERSON_FIELDS:
        data[field] = getattr(case.person, field)
    data["languages"] = (case.person.languages or "").split(",") if case.person.languages else []
    for kind in CODE_KINDS:
        data[kind] = case.code_list(kind)
    data["narrative"] = unseal(case, "narrative")
    return data


def update_case(actor, case: Case, values: dict, base_version: int) -> list[str]:
    """Save an edit made from `base_version`. Raises EditConflict instead of overwriting someone else's save."""
    authorize(actor, Action.CASE_EDIT, case)
    if "assigned_to_id" in values and values["assigned_to_id"] != case.assigned_to_id:
        authorize(actor, Action.CASE_ASSIGN, case)
        _check_assignee(actor, values["assigned_to_id"])
    before = snapshot(case)
    if base_version != case.version:
        raise EditConflict(case, before, values)
    changed = [f for f in ALL_FIELDS if f in values and _norm(before.get(f)) != _norm(values.get(f))]
    if not changed:
        return []
    _check_age({**before, **values})
    _apply(case, case.person, {**before, **values})
    case.updated_at = utcnow()
    case.updated_by_id = actor.id
    try:
        db.session.flush()
    except StaleDataError:
        # Another worker committed between our read and our UPDATE ... WHERE version = base_version.
        db.session.rollback()
        fresh = db.session.get(Case, case.id)
        raise EditConflict(fresh, snapshot(fresh), values) from None
    record_event("case.update", object_type="case", object_id=case.id, case_id=case.id, actor=actor,
                 details={"fields": changed})
    from casemgmt.matching import crossorg

    if crossorg.IDENTIFYING.intersection(changed):
        crossorg.enqueue(case)  # who the case is about changed: look in other organisations again (the sweep)
    return changed


def change_stage(actor, case: Case, to_stage: str, reason: str | None, status: str | None = None) -> StageChange:
    """Move a case to another stage, recording who, when and why. `status` chooses the closed status
    ("Closed" or "ClosedReferred") when the journey's closure approval closes a case."""
    authorize(actor, Action.CASE_CHANGE_STAGE, case)
    if to_stage not in stages.TRANSITIONS.get(case.stage, ()):
        raise CaseError(gettext("A case cannot move from this stage to that one."))
    if status is not None and (to_stage != "closed" or status not in ("Closed", "ClosedReferred")):
        raise ValueError(f"status {status!r} does not go with stage {to_stage!r}")
    reason = (reason or "").strip()
    if stages.needs_reason(case.stage, to_stage) and not reason:
        if "closed" in (case.stage, to_stage):
            raise CaseError(gettext("Say why: closing or reopening a case needs a reason."))
        if case.stage == "stay":
            raise CaseError(gettext("Say why: giving up the stay for a return needs a reason."))
        raise CaseError(gettext("Say why: leaving a return for another stage needs a reason."))
    refused = stages.refusal(case, to_stage)
    if refused:
        raise CaseError(refused)
    # The previous change is when the case entered the stage it leaves now (see StageChange.stay_started_at).
    entered = db.session.scalar(select(func.max(StageChange.changed_at)).where(StageChange.case_id == case.id))
    change = StageChange(
        id=new_uuid(), case_id=case.id, from_stage=case.stage, to_stage=to_stage, changed_by_id=actor.id,
        changed_at=utcnow(), stay_started_at=entered,
    )
    seal(change, "reason", reason or None)
    db.session.add(change)
    from_stage = case.stage
    case.stage = to_stage
    if to_stage == "closed":
        case.status = status or "Closed"
        case.closed_at = change.changed_at
    elif from_stage == "closed":
        case.status = "Active"
        case.closed_at = None
    case.updated_at = utcnow()
    case.updated_by_id = actor.id
    try:
        # UPDATE ... WHERE version = the version read: of two stage changes sent at once, the second matches no
        # row. Flushed here so it is refused with a message, not a 500 at commit.
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise CaseError(gettext("Someone else changed this case just now. Look at it again before changing its "
                                "stage.")) from None
    details = {"from": from_stage, "to": to_stage, "reason_given": bool(reason)}
    if to_stage == "closed" or from_stage == "closed":
        details["status"] = case.status
    record_event("case.stage_change", object_type="case", object_id=case.id, case_id=case.id, actor=actor,
                 details=details)
    return change


def _get_or_404(case_id: str) -> Case:
    case = db.session.get(Case, case_id) if case_id and len(case_id) <= 36 else None
    if case is None:
        raise NotFound()
    return case


def open_case(actor, case_id: str) -> Case:
    """Load a case for viewing and audit the view. Another organisation's case answers 404."""
    case = _get_or_404(case_id)
    authorize(actor, Action.CASE_VIEW, case)
    record_event("case.view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case


def load_for_edit(actor, case_id: str) -> Case:
    case = _get_or_404(case_id)
    authorize(actor, Action.CASE_EDIT, case)
    return case


def load_for_stage_change(actor, case_id: str) -> Case:
    case = _get_or_404(case_id)
    authorize(actor, Action.CASE_CHANGE_STAGE, case)
    return case


def open_case_metadata(actor, case_id: str) -> Case:
    """For the access log: the case must exist and be in the supervisor's scope; nothing is decrypted."""
    case = _get_or_404(case_id)
    authorize(actor, Action.CASE_ACCESS_LOG, case)
    return case


def stage_history(case: Case, reveal_reasons: bool) -> list[dict]:
    rows = db.session.scalars(
        select(StageChange)
        .where(StageChange.case_id == case.id)
        .options(selectinload(StageChange.changed_by))
        .order_by(StageChange.changed_at)
    ).all()
    return [
        {
            "from": r.from_stage, "to": r.to_stage, "at": r.changed_at,
            "by": r.changed_by.display_name if r.changed_by else "",
            "reason": unseal(r, "reason") if reveal_reasons else None,
        }
        for r in rows
    ]


def erase_case(actor, case: Case) -> None:
    """Crypto-shredding: delete the data keys and blind indexes; the categorical columns remain for statistics."""
    authorize(actor, Action.CASE_ERASE, case)
    if case.erased_at is not None:
        raise CaseError(gettext("This case has already been erased."))
    keys = crypto_fields.shred(case.id)
    from casemgmt.matching import store

    store.delete_keys(case.id)
    # The family members' blind indexes (tracing) go with the case's own.
    from casemgmt.families import tracing_match

    tracing_match.delete_case_keys(case.id)
    from casemgmt.matching import crossorg

    crossorg.dequeue(case)
    case.erased_at = utcnow()
    record_event("case.erase", object_type="case", object_id=case.id, case_id=case.id, actor=actor,
                 details={"data_keys_deleted": keys})
    # Journaled outside the database before the caller commits, so that restoring an older backup erases the case
    # again (casemgmt/backup/erasures.py). A journal that cannot be written refuses the erasure rather than let it
    # come undone at a restore; the caller then commits nothing.
    from casemgmt.backup import erasures

    try:
        erasures.record_erasure(case.id, case.erased_at, actor)
    except erasures.JournalError as exc:
        # record_erasure() has logged the operating system's reason, which has no translation.
        raise CaseError(gettext("The case was not erased: the erasure journal cannot be written. The server log "
                                "says why.")) from exc
