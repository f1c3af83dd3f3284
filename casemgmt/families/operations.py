"""Named verbs of family members, tracing and the family assessment visit. Each checks its policy on the object it
touches, changes it, writes its audit event (ids and codes, never names or free text) and leaves the commit to the
caller.

The guard of this feature: a family member who may be involved in the trafficking, or whom the person has not
agreed to tell, is never told where the person is. The member form refuses the two flags together (the database's
check "involved_untold" is the last line), and a tracing action that says the whereabouts were shared with such a
member is refused, whatever a form sends.

Family members feed tracing's matching (helper module casemgmt.families.tracing_match, the matching engine's blind
indexes): every save writes the member's keys, every removal deletes them.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.cases import age
from casemgmt.cases.models import Case, new_uuid
from casemgmt.core.invariants import insert_or_refuse, transition
from casemgmt.core.time import utcnow
from casemgmt.crypto import seal
from casemgmt.extensions import db
from casemgmt.families import queries, tracing_match
from casemgmt.families.forms import CLOSING_STATUSES, involved_refusal
from casemgmt.families.models import (
    ASSESSMENT_RECOMMENDATIONS,
    ASSESSMENT_SAFETY,
    RELATIONSHIPS,
    TRACING_ACTION_KINDS,
    TRACING_ACTION_OUTCOMES,
    TRACING_REASONS,
    WHEREABOUTS,
    FamilyAssessmentVisit,
    FamilyMember,
    TracingAction,
    TracingRequest,
)
from casemgmt.htcds import country_codes
from casemgmt.revisions import operations as revisions

MEMBER_FIELDS = ("relationship_code", "given_name", "family_name", "date_of_birth", "phone", "address", "country",
                 "whereabouts", "lives_with_person", "safe_contact", "possibly_involved", "may_be_told_location",
                 "notes")
FLAGS = ("lives_with_person", "safe_contact", "possibly_involved", "may_be_told_location")
# The fields tracing's matching reads (tracing_match.write_member_keys).
KEY_FIELDS = ("given_name", "family_name", "date_of_birth", "phone")
CHILD_REASONS = ("unaccompanied", "separated")


class FamilyError(ValueError):
    """A change that cannot be made; the message is shown to the user (already translated). `field` names the form
    field it is about, when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _clean(value) -> str | None:
    value = value.strip() if isinstance(value, str) else None
    return value or None


def _event(action: str, actor, object_type: str, obj, **details) -> None:
    record_event(action, object_type=object_type, object_id=obj.id, case_id=obj.case_id, actor=actor,
                 details=details or None)


def _check_case_open(case: Case) -> None:
    if case.stage == "closed":
        raise FamilyError(gettext("This case is closed: reopen it before changing its family records."))


def _not_in_future(day, field: str) -> date | None:
    if day is None:
        return None
    if not isinstance(day, date):
        raise FamilyError(gettext("This date is not valid."), field)
    if day > date.today():
        raise FamilyError(gettext("This date is in the future."), field)
    return day


# Tracing's matching against other cases (families.tracing_match) -------------------------------------------------

def _write_keys(member: FamilyMember, values: dict) -> None:
    tracing_match.write_member_keys(member, {name: values.get(name) for name in KEY_FIELDS})


def _delete_keys(member: FamilyMember) -> None:
    tracing_match.delete_member_keys(member.id)


def _queue(found: TracingRequest, *, done: bool = False) -> None:
    """Queue an open request for the look in other organisations' cases (again, when whom it seeks changed), or take
    a closed one off the queue."""
    if done:
        tracing_match.dequeue(found)
    else:
        tracing_match.enqueue(found)


# Loading ---------------------------------------------------------------------------------------------------------

def open_family_page(actor, case_id: str) -> Case:
    """The case of a family page (another organisation's case answers 404); viewing family members is audited."""
    case = queries.case_or_404(case_id)
    authorize(actor, Action.FAMILY_VIEW, case)
    record_event("family.view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case


def load_case(actor, case_id: str, action: Action) -> Case:
    case = queries.case_or_404(case_id)
    authorize(actor, action, case)
    return case


def load_member(actor, case_id: str, member_id: str, action: Action) -> FamilyMember:
    case = load_case(actor, case_id, action)
    member = queries.member_or_404(case.id, member_id)
    authorize(actor, action, member)
    return member


def load_request(actor, request_id: str, action: Action) -> TracingRequest:
    found = queries.request_or_404(request_id)
    authorize(actor, action, found)
    return found


def open_tracing_page(actor, request_id: str) -> TracingRequest:
    found = load_request(actor, request_id, Action.FAMILY_VIEW)
    record_event("tracing.view", object_type="tracing_request", object_id=found.id, case_id=found.case_id,
                 actor=actor)
    return found


# Family members ----------------------------------------------------------------------------------------------------

def clean_member(values: dict) -> dict:
    """The member's values as they are saved, or FamilyError on the field that is wrong."""
    cleaned = {name: _clean(values.get(name)) for name in ("given_name", "family_name", "phone", "address", "notes")}
    cleaned.update({flag: bool(values.get(flag)) for flag in FLAGS})
    relationship = values.get("relationship_code")
    if relationship not in RELATIONSHIPS:
        raise FamilyError(gettext("Choose the relationship."), "relationship_code")
    whereabouts = values.get("whereabouts") or "known"
    if whereabouts not in WHEREABOUTS:
        raise FamilyError(gettext("Choose the whereabouts."), "whereabouts")
    country = values.get("country") or None
    if country is not None and country not in country_codes():
        raise FamilyError(gettext("Choose a country from the list."), "country")
    if not cleaned["given_name"] and not cleaned["family_name"]:
        raise FamilyError(gettext("Give a name (a given name or a family name)."), "given_name")
    if cleaned["possibly_involved"] and cleaned["may_be_told_location"]:
        raise FamilyError(involved_refusal(), "may_be_told_location")
    if cleaned["possibly_involved"] and cleaned["safe_contact"]:
        raise FamilyError(gettext("Someone who may be involved in the trafficking is not a safe contact: untick one "
                                  "of the two."), "safe_contact")
    born = values.get("date_of_birth")
    if isinstance(born, str):
        try:
            born = date.fromisoformat(born) if born else None
        except ValueError:
            raise FamilyError(gettext("This date is not valid."), "date_of_birth") from None
    cleaned.update(relationship_code=relationship, whereabouts=whereabouts, country=country,
                   date_of_birth=_not_in_future(born, "date_of_birth"))
    return cleaned


def _seal_member(member: FamilyMember, cleaned: dict, names) -> None:
    for name in names:
        value = cleaned[name]
        if name in queries.MEMBER_SEALED:
            seal(member, name, value.isoformat() if isinstance(value, date) else value)
        else:
            setattr(member, name, value)


def add_member(actor, case: Case, values: dict) -> FamilyMember:
    authorize(actor, Action.FAMILY_MANAGE, case)
    _check_case_open(case)
    cleaned = clean_member(values)
    now = utcnow()
    member = FamilyMember(id=new_uuid(), case_id=case.id, created_by_id=actor.id, created_at=now, updated_at=now,
                          updated_by_id=actor.id)
    member.case = case
    _seal_member(member, cleaned, MEMBER_FIELDS)
    db.session.add(member)
    db.session.flush()
    _event("family.add", actor, "family_member", member, relationship=member.relationship_code,
           whereabouts=member.whereabouts, flags=[flag for flag in FLAGS if cleaned[flag]],
           fields=[name for name in queries.MEMBER_SEALED if cleaned[name] is not None])
    _write_keys(member, cleaned)
    return member


def member_snapshot(member: FamilyMember) -> dict:
    data = {name: getattr(member, name) for name in MEMBER_FIELDS if name not in queries.MEMBER_SEALED}
    data.update(queries.reveal(member))
    return data


def _describe_member(content: dict) -> list[tuple[str, str]]:
    from casemgmt.families.forms import MemberForm

    return revisions.describe(content, MemberForm(formdata=None), MEMBER_FIELDS)


MEMBER_KIND = revisions.Kind(
    name="family_member", title=lambda: str(_l("Family member")), read_action=Action.FAMILY_VIEW,
    fields=MEMBER_FIELDS, events=("family.edit", "family.remove"), snapshot=member_snapshot,
    describe=_describe_member,
)


def edit_member(actor, member: FamilyMember, values: dict, base: int | None) -> list[str]:
    """Correct a family member from the version `base` the form was filled from (core/versions.py: an older one is
    an EditConflict); the version replaced is kept, sealed, in record_revisions. Returns the fields that changed."""
    authorize(actor, Action.FAMILY_MANAGE, member)
    _check_case_open(member.case)
    if member.deleted_at is not None:
        raise FamilyError(gettext("This family member was removed."))
    cleaned = clean_member(values)

    def apply(changed: list[str]) -> None:
        _seal_member(member, cleaned, changed)
        member.updated_at, member.updated_by_id = utcnow(), actor.id

    changed = revisions.correct(actor, MEMBER_KIND, member, cleaned, base, None, apply)
    if set(changed) & set(KEY_FIELDS):
        _write_keys(member, cleaned)
        for found in db.session.scalars(select(TracingRequest).where(TracingRequest.family_member_id == member.id,
                                                                     TracingRequest.status == "open")):
            _queue(found)
    return changed


def _stale_removal() -> FamilyError:
    return FamilyError(gettext("Someone else changed or removed this family member after you opened it. Look at it "
                               "again before removing it."))


def remove_member(actor, member: FamilyMember, reason: str | None, base: int | None) -> None:
    """Mark the member removed (deleted_at), keeping what the record said, and why, in a sealed revision."""
    authorize(actor, Action.FAMILY_MANAGE, member)
    _check_case_open(member.case)
    reason = revisions.clean_reason(reason)
    if reason is None:
        raise FamilyError(gettext("Say why the family member is removed."), "removal_reason")
    if member.deleted_at is not None or (base is not None and base != member.version):
        raise _stale_removal()
    if member.id in queries.open_request_members(member.case_id):
        raise FamilyError(gettext("A tracing request for this family member is open: close it first."))
    revision = revisions.keep(actor, MEMBER_KIND, member, "delete", reason)
    member.deleted_at, member.deleted_by_id = utcnow(), actor.id
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise _stale_removal() from None
    _event("family.remove", actor, "family_member", member, revision=revision.id, from_version=revision.version,
           to_version=member.version)
    _delete_keys(member)


# Tracing -----------------------------------------------------------------------------------------------------------

def reasons_for(case: Case, member: FamilyMember) -> list[str]:
    """The reasons a tracing request for this member may give: an unaccompanied or separated child's family whose
    whereabouts are unknown, or any member the person asks to trace (never someone recorded as deceased)."""
    if member.whereabouts == "deceased":
        return []
    reasons = list(CHILD_REASONS) if member.whereabouts == "unknown" and age.is_child(case) else []
    return [*reasons, "person_asks"]


def _already_open() -> FamilyError:
    return FamilyError(gettext("A tracing request for this family member is already open."))


def open_request(actor, member: FamilyMember, values: dict) -> TracingRequest:
    case = member.case
    authorize(actor, Action.TRACING_MANAGE, case)
    _check_case_open(case)
    if member.deleted_at is not None:
        raise FamilyError(gettext("This family member was removed."))
    reason = values.get("reason")
    if reason not in TRACING_REASONS or reason not in reasons_for(case, member):
        raise FamilyError(gettext("Choose one of the reasons offered."), "reason")
    if member.id in queries.open_request_members(case.id):
        raise _already_open()
    found = TracingRequest(id=new_uuid(), case_id=case.id, organisation_id=actor.organisation_id,
                           family_member_id=member.id, reason=reason, status="open", opened_on=date.today(),
                           opened_by_id=actor.id, created_at=utcnow(), updated_at=utcnow())
    found.case = case
    seal(found, "description", _clean(values.get("description")))
    # The check above reads, then this writes: two requests at the same instant (a double click) both pass it, and
    # the partial unique index turns the second away with the same message.
    insert_or_refuse(found, "uq_tracing_requests_member_open", _already_open())
    _event("tracing.open", actor, "tracing_request", found, reason=reason, family_member=member.id)
    _queue(found)
    return found


def closed_refusal(found: TracingRequest) -> FamilyError:
    from casemgmt.families.models import TRACING_STATUSES

    return FamilyError(gettext("This tracing request is closed (%(status)s): it takes no more actions.",
                               status=TRACING_STATUSES.label(found.status)))


def _touch_open(found: TracingRequest) -> None:
    """Claim the request while it is open: one conditional UPDATE, so an action and a closing racing each other
    cannot both win (the version moves too)."""
    if not found.is_open or not transition(found, TracingRequest.status == "open", updated_at=utcnow()):
        db.session.refresh(found)
        raise closed_refusal(found)


def record_action(actor, found: TracingRequest, values: dict) -> TracingAction:
    authorize(actor, Action.TRACING_MANAGE, found)
    _check_case_open(found.case)
    if not found.is_open:
        raise closed_refusal(found)
    kind, outcome = values.get("kind"), values.get("outcome")
    if kind not in TRACING_ACTION_KINDS:
        raise FamilyError(gettext("Choose what was done."), "kind")
    if outcome not in TRACING_ACTION_OUTCOMES:
        raise FamilyError(gettext("Choose the outcome."), "outcome")
    done_on = _not_in_future(values.get("done_on"), "done_on")
    if done_on is None:
        raise FamilyError(gettext("Give the date."), "done_on")
    member = None
    if values.get("family_member_id"):
        member = next((m for m in queries.live_members(found.case_id) if m.id == values["family_member_id"]), None)
        if member is None:
            raise FamilyError(gettext("Choose a family member from the list."), "family_member_id")
    shared = bool(values.get("whereabouts_shared"))
    if shared and member is None:
        raise FamilyError(gettext("Choose the family member the whereabouts were shared with."), "family_member_id")
    if shared and not queries.may_learn_location(member):
        # The guard: never, whatever the form sent.
        raise FamilyError(queries.location_refusal(member), "whereabouts_shared")
    _touch_open(found)
    action = TracingAction(id=new_uuid(), tracing_request_id=found.id, case_id=found.case_id,
                           organisation_id=actor.organisation_id, kind=kind, done_on=done_on, outcome=outcome,
                           family_member_id=member.id if member else None, whereabouts_shared=shared,
                           recorded_by_id=actor.id, created_at=utcnow())
    for name in queries.ACTION_SEALED:
        seal(action, name, _clean(values.get(name)))
    db.session.add(action)
    db.session.flush()
    _event("tracing.action", actor, "tracing_request", found, tracing_action=action.id, kind=kind, outcome=outcome,
           family_member=action.family_member_id, whereabouts_shared=shared)
    return action


def close_request(actor, found: TracingRequest, status: str, note: str | None) -> None:
    """End the request as found, not found or closed. Found: the member's whereabouts, if unknown, become known."""
    authorize(actor, Action.TRACING_MANAGE, found)
    _check_case_open(found.case)
    if status not in CLOSING_STATUSES:
        raise FamilyError(gettext("Choose the result."), "status")
    if not found.is_open or not transition(found, TracingRequest.status == "open", status=status,
                                           closed_on=date.today(), closed_by_id=actor.id, updated_at=utcnow()):
        db.session.refresh(found)
        raise closed_refusal(found)
    seal(found, "outcome_note", _clean(note))
    member = found.family_member
    located = status == "found" and member is not None and member.whereabouts == "unknown"
    if located:
        member.whereabouts, member.updated_at, member.updated_by_id = "known", utcnow(), actor.id
    db.session.flush()
    _event("tracing.close", actor, "tracing_request", found, status=status, whereabouts_now_known=located)
    _queue(found, done=True)


# The family assessment visit ----------------------------------------------------------------------------------------

def record_visit(actor, case: Case, found: TracingRequest | None, values: dict) -> FamilyAssessmentVisit:
    """Recorded by the organisation that made it (the user's): usually the receiving mission in the country of
    origin, through its referral grant."""
    authorize(actor, Action.TRACING_MANAGE, found if found is not None else case)
    if found is not None and found.case_id != case.id:
        raise FamilyError(gettext("This tracing request belongs to another case."))
    _check_case_open(case)
    visited_on = _not_in_future(values.get("visited_on"), "visited_on")
    if visited_on is None:
        raise FamilyError(gettext("Give the date of the visit."), "visited_on")
    if values.get("safety") not in ASSESSMENT_SAFETY:
        raise FamilyError(gettext("Choose the safety finding."), "safety")
    if values.get("recommendation") not in ASSESSMENT_RECOMMENDATIONS:
        raise FamilyError(gettext("Choose the recommendation."), "recommendation")
    if values.get("family_willing") not in ("yes", "no", True, False):
        raise FamilyError(gettext("Say whether the family is willing."), "family_willing")
    findings = _clean(values.get("findings"))
    if findings is None:
        raise FamilyError(gettext("Describe what the visit found."), "findings")
    visit = FamilyAssessmentVisit(
        id=new_uuid(), case_id=case.id, organisation_id=actor.organisation_id,
        tracing_request_id=found.id if found else None, visited_on=visited_on,
        family_willing=values.get("family_willing") in ("yes", True), safety=values["safety"],
        recommendation=values["recommendation"], recorded_by_id=actor.id, created_at=utcnow(), updated_at=utcnow(),
    )
    visit.case = case
    seal(visit, "place", _clean(values.get("place")))
    seal(visit, "people_met", _clean(values.get("people_met")))
    seal(visit, "findings", findings)
    db.session.add(visit)
    db.session.flush()
    _event("tracing.visit", actor, "family_assessment_visit", visit, safety=visit.safety,
           recommendation=visit.recommendation, family_willing=visit.family_willing,
           tracing_request=visit.tracing_request_id)
    return visit
