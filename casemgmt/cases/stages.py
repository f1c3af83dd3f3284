"""Which stage may follow which. The journey issue adds guards (consent, approvals); this is the skeleton."""

from __future__ import annotations

from collections.abc import Callable

TRANSITIONS: dict[str, frozenset[str]] = {
    "intake": frozenset({"shelter", "counseling", "return", "closed"}),
    "shelter": frozenset({"counseling", "return", "reintegration", "closed"}),
    "counseling": frozenset({"shelter", "return", "reintegration", "closed"}),
    "return": frozenset({"shelter", "counseling", "reintegration", "closed"}),
    "reintegration": frozenset({"counseling", "closed"}),
    # Reopening: a person can come back after closure.
    "closed": frozenset({"intake", "counseling"}),
}

# Moves that must say why: closing a case, and reopening one.
REASON_REQUIRED = frozenset({("*", "closed"), ("closed", "*")})


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
    return ("*", to_stage) in REASON_REQUIRED or (from_stage, "*") in REASON_REQUIRED
