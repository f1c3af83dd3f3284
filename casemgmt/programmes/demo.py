"""Demo programmes: three projects with real-looking donors and budgets, eighteen months of exchange rates for each
organisation, most cases enrolled in their organisation's project and some of their work charged to it.

The projects and rates are made on the first call (looked up by code afterwards); each case is then enrolled on the
day it was opened (or the project's first day), through the same operations as the pages. The fund's demo runs after
this one and asks for assistance on the enrolled projects.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from casemgmt.access import Action, allowed
from casemgmt.accounts.models import User
from casemgmt.cases.models import Case
from casemgmt.extensions import db
from casemgmt.programmes import attributable, operations, queries
from casemgmt.programmes.models import ExchangeRate, Project

# code, lead (a demo user), other implementers (demo users), title, donor (name, kind, country), limit, countries,
# lines (name, category or None, amount), eligibility.
PROJECTS = (
    ("PE-TIP-2026-01", "supervisor", (), "Hotline, shelter and emergency assistance for trafficking survivors in Peru",
     ("U.S. Department of State, Office to Monitor and Combat Trafficking in Persons", "government", "US"),
     "500", ("PE",),
     (("Emergency shelter", "emergency_shelter", "12000"), ("Medical care", "medical", "8000"),
      ("Legal assistance", "legal", "5000"), ("Subsistence", "subsistence", "6000"),
      ("Travel and return", "travel_return", "4000"), ("Staff", None, "40000"), ("Travel of staff", None, "3000")),
     "Identified or presumed victims of trafficking in persons in Peru, of any nationality, referred by the hotline, "
     "the police or partner organisations."),
    ("HT-AVR-2026-03", "missionlead", ("supervisor",), "Assisted voluntary return and reintegration of Haitian "
     "survivors", ("Global Affairs Canada", "foreign_ministry", "CA"), "1000", ("HT", "PE", "JM"),
     (("Travel and return", "travel_return", "30000"), ("Education and livelihood grants", "education_livelihood",
                                                          "25000"),
      ("Family reunification travel", "family_reunification_travel", "6000"), ("Medical care", "medical", "5000"),
      ("Staff", None, "20000")),
     "Haitian nationals identified as victims of trafficking abroad who choose to return, and their dependants."),
    ("CO-VTF-2026-07", "supervisor2", (), "Emergency assistance fund for trafficking victims",
     ("UN Voluntary Trust Fund for Victims of Trafficking in Persons", "un_agency", None), "300", ("CO",),
     (("Emergency shelter", "emergency_shelter", "4000"), ("Medical care", "medical", "3000"),
      ("Legal assistance", "legal", "2000"), ("Subsistence", "subsistence", "2500"),
      ("Other assistance", "other", "1000")),
     "Victims of trafficking in Colombia in urgent need that no other programme covers."),
)
# One unit of each currency in US dollars, about the rates of 2025-2026.
RATES = {"HTG": Decimal("0.0076"), "PEN": Decimal("0.27"), "COP": Decimal("0.00025")}
RATE_MONTHS = 18
RATE_SOURCE = "Central bank monthly average"
# Share of cases enrolled, and of their records charged to the project.
ENROLLED = 0.85
CHARGED = 0.7


def period(today: date) -> tuple[date, date]:
    """Two years that cover every demo case (opened up to 540 days ago): from the first of the month 18 months ago."""
    start = (today - timedelta(days=550)).replace(day=1)
    end = date(start.year + 2, start.month, 1) - timedelta(days=1)
    return start, end


def _months(today: date) -> list[date]:
    out, month = [], today.replace(day=1)
    for _ in range(RATE_MONTHS + 1):
        out.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return out


def _projects(people: dict[str, User]) -> dict[str, Project]:
    found = {p.code: p for p in db.session.scalars(select(Project).where(
        Project.code.in_([spec[0] for spec in PROJECTS])))}
    if len(found) == len(PROJECTS):
        return found
    start, end = period(date.today())
    for code, lead, others, title, (donor, kind, country), limit, countries, lines, eligibility in PROJECTS:
        actor = people.get(lead)
        if code in found or actor is None:
            continue
        found[code] = operations.save_project(actor, None, {
            "donor_id": None, "donor_name": donor, "donor_kind": kind, "donor_country": country, "code": code,
            "title": title, "starts_on": start, "ends_on": end, "currency": "USD", "eligibility": eligibility,
            "single_approval_limit": limit, "countries": list(countries),
            "organisation_ids": [people[o].organisation_id for o in others if o in people],
            "lines": [{"name": n, "category": c, "amount": a} for n, c, a in lines],
        })
    _rates(people)
    db.session.flush()
    return found


def _rates(people: dict[str, User]) -> None:
    """Eighteen months of rates into USD for each organisation, drifting a little month to month."""
    drift = random.Random(14)  # noqa: S311 - demo data needs no cryptographic randomness
    keepers = [people[name] for name in ("finance", "supervisor2", "finance3") if name in people]
    months = _months(date.today())
    for keeper in keepers:
        have = set(db.session.execute(select(ExchangeRate.currency, ExchangeRate.month).where(
            ExchangeRate.organisation_id == keeper.organisation_id)).all())
        for currency, base in RATES.items():
            for month in months:
                if (currency, month) in have:
                    continue
                rate = (base * Decimal(1 + drift.uniform(-0.03, 0.03))).quantize(Decimal("0.0000001"))
                operations.record_rate(keeper, {"month": month, "currency": currency, "quote_currency": "USD",
                                                "rate": str(rate), "source": RATE_SOURCE})


def _project_for(case: Case, projects: dict[str, Project], people: dict[str, User]) -> tuple[Project, User] | None:
    """The case's organisation's project, and who of that organisation enrols it."""
    for code, enroller in (("PE-TIP-2026-01", "supervisor"), ("HT-AVR-2026-03", "missionlead"),
                           ("CO-VTF-2026-07", "supervisor2"), ("HT-AVR-2026-03", "supervisor")):
        project, actor = projects.get(code), people.get(enroller)
        if project is None or actor is None or actor.organisation_id != case.organisation_id:
            continue
        if code == "HT-AVR-2026-03" and enroller == "supervisor":
            continue  # Casa Esperanza's own cases go to its Peruvian project; a return below moves them
        return project, actor
    return None


def populate(case: Case, people: dict[str, User], rng: random.Random) -> None:
    if case.erased_at is not None:
        return
    projects = _projects(people)
    chosen = _project_for(case, projects, people)
    if chosen is None or rng.random() > ENROLLED:
        return
    project, actor = chosen
    # A case of Casa Esperanza on its way home to Haiti is enrolled in the return project it implements with IOM.
    if (project.code == "PE-TIP-2026-01" and case.person is not None and case.person.citizenship == "HT"
            and "HT-AVR-2026-03" in projects):
        project = projects["HT-AVR-2026-03"]
    if not allowed(actor, Action.ENROLMENT_MANAGE, case):
        return
    if queries.enrolments_of(case.id, actor.organisation_id):
        return
    today = date.today()
    opened = case.created_at.date() if case.created_at else today
    enrolled_on = min(max(opened, project.starts_on), today, project.ends_on)
    enrolment = operations.enrol(actor, case, project.id, enrolled_on)
    # A closed case's enrolment ends with it.
    ended = None
    if case.stage == "closed" and case.closed_at is not None:
        ended = min(max(case.closed_at.date(), enrolled_on), today)
    last = ended or today
    for record in attributable.records_of(actor, case):
        if enrolled_on <= record.day <= last and rng.random() < CHARGED:
            operations.attribute(actor, case, record.kind.code, record.id, project.id)
    if ended is not None:
        operations.end_enrolment(actor, enrolment, ended)
