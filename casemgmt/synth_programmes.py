"""Projects, donors, budgets, enrolments, attributions, exchange rates and the emergency assistance fund, for
`casemgmt synth` (issue 14).

setup() makes each organisation's projects (2 to 4, one of them led by the Lima NGO and implemented with the IOM
mission), their donors, budget lines and implementers, and the monthly exchange rates of the currencies the fund
pays in, through the ORM with their audit events. Then, for each case the journey writer has written,
ProgrammeWriter.write() adds rows to the same batch: the case's enrolments (about 70% of cases, a few in two
projects), attributions of its shelter stays, sessions, return and reintegration services to a project it is enrolled
in, and its fund requests (about 0.6 per enrolled case) with their approvals, disbursements and refunds, each step
with the audit event the operation writes. finish() then sets each budget line so that it covers what its requests
hold (budget >= waiting + committed + spent, line by line), with the headroom a real budget has.

What must stay true of real data is kept here on purpose (tests/synth checks it):
- a request's project_amount is money.convert() of its amount at the rate recorded for its month (none when the
  request is in the project's currency), and its refunds' amounts add up to refunded_amount and
  refunded_project_amount exactly (the last part of a full refund takes what is left);
- above the project's single_approval_limit two different people approve (a supervisor and a finance officer of
  the requesting organisation), and nobody approves their own request (caseworkers and mission staff request);
- free text (payee names, justifications, references, reasons) is sealed under the case's key, bound to its row.

The rows draw from generators of their own (seeded from the case's seed), so the journeys are the same with or
without them. Receipts are left out (receipt_document_id NULL): a document row without its encrypted file would be
a broken document.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import update

from casemgmt.accounts.models import User
from casemgmt.audit import record_event
from casemgmt.core import money
from casemgmt.counseling.models import CounselingSession
from casemgmt.extensions import db
from casemgmt.fund.models import Disbursement, FundApproval, FundRequest, Refund
from casemgmt.programmes.models import (
    BudgetLine,
    Donor,
    Enrolment,
    ExchangeRate,
    Project,
    ProjectAttribution,
    ProjectCountry,
    ProjectOrganisation,
)
from casemgmt.programmes.rates import month_start
from casemgmt.reintegration.models import ServiceDelivered
from casemgmt.returns.models import ReturnPlan
from casemgmt.shelter.models import Placement
from casemgmt.synth_people import pick
from casemgmt.synth_rows import Actor, Batch

# The demo has a finance officer for the Lima NGO and the mission; the synthetic world gives one to every
# organisation (username, display name, organisation index, role), created like the demo's users.
FINANCE_USERS = (("finance2", "Felipe Finanzas", 1, "finance_officer"),)
# Mixed into the case's seed: the programme rows draw from a generator of their own.
SALT = 0x14F00D
# The events setup() and finish() record (the names and details programmes/operations.py gives them).
SETUP_ACTIONS = ("donor.create", "project.create", "exchange_rate.create", "project.update")

# One unit of each local currency in US dollars at the start of the period; the months after it drift from there.
BASE_RATES = {"PEN": Decimal("0.2680"), "COP": Decimal("0.000252"), "HTG": Decimal("0.00762")}
RATE_SOURCES = {"PEN": "Banco Central de Reserva del Perú, tipo de cambio promedio del mes",
                "COP": "Banco de la República, TRM promedio mensual",
                "HTG": "Banque de la République d'Haïti, taux de référence moyen"}
LOCAL_CURRENCY = {"PE": "PEN", "CO": "COP", "HT": "HTG"}
# What a payment rounds to, in each currency (no one pays 137.42 soles in cash).
ROUND_TO = {"USD": Decimal("1"), "PEN": Decimal("5"), "COP": Decimal("10000"), "HTG": Decimal("50")}


@dataclass(frozen=True)
class ProjectSpec:
    org: int  # the lead organisation (index in demo.ORGANISATIONS)
    code: str
    title: str
    donor: tuple[str, str, str | None]  # name, programmes.models.DONOR_KINDS code, country
    currency: str
    months_back: int  # starts this many months before "now"
    months_ahead: int  # ends this many months after it
    categories: tuple[str, ...]  # the fund's lines (fund.models.CATEGORIES)
    limit: str  # single_approval_limit, in the project's currency
    weights: dict[int, float]  # organisation index -> how often its cases are enrolled in it
    countries: tuple[str, ...]
    eligibility: str


PROJECTS = (
    ProjectSpec(0, "PE-VOT-2301", "Protección y asistencia directa a víctimas de trata en Lima Metropolitana",
                ("U.S. Department of State, Office to Monitor and Combat Trafficking in Persons", "government", "US"),
                "USD", 40, 8, ("emergency_shelter", "medical", "legal", "subsistence", "other"), "1000.00", {0: 55},
                ("PE",), "Personas identificadas como víctimas o posibles víctimas de trata en Lima y Callao."),
    ProjectSpec(0, "PE-PSJ-2402", "Atención psicosocial y jurídica especializada",
                ("UNODC, Fondo Fiduciario de Contribuciones Voluntarias para las Víctimas de la Trata", "un_agency",
                 None), "USD", 26, 12, ("medical", "legal", "subsistence"), "500.00", {0: 30}, ("PE",),
                "Víctimas adultas y adolescentes con proceso judicial o necesidad de atención en salud mental."),
    ProjectSpec(0, "LAC-RET-2303", "Retorno voluntario y reintegración Perú-Haití",
                ("Global Affairs Canada, Anti-Crime Capacity Building Program", "foreign_ministry", "CA"), "USD", 36,
                10, ("travel_return", "family_reunification_travel", "education_livelihood", "subsistence"),
                "1500.00", {0: 15, 2: 30}, ("PE", "HT"),
                "Víctimas haitianas identificadas en el Perú que piden volver, y sus familias."),
    ProjectSpec(1, "CO-AIV-2301", "Asistencia inmediata a víctimas de trata en Bogotá",
                ("Ministerio del Interior, Fondo Nacional para la Lucha contra la Trata de Personas", "government",
                 "CO"), "COP", 40, 6, ("emergency_shelter", "medical", "legal", "subsistence"), "4000000.00",
                {1: 60}, ("CO",), "Víctimas identificadas por el Comité Distrital de Lucha contra la Trata."),
    ProjectSpec(1, "CO-EMP-2404", "Emprendimientos y empleabilidad para sobrevivientes",
                ("Fundación Bolívar Davivienda", "foundation", "CO"), "USD", 20, 16,
                ("education_livelihood", "subsistence", "other"), "800.00", {1: 40}, ("CO",),
                "Sobrevivientes mayores de 18 años con plan de reintegración aprobado."),
    ProjectSpec(2, "HT-AVRR-2301", "Assisted voluntary return of Haitian victims of trafficking from Jamaica",
                ("U.S. Department of State, Bureau of Population, Refugees, and Migration", "government", "US"),
                "USD", 40, 8, ("travel_return", "medical", "subsistence", "family_reunification_travel"), "1200.00",
                {2: 45}, ("HT", "JM"), "Haitian nationals identified as victims in Jamaica who ask to return."),
    ProjectSpec(2, "HT-RSB-2405", "Reintegration grants for small businesses in the North and Artibonite",
                ("European Union, Directorate-General for International Partnerships", "multilateral", None), "USD",
                22, 14, ("education_livelihood", "subsistence", "other"), "1000.00", {2: 25}, ("HT",),
                "Returnees with a reintegration plan and a business proposal reviewed by the mission."),
)
# Lines spent outside the fund, as a share of what the fund's lines hold.
OTHER_LINES = (("Personal del proyecto / Project staff", Decimal("0.45")),
               ("Viajes y monitoreo / Travel and monitoring", Decimal("0.08")),
               ("Costos indirectos / Indirect costs (7%)", Decimal("0.07")))

# What a request of each category usually costs, in US dollars (low, high).
AMOUNTS = {"emergency_shelter": (40, 650), "medical": (30, 1600), "legal": (100, 1300), "travel_return": (150, 1500),
           "family_reunification_travel": (300, 2600), "subsistence": (30, 420), "education_livelihood": (200, 2200),
           "other": (20, 300)}
PAYEES = {"emergency_shelter": ("vendor", "person"), "medical": ("clinic", "clinic", "vendor"),
          "legal": ("vendor",), "travel_return": ("vendor", "vendor", "person"),
          "family_reunification_travel": ("vendor", "person"), "subsistence": ("person", "person", "vendor"),
          "education_livelihood": ("person", "vendor"), "other": ("person", "vendor")}
VENDORS = {"PE": ("Hostal Los Olivos SAC", "Estudio Jurídico Paredes & Asociados", "Farmacia Universal",
                  "Transportes Cruz del Sur", "Supermercados Peruanos SA"),
           "CO": ("Hotel Casa Galería Bogotá", "Consultorio Jurídico Universidad del Rosario", "Droguería Colsubsidio",
                  "Expreso Bolivariano", "Almacenes Éxito"),
           "HT": ("Agence de voyages Caribe Tours", "Cabinet Me Jean-Louis", "Pharmacie Nouvelle",
                  "Quincaillerie du Cap", "Marché Hyppolite, stand 14")}
CLINICS = {"PE": ("Clínica San Pablo", "Hospital Nacional Arzobispo Loayza"),
           "CO": ("Hospital San Ignacio", "Clínica Colsanitas Chapinero"),
           "HT": ("Hôpital Sacré-Cœur de Milot", "Centre de santé Fort-Liberté")}
JUSTIFICATIONS = {
    "emergency_shelter": "Three nights in a guesthouse while a shelter place is found; the person cannot go back to "
                         "the address the recruiter knows.",
    "medical": "Dental treatment and medicines prescribed after the medical assessment; not covered by public "
               "insurance.",
    "legal": "Lawyer's fees for the civil claim for unpaid wages, as agreed with the prosecutor's office.",
    "travel_return": "Bus and air tickets home after the return plan was approved, with a meal allowance.",
    "family_reunification_travel": "Travel for the two children to join their mother, with an escort.",
    "subsistence": "Food and hygiene kit for the first month while the work permit is processed.",
    "education_livelihood": "Start-up grant for a small food stall: equipment and the first month's stock.",
    "other": "Replacement of identity documents and photographs for the applications.",
}
DECLINE_REASONS = ("Covered by the public health insurance since last month: apply there first.",
                   "A quotation from a second vendor is needed for this amount.",
                   "Already assisted for the same need this quarter.")
CANCEL_REASONS = ("The person found another solution and no longer needs it.",
                  "The person left the programme before the payment.",
                  "Requested twice by mistake.")
REFUND_REASONS = ("Unused part of the allowance returned by the person.", "The vendor refunded a cancelled ticket.",
                  "Paid twice by the bank; the second transfer came back.")
METHODS = {"person": {"cash": 40, "voucher": 30, "bank_transfer": 20, "in_kind": 10},
           "vendor": {"bank_transfer": 60, "voucher": 15, "cash": 10, "in_kind": 15},
           "clinic": {"bank_transfer": 80, "voucher": 10, "cash": 10}}
# Where each request's life ends (if "now" does not cut it short first).
FATES = {"disbursed": 76, "partly_refunded": 4, "refunded": 4, "declined": 7, "cancelled_early": 4,
         "cancelled_late": 3, "refused": 3}


@dataclass
class ProjectSlot:
    """A synthetic project as the case writer needs it: plain values that outlive the setup's session."""

    id: int
    code: str
    currency: str
    starts_on: date
    ends_on: date
    limit: Decimal
    weights: dict[int, float]  # organisation id -> weight
    lines: dict[str, int]  # category -> budget line id
    factor: Decimal  # the budget's headroom over what its lines end up holding
    creator_id: int

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class Staff:
    supervisor: Actor
    finance: Actor
    requester: Actor  # who asks when the case's worker is a supervisor (supervisors approve, so they do not ask)


@dataclass
class _Enrolled:
    project: ProjectSlot
    organisation_id: int
    start: date
    end: date  # the last day work on the case can be charged to it


def _rate_walk(rng: random.Random, first: date, last: date) -> dict[tuple[str, date], Decimal]:
    """A monthly rate per local currency, drifting a little each month (six significant digits, as published)."""
    out: dict[tuple[str, date], Decimal] = {}
    for currency, base in BASE_RATES.items():
        value, month = base, first
        while month <= last:
            out[(currency, month)] = Decimal(f"{value:.6g}")
            value = value * Decimal(str(round(1 + rng.gauss(0, 0.012), 5)))
            month = _next_month(month)
    return out


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _last_day(month: date) -> date:
    return _next_month(month) - timedelta(days=1)


def setup(orgs, users: dict, seed: int, now: datetime) -> ProgrammeWorld:
    """The projects, donors, budget lines (amounts set by finish()), implementers and exchange rates, with their
    audit events. `orgs` are the organisations in demo.ORGANISATIONS order, `users` the created users by username."""
    rng = random.Random(seed ^ SALT)  # noqa: S311 - synthetic data needs no cryptographic randomness
    today = now.date()
    staff = {}
    for org in orgs:
        members = [u for u in users.values() if u.organisation_id == org.id]
        supervisor = next(u for u in members if u.role == "supervisor")
        finance = next(u for u in members if u.role == "finance_officer")
        requester = next(u for u in members if u.role in ("caseworker", "mission_staff"))
        staff[org.id] = Staff(Actor.of(supervisor), Actor.of(finance), Actor.of(requester))
    slots = []
    for spec in PROJECTS:
        lead = orgs[spec.org]
        creator = next(u for u in users.values() if u.organisation_id == lead.id and u.role == "supervisor")
        donor = Donor(organisation_id=lead.id, name=spec.donor[0], kind=spec.donor[1], country=spec.donor[2])
        db.session.add(donor)
        db.session.flush()
        record_event("donor.create", object_type="donor", object_id=donor.id, actor=creator,
                     details={"kind": donor.kind, "country": donor.country})
        starts = _months_before(today, spec.months_back)
        ends = _last_day(_months_before(today, -spec.months_ahead))
        project = Project(
            organisation_id=lead.id, donor_id=donor.id, code=spec.code, title=spec.title, starts_on=starts,
            ends_on=ends, currency=spec.currency, eligibility=spec.eligibility,
            single_approval_limit=Decimal(spec.limit), created_by_id=creator.id,
            created_at=datetime.combine(starts - timedelta(days=20), time(10, 0)),
        )
        project.implementers = [ProjectOrganisation(organisation_id=orgs[i].id) for i in sorted({spec.org,
                                                                                                 *spec.weights})]
        project.countries = [ProjectCountry(country=c) for c in spec.countries]
        position = 0
        for position, category in enumerate(spec.categories):
            project.lines.append(BudgetLine(position=position, name=category, category=category, amount=Decimal(0)))
        for offset, (name, _share) in enumerate(OTHER_LINES, start=position + 1):
            project.lines.append(BudgetLine(position=offset, name=name, category=None, amount=Decimal(0)))
        db.session.add(project)
        db.session.flush()
        record_event("project.create", object_type="project", object_id=project.id, actor=creator, details={
            "code": spec.code, "currency": spec.currency, "limit": spec.limit, "budget": "0.00",
            "lines": len(project.lines), "organisations": sorted(project.organisation_ids),
            "countries": list(spec.countries), "donor_id": donor.id})
        slots.append(ProjectSlot(
            id=project.id, code=spec.code, currency=spec.currency, starts_on=starts, ends_on=ends,
            limit=Decimal(spec.limit), weights={orgs[i].id: w for i, w in spec.weights.items()},
            lines={line.category: line.id for line in project.lines if line.category},
            factor=Decimal(str(round(rng.uniform(1.15, 1.6), 2))), creator_id=creator.id,
        ))
    first = min(s.starts_on for s in slots)
    rates = _rate_walk(rng, first, month_start(today))
    for org in orgs:
        # Each organisation's finance keeps the rates of every currency its projects may be paid in (the joint
        # project pays in soles and gourdes): the same published figures.
        finance = next(u for u in users.values() if u.organisation_id == org.id and u.role == "finance_officer")
        for (currency, month), rate in sorted(rates.items()):
            row = ExchangeRate(organisation_id=org.id, month=month, currency=currency, quote_currency="USD",
                               rate=rate, source=RATE_SOURCES[currency], recorded_by_id=finance.id,
                               recorded_at=min(datetime.combine(month + timedelta(days=rng.randint(1, 6)),
                                                                time(9, rng.randint(0, 59))), now))
            db.session.add(row)
            db.session.flush()
            record_event("exchange_rate.create", object_type="exchange_rate", object_id=row.id, actor=finance,
                         details={"currency": currency, "quote_currency": "USD", "month": month.isoformat(),
                                  "rate": str(rate)})
    return ProgrammeWorld(slots, staff, rates, now)


class ProgrammeWorld:
    """The projects and staff the case writer charges work to, and what each budget line holds so far."""

    def __init__(self, projects: list[ProjectSlot], staff: dict[int, Staff], rates: dict, now: datetime):
        self.projects = projects
        self.staff = staff
        self.rates = rates
        self.now = now
        self.today = now.date()
        # Per budget line, in the project's currency: what its requests hold (waiting, approved, paid less refunds).
        self.holding: dict[int, Decimal] = {line: Decimal(0) for p in projects for line in p.lines.values()}

    def write(self, batch: Batch, c, seed: int) -> None:
        """The case's enrolments, attributions and fund requests, its events added to the case's (c.event)."""
        _CaseProgrammes(self, batch, c, random.Random(seed ^ SALT)).write()  # noqa: S311

    def finish(self) -> None:
        """Set every line's budget: what the fund's lines hold with the project's headroom, the other lines a share
        of that. One audit event per project."""
        for project in self.projects:
            unit = Decimal("1000000") if project.currency == "COP" else Decimal("1000")
            floor = Decimal("20000000") if project.currency == "COP" else Decimal("5000")
            fund_total = Decimal(0)
            for line_id in project.lines.values():
                amount = max(_round_up(self.holding[line_id] * project.factor, unit), floor)
                fund_total += amount
                db.session.execute(update(BudgetLine).where(BudgetLine.id == line_id).values(amount=amount))
            others = [line for line in db.session.scalars(
                db.select(BudgetLine).where(BudgetLine.project_id == project.id, BudgetLine.category.is_(None))
                .order_by(BudgetLine.position))]
            shares = dict(OTHER_LINES)
            for line in others:
                line.amount = _round_up(fund_total * shares[line.name], unit)
            total = fund_total + sum((line.amount for line in others), Decimal(0))
            record_event("project.update", object_type="project", object_id=project.id,
                         actor=db.session.get(User, project.creator_id), details={
                             "code": project.code, "currency": project.currency, "limit": str(project.limit),
                             "budget": str(total), "lines": len(project.lines) + len(others),
                             "before": {"budget": "0.00"}})
        db.session.commit()


def _round_up(amount: Decimal, unit: Decimal) -> Decimal:
    return ((amount / unit).to_integral_value(rounding=ROUND_CEILING) * unit).quantize(Decimal("0.01"))


class _CaseProgrammes:
    def __init__(self, world: ProgrammeWorld, batch: Batch, c, rng: random.Random):
        self.world, self.batch, self.c, self.rng = world, batch, c, rng
        self.staff = world.staff[c.org.id]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self, day: date, earliest: datetime | None = None) -> datetime:
        at = datetime.combine(day, time(self.rng.randint(8, 17), self.rng.randint(0, 59), self.rng.randint(0, 59)))
        if earliest is not None and at < earliest:
            at = earliest + timedelta(minutes=self.rng.randint(5, 120))
        return min(at, self.world.now)

    def write(self) -> None:
        enrolled = self._enrolments()
        if not enrolled:
            return
        self._attributions(enrolled)
        count = self.rng.choices((0, 1, 2, 3), weights=(64, 26, 8, 2))[0]
        c = self.c
        if c.stage != "closed" and self.rng.random() < 0.3:
            count += 1  # an open case is still being assisted: one more request, recent
            recent = True
        else:
            recent = False
        for i in range(count):
            self._request(self.rng.choice(enrolled), recent and i == count - 1)

    # Enrolments and attributions -----------------------------------------------------------------------------------

    def _enrolments(self) -> list[_Enrolled]:
        rng, c, today = self.rng, self.c, self.world.today
        if rng.random() >= 0.78:  # with the cases too recent to be enrolled yet, about 70% in all
            return []
        day = c.created.date() + timedelta(days=rng.randint(0, 14))
        if day > today:
            return []
        closed = c.moves[-1][1].date() if c.stage == "closed" else None
        returning = "return" in c.reaches
        options = [p for p in self.world.projects if c.org.id in p.weights and p.covers(day)]
        if not options:
            return []
        weights = [p.weights[c.org.id] * (3 if returning and "travel_return" in p.lines else 1) for p in options]
        chosen = [rng.choices(options, weights=weights)[0]]
        rest = [p for p in options if p is not chosen[0]]
        if rest and rng.random() < 0.12:
            chosen.append(rng.choice(rest))
        out = []
        for project in chosen:
            start = day if project is chosen[0] else min(day + timedelta(days=rng.randint(10, 90)), today)
            if not project.covers(start):
                continue
            if closed is not None and closed < start:
                continue
            ended = closed
            if ended is None and project.ends_on < today:
                ended = project.ends_on
            enrolment_id = self.uuid()
            by = c.worker
            at = self.moment(start, c.created)
            self.batch.add(Enrolment, id=enrolment_id, case_id=c.id, project_id=project.id,
                           organisation_id=c.org.id, enrolled_on=start, ended_on=ended, enrolled_by_id=by.id,
                           created_at=at, version=2 if ended else 1)
            c.event(at, by, "enrolment.create", "enrolment", enrolment_id, project_id=project.id,
                    enrolled_on=start.isoformat())
            if ended:
                c.event(self.moment(ended, at), by, "enrolment.end", "enrolment", enrolment_id,
                        project_id=project.id, ended_on=ended.isoformat())
            out.append(_Enrolled(project, c.org.id, start, min(ended or today, project.ends_on, today)))
        return out

    def _case_rows(self, model) -> list[dict]:
        """The rows of this case the journey writer just added to the batch (they are the last of their table)."""
        rows = self.batch.rows.get(model, [])
        found = []
        for row in reversed(rows):
            if row["case_id"] != self.c.id:
                break
            found.append(row)
        return found[::-1]

    def _attributions(self, enrolled: list[_Enrolled]) -> None:
        records = [("placement", r["id"], r["admitted_on"]) for r in self._case_rows(Placement)]
        records += [("counseling", r["id"], r["held_on"]) for r in self._case_rows(CounselingSession)
                    if r["deleted_at"] is None]
        records += [("return", r["id"], r["created_at"].date()) for r in self._case_rows(ReturnPlan)]
        records += [("reintegration_service", r["id"], r["delivered_on"]) for r in self._case_rows(ServiceDelivered)]
        c = self.c
        for kind, record_id, day in records:
            charged = [e for e in enrolled if e.start <= day <= e.end]
            if not charged or self.rng.random() >= 0.45:
                continue
            enrolment = self.rng.choice(charged)
            at = self.moment(min(day + timedelta(days=self.rng.randint(0, 5)), enrolment.end))
            self.batch.add(ProjectAttribution, record_kind=kind, record_id=record_id, project_id=enrolment.project.id,
                           case_id=c.id, organisation_id=enrolment.organisation_id, attributed_by_id=c.worker.id,
                           attributed_at=at)
            c.event(at, c.worker, "attribution.create", kind, record_id, project_id=enrolment.project.id,
                    before=None)

    # Fund requests -------------------------------------------------------------------------------------------------

    def _amount(self, category: str, currency: str) -> Decimal:
        low, high = AMOUNTS[category]
        usd = Decimal(str(round(low + (high - low) * self.rng.random() ** 2, 2)))
        local = usd if currency == "USD" else usd / BASE_RATES[currency]
        unit = ROUND_TO[currency]
        return max(unit, (local / unit).to_integral_value() * unit).quantize(money.quantum(currency))

    def _request(self, enrolment: _Enrolled, recent: bool) -> None:
        rng, c, world, staff = self.rng, self.c, self.world, self.staff
        project = enrolment.project
        span = (enrolment.end - enrolment.start).days
        if recent and (world.today - enrolment.start).days > 3 and enrolment.end == world.today:
            day = world.today - timedelta(days=rng.randint(0, min(40, span)))
        else:
            day = enrolment.start + timedelta(days=min(span, int(rng.expovariate(1 / 35))))
        requested_at = self.moment(day, c.created)
        category = rng.choice(sorted(project.lines))
        local = LOCAL_CURRENCY[c.org.country]
        currency = project.currency if project.currency != "USD" or rng.random() < 0.3 else local
        amount = self._amount(category, currency)
        if currency == project.currency:
            project_amount, rate, rate_month = amount, None, None
        else:
            rate_month = month_start(requested_at.date())
            rate = world.rates[(currency, rate_month)]
            project_amount = money.convert(amount, rate, project.currency)
        requester = c.worker if c.worker.role in ("caseworker", "mission_staff") else staff.requester
        line_id = project.lines[category]
        request_id = self.uuid()
        payee = rng.choice(PAYEES[category])
        country = c.org.country
        payee_name = {"person": f"{c.values['given_name']} {c.values['family_name']}",
                      "vendor": rng.choice(VENDORS[country]), "clinic": rng.choice(CLINICS[country])}[payee]
        needed = 2 if project_amount > project.limit else 1
        row = self.batch.add(
            FundRequest, id=request_id, case_id=c.id, organisation_id=enrolment.organisation_id,
            project_id=project.id, budget_line_id=line_id, category=category, amount=amount, currency=currency,
            project_amount=project_amount, rate=rate, rate_month=rate_month, payee_kind=payee,
            payee_name=c.seal(FundRequest.__tablename__, "payee_name", request_id, payee_name),
            justification=c.seal(FundRequest.__tablename__, "justification", request_id, JUSTIFICATIONS[category]),
            needed_by=requested_at.date() + timedelta(days=rng.randint(2, 20)) if rng.random() < 0.6 else None,
            status="requested", approvals_needed=needed, requested_by_id=requester.id, requested_at=requested_at,
            refunded_amount=Decimal("0.00"), refunded_project_amount=Decimal("0.00"), updated_at=requested_at,
            version=1,
        )
        details = {"project_id": project.id, "budget_line_id": line_id, "category": category, "amount": str(amount),
                   "currency": currency, "project_amount": str(project_amount), "project_currency": project.currency,
                   "rate": None if rate is None else str(rate), "approvals_needed": needed}
        fate = pick(rng, FATES)
        if fate == "refused":
            # The line had less left than asked when it was made (the synthetic budget is set afterwards, so the
            # figure is drawn, below the request, rather than replayed).
            left = money.quantize(project_amount * Decimal(str(round(rng.uniform(0, 0.9), 3))), project.currency)
            row.update(status="refused", remaining_when_refused=left)
            c.event(requested_at, requester, "fund.request", "fund_request", request_id, status="refused",
                    **details, remaining=str(left))
            return
        c.event(requested_at, requester, "fund.request", "fund_request", request_id, status="requested",
                **details, remaining=None)
        self._steps(row, fate, requester, project_amount, project.currency)

    def _after(self, at: datetime, mean_hours: float) -> datetime:
        return at + timedelta(hours=1 + self.rng.expovariate(1 / mean_hours))

    def _steps(self, row: dict, fate: str, requester: Actor, project_amount: Decimal, project_currency: str) -> None:
        """Approvals, then a decline, a cancellation, a payment and refunds, as far as "now" lets them happen."""
        rng, c, now, staff = self.rng, self.c, self.world.now, self.staff
        request_id, currency, line_id = row["id"], row["currency"], row["budget_line_id"]
        approvers = [staff.supervisor, staff.finance]
        rng.shuffle(approvers)
        if row["approvals_needed"] == 1:
            approvers = approvers[:1]
        at = row["requested_at"]
        state = "requested"

        def touch(moment: datetime, status: str, by: Actor | None = None) -> None:
            row.update(status=status, updated_at=moment, version=row["version"] + 1)
            if by is not None:
                row.update(decided_by_id=by.id, decided_at=moment)

        if fate == "cancelled_early":
            at = self._after(at, 30)
            if at <= now:
                reason = rng.choice(CANCEL_REASONS)
                touch(at, "cancelled", requester)
                row["reason"] = c.seal(FundRequest.__tablename__, "reason", request_id, reason)
                c.event(at, requester, "fund.cancel", "fund_request", request_id, from_status=state,
                        to_status="cancelled", project_amount=str(project_amount))
                return
            self.world.holding[line_id] += project_amount
            return
        decline_at = rng.randrange(len(approvers)) if fate == "declined" else None
        for number, approver in enumerate(approvers, start=1):
            at = self._after(at, 40)
            if at > now:
                self.world.holding[line_id] += project_amount
                return
            if decline_at == number - 1:
                touch(at, "declined", approver)
                row["reason"] = c.seal(FundRequest.__tablename__, "reason", request_id, rng.choice(DECLINE_REASONS))
                c.event(at, approver, "fund.decline", "fund_request", request_id, from_status=state,
                        to_status="declined", project_amount=str(project_amount))
                return
            self.batch.add(FundApproval, request_id=request_id, approver_id=approver.id,
                           approver_role=approver.role, approved_at=at)
            done = number == len(approvers)
            if done:
                state = "approved"
                touch(at, state, approver)
            else:
                row.update(updated_at=at, version=row["version"] + 1)
            c.event(at, approver, "fund.approve", "fund_request", request_id, approvals=number,
                    approvals_needed=len(approvers), completed=done)
        if fate == "cancelled_late":
            at = self._after(at, 60)
            if at <= now:
                touch(at, "cancelled", staff.supervisor)
                row["reason"] = c.seal(FundRequest.__tablename__, "reason", request_id, rng.choice(CANCEL_REASONS))
                c.event(at, staff.supervisor, "fund.cancel", "fund_request", request_id, from_status="approved",
                        to_status="cancelled", project_amount=str(project_amount))
                return
            self.world.holding[line_id] += project_amount
            return
        paid = self._after(at, 24 * 4)
        if paid > now:
            self.world.holding[line_id] += project_amount
            return
        payer = staff.finance if rng.random() < 0.85 else staff.supervisor
        disbursement_id = self.uuid()
        method = pick(rng, METHODS[row["payee_kind"]])
        reference = None if method == "in_kind" else f"{method[:3].upper()}-{paid:%Y%m}-{rng.randint(1, 99999):05d}"
        self.batch.add(
            Disbursement, id=disbursement_id, request_id=request_id, case_id=c.id, method=method,
            paid_on=paid.date(), reference=c.seal(Disbursement.__tablename__, "reference", disbursement_id, reference),
            receipt_document_id=None, recorded_by_id=payer.id, recorded_at=paid, version=1,
        )
        touch(paid, "disbursed")
        c.event(paid, payer, "fund.disburse", "fund_request", request_id, method=method,
                paid_on=paid.date().isoformat(), amount=str(row["amount"]), currency=currency,
                project_amount=str(project_amount), receipt=False)
        refunded, refunded_project = Decimal(0), Decimal(0)
        parts: list[Decimal] = []
        amount = row["amount"]
        if fate == "partly_refunded":
            part = money.quantize(amount * Decimal(str(round(rng.uniform(0.1, 0.6), 3))), currency)
            parts = [part] if Decimal(0) < part < amount else []
        elif fate == "refunded":
            first = money.quantize(amount * Decimal(str(round(rng.uniform(0.3, 0.7), 3))), currency)
            parts = [first, amount - first] if rng.random() < 0.3 and Decimal(0) < first < amount else [amount]
        at = paid
        for i, part in enumerate(parts):
            at = self._after(at, 24 * 20)
            if at > now:
                break
            full = fate == "refunded" and i == len(parts) - 1
            # At the request's own rate; the last part of a full refund takes what is left, so the parts add up to
            # the request exactly in both currencies.
            part_project = project_amount - refunded_project if full else (
                part if row["rate"] is None else money.convert(part, row["rate"], project_currency))
            refund_id = self.uuid()
            self.batch.add(Refund, id=refund_id, request_id=request_id, case_id=c.id, amount=part,
                           project_amount=part_project, refunded_on=at.date(),
                           reason=c.seal(Refund.__tablename__, "reason", refund_id, rng.choice(REFUND_REASONS)),
                           recorded_by_id=staff.finance.id, recorded_at=at)
            refunded += part
            refunded_project += part_project
            row.update(refunded_amount=refunded, refunded_project_amount=refunded_project)
            touch(at, "refunded" if full else "disbursed")
            c.event(at, staff.finance, "fund.refund", "fund_request", request_id, refund_id=refund_id,
                    amount=str(part), currency=currency, project_amount=str(part_project), refunded_in_full=full)
        self.world.holding[line_id] += project_amount - refunded_project

