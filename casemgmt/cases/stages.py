"""Which stage may follow which. The journey issue adds guards (consent, approvals); this is the skeleton."""

from __future__ import annotations

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


def allowed_next(stage: str) -> list[str]:
    return sorted(TRANSITIONS.get(stage, ()))


def needs_reason(from_stage: str, to_stage: str) -> bool:
    return ("*", to_stage) in REASON_REQUIRED or (from_stage, "*") in REASON_REQUIRED
