"""Which stage may follow which, which moves must say why, and the guards features add (consent, approvals).

The journey is a state machine, not a straight line (see DOMAIN.md):
- some people need no shelter: intake may go straight to counseling, to a return, or to closure;
- some are not returning: they stay in the destination country ("stay": protection status such as a T visa, family
  reunification there). It is a branch of its own, reached from intake, shelter or counseling, or by abandoning a
  return; it leads to closure, or back to shelter or counseling, or to a return if the person changes their mind.
  Closure always needs a supervisor's approval (the journey's closure guard);
- reintegration happens in the country of origin, so it only follows a return;
- a return can be abandoned (the person changes their mind, the risk assessment says no): back to shelter or
  counseling, saying why;
- a closed case can be reopened, saying why.
"""

from __future__ import annotations

from collections.abc import Callable

TRANSITIONS: dict[str, frozenset[str]] = {
    "intake": frozenset({"shelter", "counseling", "stay", "return", "closed"}),
    "shelter": frozenset({"counseling", "stay", "return", "closed"}),
    "counseling": frozenset({"shelter", "stay", "return", "closed"}),
    "stay": frozenset({"shelter", "counseling", "return", "closed"}),
    "return": frozenset({"shelter", "counseling", "stay", "reintegration", "closed"}),
    "reintegration": frozenset({"counseling", "closed"}),
    # Reopening: a person can come back after closure.
    "closed": frozenset({"intake", "counseling"}),
}

# The journey's direction, for the moves recorded events make by themselves (journey/automatic.py): they only ever
# go forward in this order. Manual changes may go back (abandoning a return, reopening) and say why.
ORDER = ("intake", "shelter", "counseling", "stay", "return", "reintegration", "closed")


def is_forward(from_stage: str, to_stage: str) -> bool:
    return ORDER.index(to_stage) > ORDER.index(from_stage)


# Moves that must say why: closing a case, reopening one, abandoning a return, and giving up staying for a return.
# "*" matches any stage.
REASON_REQUIRED = frozenset({("*", "closed"), ("closed", "*"), ("return", "shelter"), ("return", "counseling"),
                             ("return", "stay"), ("stay", "return")})


# Guards registered by the journey's features: check(case) returns a translated reason to refuse, or None.
GUARDS: dict[str, list[Callable[..., str | None]]] = {}


def register_guard(to_stage: str, check: Callable[..., str | None]) -> None:
    if check not in GUARDS.setdefault(to_stage, []):
        GUARDS[to_stage].append(check)


def refusal(case, to_stage: str) -> str | None:
    """The first reason a guard gives to refuse moving `case` to `to_stage`, or None."""
    for check in GUARDS.get(to_stage, ()):
        reason = check(case)
        if reason:
            return reason
    return None


def allowed_next(stage: str) -> list[str]:
    return sorted(TRANSITIONS.get(stage, ()))


def needs_reason(from_stage: str, to_stage: str) -> bool:
    return bool({("*", to_stage), (from_stage, "*"), (from_stage, to_stage)} & REASON_REQUIRED)
