from dataclasses import dataclass

import pytest

from tests import factories

# Every request runs in its own app context, even while the test holds one (see IsolatedClient).
from tests.auth.support import isolated_client  # noqa: F401


@dataclass
class Cases:
    by_caseworker: object  # the first NGO's caseworker created it and is assigned
    by_hotline: object  # the first NGO's hotline operator created it, unassigned, in intake
    other_ngo: object  # the second NGO's caseworker created it; same person's name
    mission: object  # the IOM mission's


@pytest.fixture
def cases(world) -> Cases:
    return Cases(
        by_caseworker=factories.case(world.caseworker),
        by_hotline=factories.case(world.hotline, given_name="Rosa", family_name="Huamán", document_number="X-77"),
        other_ngo=factories.case(world.caseworker2),
        mission=factories.case(world.mission, given_name="Jean", family_name="Baptiste"),
    )
