from __future__ import annotations

from dataclasses import dataclass

import pytest

from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.programmes.models import Project
from tests import factories
from tests.fund import support


@dataclass
class Fund:
    w: factories.World
    finance: User
    finance2: User  # the second NGO's finance officer
    project: Project
    case: Case


@pytest.fixture
def fund(world) -> Fund:
    """The world, finance officers, a USD project of the first NGO (Medical care 1,000.00, Emergency shelter 300.00,
    one approver up to 500.00) and a case of its caseworker enrolled in it."""
    finance = factories.user(world.ngo, "finance_officer", "finance")
    finance2 = factories.user(world.ngo2, "finance_officer", "finance2")
    prj = support.project(world.ngo)
    case = factories.case(world.caseworker, **support.PERSON)
    support.enrol(case, prj, world.ngo, world.caseworker)
    return Fund(world, finance, finance2, prj, case)
