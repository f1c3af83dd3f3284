"""Stages that follow the work: the recorded events that move a case's stage by themselves.

AUTOMATIC_MOVES is the one table: event (the audit action of the operation that records it) -> (the stages it moves
a case from, the stage it moves it to). The operation records its event and then calls follow().

What follow() decides, and why:
- Forward only (stages.ORDER). A case already at or past the target keeps its stage, silently: a shelter admission
  of someone in counseling does not send the case back to "shelter". A case elsewhere before the target (an arrival
  recorded while the case is still in shelter because the departure could not move it) keeps its stage too, and the
  page says so.
- The same path as a manual change: cases.operations.change_stage, so the same transitions, guards, version counter,
  stage-history row and audit event. The reason names the event ("Shelter admission on 3 March 2026"), so the stage
  history and the timeline say what moved the case. Like a typed reason it is encrypted, and written in the language
  of whoever recorded the event.
- A refusal does not undo the event: the admission or the departure did happen. The case keeps its stage and the page
  says why (a warning), so the user records what the guard asks for and moves the stage by hand. Closure approval is
  the exception: there the event *is* the move, so a refusal refuses the approval (must_move=True).
- A move caused by an event the actor was allowed to record goes through: the receiving mission confirms the
  arrival of a person whose case it reaches through a hand-off or referral, and the case moves to reintegration,
  although the mission may not move the sending organisation's stage by hand. The right checked is
  CASE_FOLLOW_EVENT (access/scope.py: those who work on the case, in its organisation or through a referral
  grant), and change_stage runs inside policies.moving_by_event(), which lets its CASE_CHANGE_STAGE check answer
  with that right for this case only; the move's transitions and guards apply as to any change. Someone who may
  record the event but not follow it gets the refusal message instead of a 403 after the event.
- The case row is locked and re-read first, so the decision reads the current stage and version: of two events on one
  case at once, the second waits and sees the first one's move, instead of failing on a stale version.
- Manual stage changes stay for what has no event (counseling, abandoning a return, reopening).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import flash, has_request_context
from flask_babel import format_date, gettext

from casemgmt import htcds
from casemgmt.access import Action, allowed
from casemgmt.access.policies import moving_by_event
from casemgmt.audit import record_event
from casemgmt.cases import operations as case_operations
from casemgmt.cases import stages
from casemgmt.cases.models import Case, StageChange
from casemgmt.core.invariants import lock_row
from casemgmt.extensions import db

OPEN_STAGES = frozenset(stage for stage in stages.ORDER if stage != "closed")

AUTOMATIC_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "placement.admit": (frozenset({"intake"}), "shelter"),
    "return.depart": (frozenset({"intake", "shelter", "counseling"}), "return"),
    "return.arrive": (frozenset({"return"}), "reintegration"),
    "closure.approve": (OPEN_STAGES, "closed"),
}

# Every move listed goes forward and is a transition the journey allows (tests/journey/test_automatic_stages.py).


class AutomaticMoveRefused(ValueError):
    """A move that must happen for the event to stand (closure approval) was refused; the message is translated."""


@dataclass(frozen=True)
class Followed:
    change: StageChange | None = None  # the stage change made, if any
    refusal: str | None = None         # why the case did not move (translated), when it should have


def _reason(event: str, on: date | None) -> str:
    day = format_date(on) if isinstance(on, date) else ""
    if event == "placement.admit":
        return gettext("Shelter admission on %(date)s", date=day)
    if event == "return.depart":
        return gettext("Departure for the return confirmed, on %(date)s", date=day)
    if event == "return.arrive":
        return gettext("Arrival in the country of origin confirmed, on %(date)s", date=day)
    return gettext("Closure approved")


def _tell(message: str, category: str) -> None:
    # Every page that records one of these events says what the stage did, without each view knowing the table.
    if has_request_context():
        flash(message, category)


def follow(actor, case: Case, event: str, on: date | None = None, *, reason: str | None = None,
           status: str | None = None, must_move: bool = False) -> Followed:
    """Move `case` to the stage `event` leads to, if it is before it, through the guards of a manual change.
    `reason` replaces the event's own (closure approval keeps the requested reason); `status` is change_stage's."""
    sources, target = AUTOMATIC_MOVES[event]
    db.session.flush()
    lock_row(Case, case.id, Case.updated_at)
    db.session.refresh(case)
    label = htcds.STAGES.label
    if case.stage == target or stages.is_forward(target, case.stage):
        return Followed()
    if case.stage not in sources:
        refusal = gettext(
            "A case moves to “%(target)s” by itself only from “%(sources)s”; move it by hand if that applies.",
            target=label(target), sources=", ".join(label(s) for s in stages.ORDER if s in sources),
        )
    elif not allowed(actor, Action.CASE_FOLLOW_EVENT, case):
        refusal = gettext("You may not change this case's stage; someone of the case's organisation can.")
    else:
        refusal = stages.refusal(case, target)
    details = {"event": event, "from": case.stage, "to": target}
    if refusal is not None:
        if must_move:
            raise AutomaticMoveRefused(refusal)
        record_event("case.stage_not_followed", object_type="case", object_id=case.id, case_id=case.id,
                     actor=actor, details=details)
        _tell(gettext("The case stays in “%(stage)s” and did not move to “%(target)s”. %(why)s",
                      stage=label(case.stage), target=label(target), why=refusal), "warning")
        return Followed(refusal=refusal)
    try:
        with moving_by_event(actor, case):
            change = case_operations.change_stage(actor, case, target, reason or _reason(event, on), status=status)
    except case_operations.CaseError as exc:
        # Only a guard-free refusal reaches here (a missing reason): a defect of the caller, not of the user.
        raise AutomaticMoveRefused(str(exc)) from exc
    record_event("case.stage_followed", object_type="case", object_id=case.id, case_id=case.id, actor=actor,
                 details=details)
    _tell(gettext("The case moved to “%(stage)s”.", stage=label(target)), "info")
    return Followed(change=change)
