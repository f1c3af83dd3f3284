"""The panel rule of a best-interests determination (UNHCR's Best Interests Procedure: a BID is decided by a panel,
never by the child's caseworker alone).

Exactly: the panel is at least MIN_PANEL distinct people AND at least one member is neither the case's assigned
caseworker nor whoever proposes the determination. So:
- one person, or the same person named twice, is refused (fewer than two distinct people);
- the caseworker proposing with themselves and the assigned caseworker is refused (nobody independent);
- a supervisor proposing a panel of themselves and the assigned caseworker is refused as well: the one who brings
  the determination and the one who works the case every day are the two closest to it, and a panel of just them
  is the "caseworker alone" the rule is for;
- the caseworker proposing with a supervisor (or another colleague who may open the case) is accepted.

Every member must be someone who may sit on the case's panel (queries.panel_candidates: caseworkers, mission staff
and supervisors of the case's organisation who may open its best interests). The database adds that nobody sits
twice on one panel (uq_bid_panel_members_person).
"""

from __future__ import annotations

from flask_babel import gettext

from casemgmt.bestinterests.models import MIN_PANEL


def refusal(member_ids: list[int], candidate_ids: set[int], assigned_id: int | None, proposer_id: int) -> str | None:
    """Why this panel may not decide (a translated sentence), or None when it may."""
    distinct = set(member_ids)
    if len(distinct) != len(member_ids):
        return gettext("Name each member of the panel once.")
    if not distinct <= candidate_ids:
        return gettext("Every member of the panel must be a caseworker, mission staff or supervisor of the "
                       "organisation who may open this case.")
    if len(distinct) < MIN_PANEL:
        return gettext("A panel is at least %(n)d different people.", n=MIN_PANEL)
    if not distinct - {assigned_id, proposer_id}:
        return gettext("A panel is not the case's caseworker alone: name at least one member who is neither the "
                       "case's caseworker nor the person proposing the determination.")
    return None
