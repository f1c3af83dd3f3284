"""A case is not closed while the person still holds a bed: the placement would count against the capacity of
the facility forever, and supervisors read occupancy every day."""

from __future__ import annotations

from flask_babel import gettext

from casemgmt.cases.stages import register_guard


def no_open_placement(case) -> str | None:
    from casemgmt.shelter.operations import current_placement

    current = current_placement(case.id)
    if current is None:
        return None
    return gettext(
        "The person is still placed in %(facility)s. Record the discharge before closing the case.",
        facility=current.facility.name,
    )


register_guard("closed", no_open_placement)
