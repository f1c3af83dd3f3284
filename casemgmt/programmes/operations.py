"""Named verbs of programmes: projects and their budgets, exchange rates, enrolments and attributions. Each checks
its policy, refuses what breaks a rule with a message the person can act on (ProgrammeError, already translated),
writes its audit event (codes, ids and amounts, never free text) and leaves the commit to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Forbidden, NotFound

from casemgmt.access import Action, allowed, authorize
from casemgmt.accounts.models import Organisation
from casemgmt.audit import record_event
from casemgmt.audit.denials import record_denial
from casemgmt.cases.models import Case
from casemgmt.core import money, versions
from casemgmt.core.invariants import flush_or_refuse, insert_or_refuse
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.fund import budget
from casemgmt.fund.models import CATEGORIES, OPEN, FundRequest
from casemgmt.htcds import COUNTRY_CODES
from casemgmt.i18n import format_date
from casemgmt.programmes import attributable, queries
from casemgmt.programmes.models import (
    DONOR_KINDS,
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
from casemgmt.returns.queries import case_or_404

MAX_RATE = Decimal("9999999999")  # what Numeric(20, 10) holds before the point
RATE_PLACES = 10


class ProgrammeError(ValueError):
    """A change that cannot be made; the message is shown to the user (already translated). `field` names the form
    field it is about, when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _clean(value) -> str | None:
    value = (str(value) if value is not None else "").strip()
    return value or None


def _fmt(amount: Decimal, currency: str) -> str:
    return money.format_money(amount, currency)


# Projects ----------------------------------------------------------------------------------------------------------

PROJECT_FIELDS = ("donor_id", "code", "title", "starts_on", "ends_on", "currency", "eligibility",
                  "single_approval_limit", "organisation_ids", "countries", "lines")


def open_project(actor, project_id: int, action: Action = Action.PROJECT_VIEW) -> Project:
    """Load a project for a page: one the user's organisation does not implement answers 404. A step refused to a
    user who sees the project (the implementing mission's supervisor editing the lead's project) answers 403: the
    project is no secret to them, and authorize() alone would say 404 for another organisation's object."""
    project = queries.project_or_404(project_id)
    if action != Action.PROJECT_VIEW and not allowed(actor, action, project) \
            and allowed(actor, Action.PROJECT_VIEW, project):
        record_denial(action, project, actor=actor)
        raise Forbidden()
    authorize(actor, action, project)
    return project


def line_text(line: BudgetLine) -> str:
    return f"{line.name} · {CATEGORIES.label(line.category) if line.category else '—'} · {line.amount}"


def project_snapshot(project: Project) -> dict:
    """What the edit form shows, for the conflict page."""
    return {
        "donor_id": project.donor_id, "code": project.code, "title": project.title,
        "starts_on": project.starts_on, "ends_on": project.ends_on, "currency": project.currency,
        "eligibility": project.eligibility, "single_approval_limit": project.single_approval_limit,
        "organisation_ids": sorted(project.organisation_ids), "countries": project.country_codes,
        "lines": [line_text(line) for line in project.lines],
    }


@dataclass
class LineInput:
    id: int | None
    name: str
    category: str | None
    amount: Decimal


def _donor(actor, values: dict) -> Donor:
    donor_id = values.get("donor_id")
    if donor_id:
        donor = db.session.get(Donor, donor_id)
        if donor is None or donor.organisation_id != actor.organisation_id:
            raise ProgrammeError(gettext("Choose one of your organisation's donors, or name a new one."), "donor_id")
        return donor
    name = _clean(values.get("donor_name"))
    if name is None:
        raise ProgrammeError(gettext("Choose the donor, or name a new one."), "donor_name")
    if len(name) > 200:
        raise ProgrammeError(gettext("The donor's name is too long (200 characters at most)."), "donor_name")
    kind = values.get("donor_kind")
    if kind not in DONOR_KINDS:
        raise ProgrammeError(gettext("Choose what kind of donor it is."), "donor_kind")
    country = _clean(values.get("donor_country"))
    if country is not None and country not in COUNTRY_CODES:
        raise ProgrammeError(gettext("Choose the donor's country from the list."), "donor_country")
    existing = db.session.scalar(select(Donor).where(Donor.organisation_id == actor.organisation_id,
                                                     Donor.name == name))
    if existing is not None:
        return existing  # the same donor typed again, not a second one of the same name
    donor = Donor(organisation_id=actor.organisation_id, name=name, kind=kind, country=country)
    insert_or_refuse(donor, "ix_donors_org_name", ProgrammeError(
        gettext("Someone has just recorded a donor of that name: choose it from the list."), "donor_name"))
    record_event("donor.create", object_type="donor", object_id=donor.id, actor=actor,
                 details={"kind": kind, "country": country})
    return donor


def _lines(values: dict, currency: str) -> list[LineInput]:
    out, categories, names = [], set(), set()
    for raw in values.get("lines") or []:
        name = _clean(raw.get("name"))
        amount_text = _clean(raw.get("amount"))
        line_id = raw.get("id") or None
        if raw.get("remove"):
            continue  # a line left out is removed (_check_lines refuses it when it has requests)
        if name is None and amount_text is None and line_id is None:
            continue  # an empty row of the form
        if name is None:
            raise ProgrammeError(gettext("Give every budget line a name."), "lines")
        if len(name) > 200:
            raise ProgrammeError(gettext("A budget line's name is too long (200 characters at most)."), "lines")
        category = raw.get("category") or None
        if category is not None and category not in CATEGORIES:
            raise ProgrammeError(gettext("Choose the budget line's category from the list."), "lines")
        if category is not None and category in categories:
            raise ProgrammeError(gettext("Only one budget line per assistance category: “%(category)s” is on two "
                                         "lines.", category=CATEGORIES.label(category)), "lines")
        if name.casefold() in names:
            raise ProgrammeError(gettext("Two budget lines are named “%(name)s”.", name=name), "lines")
        try:
            amount = money.parse_amount(amount_text, currency, allow_zero=True)
        except money.MoneyError as exc:
            raise ProgrammeError(gettext("Budget line “%(name)s”: %(problem)s", name=name, problem=str(exc)),
                                 "lines") from None
        if category is not None:
            categories.add(category)
        names.add(name.casefold())
        out.append(LineInput(int(line_id) if line_id else None, name, category, amount))
    if not out:
        raise ProgrammeError(gettext("Give the project at least one budget line."), "lines")
    return out


def _requests_on(project: Project) -> int:
    return db.session.scalar(select(func.count()).select_from(FundRequest)
                             .where(FundRequest.project_id == project.id)) or 0


def _check_lines(project: Project, wanted: list[LineInput]) -> None:
    """A line's budget never goes below what it already holds, and a line with requests is neither removed nor
    moved to another category (its requests name that category)."""
    figures = {f.line.id: f for f in budget.line_figures(project)}
    kept = {line.id for line in wanted if line.id is not None}
    unknown = kept - set(figures)
    if unknown:
        raise ProgrammeError(gettext("A budget line of the form is not one of this project's: reload the page."),
                             "lines")
    for line_id, f in figures.items():
        if line_id not in kept and _line_has_requests(line_id):
            raise ProgrammeError(gettext(
                "The budget line “%(name)s” has fund requests, so it cannot be removed (it can be reduced to what "
                "it holds).", name=f.line.name), "lines")
    for line in wanted:
        if line.id is None:
            continue
        f = figures[line.id]
        held = f.waiting + f.committed + f.spent
        if line.amount < held:
            raise ProgrammeError(gettext(
                "The budget line “%(name)s” cannot be less than it already holds: %(held)s (waiting for approval "
                "%(waiting)s, committed %(committed)s, spent %(spent)s).", name=line.name,
                held=_fmt(held, project.currency), waiting=_fmt(f.waiting, project.currency),
                committed=_fmt(f.committed, project.currency), spent=_fmt(f.spent, project.currency)), "lines")
        if line.category != f.line.category and _line_has_requests(line.id):
            raise ProgrammeError(gettext(
                "The budget line “%(name)s” has fund requests of its category, so its category cannot change.",
                name=f.line.name), "lines")


def _line_has_requests(line_id: int) -> bool:
    return db.session.scalar(select(FundRequest.id).where(FundRequest.budget_line_id == line_id).limit(1)) is not None


def save_project(actor, project: Project | None, values: dict, base: int | None = None) -> Project:
    """Create a project led by the actor's organisation, or change one from version `base` (core/versions.py)."""
    authorize(actor, Action.PROJECT_MANAGE, project)
    created = project is None
    code = _clean(values.get("code"))
    if code is None:
        raise ProgrammeError(gettext("Give the project's code."), "code")
    if len(code) > 40:
        raise ProgrammeError(gettext("The code is too long (40 characters at most)."), "code")
    title = _clean(values.get("title"))
    if title is None:
        raise ProgrammeError(gettext("Give the project's title."), "title")
    if len(title) > 200:
        raise ProgrammeError(gettext("The title is too long (200 characters at most)."), "title")
    starts_on, ends_on = values.get("starts_on"), values.get("ends_on")
    if not isinstance(starts_on, date) or not isinstance(ends_on, date):
        raise ProgrammeError(gettext("Give the project's period: its first and last day."), "starts_on")
    if ends_on < starts_on:
        raise ProgrammeError(gettext("The project cannot end before it starts."), "ends_on")
    currency = _clean(values.get("currency"))
    if not money.is_currency(currency):
        raise ProgrammeError(gettext("Choose the project's currency (an ISO 4217 code such as USD)."), "currency")
    try:
        limit = money.parse_amount(values.get("single_approval_limit"), currency, allow_zero=True)
    except money.MoneyError as exc:
        raise ProgrammeError(str(exc), "single_approval_limit") from None
    org_ids = {int(i) for i in values.get("organisation_ids") or []} | {actor.organisation_id}
    known = set(db.session.scalars(select(Organisation.id).where(Organisation.id.in_(org_ids))))
    if known != org_ids:
        raise ProgrammeError(gettext("Choose the implementing organisations from the list."), "organisation_ids")
    countries = sorted({c for c in (values.get("countries") or []) if c})
    if any(c not in COUNTRY_CODES for c in countries):
        raise ProgrammeError(gettext("Choose the countries from the list."), "countries")
    wanted = _lines(values, currency)
    eligibility = _clean(values.get("eligibility"))
    taken = db.session.scalar(select(Project.id).where(Project.organisation_id == actor.organisation_id,
                                                       Project.code == code))
    if taken is not None and (created or taken != project.id):
        raise ProgrammeError(gettext("Your organisation already has a project with the code %(code)s.", code=code),
                             "code")

    donor = _donor(actor, values)
    cleaned = {"donor_id": donor.id, "code": code, "title": title, "starts_on": starts_on, "ends_on": ends_on,
               "currency": currency, "eligibility": eligibility, "single_approval_limit": limit,
               "organisation_ids": sorted(org_ids), "countries": countries,
               "lines": [f"{w.name} · {CATEGORIES.label(w.category) if w.category else '—'} · {w.amount}"
                         for w in wanted]}
    if created:
        project = Project(organisation_id=actor.organisation_id, created_by_id=actor.id, created_at=utcnow())
        db.session.add(project)
    else:
        versions.check(project, "project", base, lambda: project_snapshot(project), cleaned, PROJECT_FIELDS)
        if currency != project.currency and _requests_on(project):
            raise ProgrammeError(gettext(
                "The currency cannot change: the project has fund requests, whose amounts were converted to "
                "%(currency)s.", currency=project.currency), "currency")
        _check_lines(project, wanted)
        gone = set(project.organisation_ids) - org_ids
        if gone:
            _check_implementers_leave(project, gone)
    before = None if created else {"currency": project.currency, "limit": str(project.single_approval_limit),
                                   "budget": str(sum((line.amount for line in project.lines), Decimal(0)))}
    project.donor_id, project.code, project.title = donor.id, code, title
    project.starts_on, project.ends_on, project.currency = starts_on, ends_on, currency
    project.eligibility, project.single_approval_limit = eligibility, limit
    # Touched on every save, so a change of the budget alone is a newer version of the project too.
    project.updated_at = utcnow()
    have_orgs = {i.organisation_id: i for i in project.implementers}
    for org_id, row in have_orgs.items():
        if org_id not in org_ids:
            project.implementers.remove(row)
    for org_id in sorted(org_ids - set(have_orgs)):
        project.implementers.append(ProjectOrganisation(organisation_id=org_id))
    have_countries = {c.country: c for c in project.countries}
    for code_, row in have_countries.items():
        if code_ not in countries:
            project.countries.remove(row)
    for code_ in countries:
        if code_ not in have_countries:
            project.countries.append(ProjectCountry(country=code_))
    by_id = {line.id: line for line in project.lines}
    keep = {w.id for w in wanted if w.id is not None}
    for line_id, line in by_id.items():
        if line_id not in keep:
            project.lines.remove(line)
    # Lines whose category moves to another line in the same save: cleared and removed lines written first, so the
    # partial unique index on (project, category) never sees two lines of one category between the statements.
    for w in wanted:
        if w.id is not None and by_id[w.id].category != w.category:
            by_id[w.id].category = None
    refusal = ProgrammeError(gettext("Your organisation already has a project with the code %(code)s.", code=code),
                             "code")
    if created:
        flush_or_refuse("ix_projects_org_code", refusal)
    else:
        try:
            versions.flush(project, "project", project_snapshot, cleaned, PROJECT_FIELDS)
        except IntegrityError:
            db.session.rollback()
            raise refusal from None
    for position, w in enumerate(wanted):
        if w.id is None:
            project.lines.append(BudgetLine(name=w.name, category=w.category, amount=w.amount, position=position))
        else:
            line = by_id[w.id]
            line.name, line.category, line.amount, line.position = w.name, w.category, w.amount, position
    db.session.flush()
    total = sum((w.amount for w in wanted), Decimal(0))
    details = {"code": code, "currency": currency, "limit": str(limit), "budget": str(total),
               "lines": len(wanted), "organisations": sorted(org_ids), "countries": countries,
               "donor_id": donor.id}
    if before:
        details["before"] = before
    record_event("project.create" if created else "project.update", object_type="project", object_id=project.id,
                 actor=actor, details=details)
    return project


def _check_implementers_leave(project: Project, gone: set[int]) -> None:
    """An organisation with cases enrolled or fund requests on the project stays one of its implementers."""
    busy = db.session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.project_id == project.id, Enrolment.organisation_id.in_(gone))) or 0
    busy += db.session.scalar(select(func.count()).select_from(FundRequest).where(
        FundRequest.project_id == project.id, FundRequest.organisation_id.in_(gone))) or 0
    if busy:
        raise ProgrammeError(gettext(
            "An organisation that has enrolled cases or made fund requests on this project remains one of its "
            "implementers."), "organisation_ids")


# Exchange rates ----------------------------------------------------------------------------------------------------


def parse_month(value) -> date:
    """A month as YYYY-MM, or any day of it (YYYY-MM-DD or a date): its first day."""
    if isinstance(value, date):
        return month_start(value)
    text = _clean(value) or ""
    try:
        if len(text) == 7:
            return date.fromisoformat(text + "-01")
        return month_start(date.fromisoformat(text))
    except ValueError:
        raise ProgrammeError(gettext("Give the month as YYYY-MM, for example 2026-03."), "month") from None


def parse_rate(value) -> Decimal:
    text = _clean(value)
    if text is None:
        raise ProgrammeError(gettext("Give the rate."), "rate")
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise ProgrammeError(gettext("Give the rate as digits, with a point before any decimals: 0.2689."),
                             "rate") from None
    if not rate.is_finite() or rate <= 0:
        raise ProgrammeError(gettext("The rate must be more than zero."), "rate")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise ProgrammeError(gettext("The rate can have at most %(places)d decimals.", places=RATE_PLACES), "rate")
    if rate > MAX_RATE:
        raise ProgrammeError(gettext("The rate is too large."), "rate")
    return rate


def record_rate(actor, values: dict) -> tuple[ExchangeRate, bool]:
    """Record the month's rate of a currency pair for the actor's organisation. A second rate for the same pair and
    month is refused, unless it is a correction with a reason: then the row is changed (requests keep the rate that
    was fixed on them). Returns (the rate, whether it was a correction)."""
    authorize(actor, Action.RATES_MANAGE)
    month = parse_month(values.get("month"))
    currency, quote = _clean(values.get("currency")), _clean(values.get("quote_currency"))
    if not money.is_currency(currency):
        raise ProgrammeError(gettext("Choose the currency (an ISO 4217 code such as PEN)."), "currency")
    if not money.is_currency(quote):
        raise ProgrammeError(gettext("Choose the currency it is quoted in (an ISO 4217 code such as USD)."),
                             "quote_currency")
    if currency == quote:
        raise ProgrammeError(gettext("A rate converts one currency into another: choose two different ones."),
                             "quote_currency")
    rate = parse_rate(values.get("rate"))
    source = _clean(values.get("source"))
    if source is not None and len(source) > 120:
        raise ProgrammeError(gettext("The source is too long (120 characters at most)."), "source")
    correction = bool(values.get("correction"))
    reason = _clean(values.get("reason"))
    existing = db.session.scalar(select(ExchangeRate).where(
        ExchangeRate.organisation_id == actor.organisation_id, ExchangeRate.currency == currency,
        ExchangeRate.quote_currency == quote, ExchangeRate.month == month))
    if existing is None:
        row = ExchangeRate(organisation_id=actor.organisation_id, month=month, currency=currency,
                           quote_currency=quote, rate=rate, source=source, recorded_by_id=actor.id,
                           recorded_at=utcnow())
        insert_or_refuse(row, "ix_exchange_rates_pair_month", ProgrammeError(gettext(
            "Someone has just recorded this month's rate: look at it, and correct it with a reason if it is "
            "wrong."), "month"))
        record_event("exchange_rate.create", object_type="exchange_rate", object_id=row.id, actor=actor,
                     details={"currency": currency, "quote_currency": quote, "month": month.isoformat(),
                              "rate": str(rate)})
        return row, False
    if not correction or reason is None:
        raise ProgrammeError(gettext(
            "The rate of %(currency)s in %(quote)s for %(month)s is already recorded (%(rate)s). To change it, tick "
            "“This corrects the recorded rate” and give the reason.", currency=currency, quote=quote,
            month=month.strftime("%Y-%m"), rate=money.format_rate(existing.rate)), "month")
    if len(reason) > 70:
        raise ProgrammeError(gettext("Say why in 70 characters at most."), "reason")
    old = existing.rate
    # The reason is kept with the rate's source, where the rates page shows it; the audit event keeps the figures.
    # Corrections add up in the source; past its 200 characters the text is refused, never cut (part of a reason
    # would be lost without anyone knowing).
    corrected_source = gettext("%(source)s (corrected: %(reason)s)", source=source or existing.source or "—",
                               reason=reason)
    if len(corrected_source) > ExchangeRate.source.type.length:
        raise ProgrammeError(gettext(
            "With this reason the source would be %(count)d characters long, over its limit of %(limit)d: give a "
            "shorter source in the form, or a shorter reason.", count=len(corrected_source),
            limit=ExchangeRate.source.type.length), "source")
    existing.rate = rate
    existing.source = corrected_source
    existing.recorded_by_id, existing.recorded_at = actor.id, utcnow()
    db.session.flush()
    record_event("exchange_rate.correct", object_type="exchange_rate", object_id=existing.id, actor=actor,
                 details={"currency": currency, "quote_currency": quote, "month": month.isoformat(),
                          "old_rate": str(old), "new_rate": str(rate)})
    return existing, True


# Enrolments --------------------------------------------------------------------------------------------------------


def load_case(actor, case_id: str) -> Case:
    case = case_or_404(case_id)
    authorize(actor, Action.ENROLMENT_MANAGE, case)
    return case


def open_page(actor, case_id: str) -> Case:
    case = load_case(actor, case_id)
    record_event("enrolment.view", object_type="case", object_id=case.id, case_id=case.id, actor=actor)
    return case


def enrol(actor, case: Case, project_id, enrolled_on) -> Enrolment:
    authorize(actor, Action.ENROLMENT_MANAGE, case)
    project = db.session.get(Project, project_id) if isinstance(project_id, int) else None
    if project is None or actor.organisation_id not in project.organisation_ids:
        raise ProgrammeError(gettext("Choose one of the projects your organisation implements."), "project_id")
    if not isinstance(enrolled_on, date):
        raise ProgrammeError(gettext("Give the day the case was enrolled."), "enrolled_on")
    if enrolled_on > date.today():
        raise ProgrammeError(gettext("The enrolment cannot start in the future."), "enrolled_on")
    if not project.starts_on <= enrolled_on <= project.ends_on:
        raise ProgrammeError(gettext(
            "The project runs from %(start)s to %(end)s: the enrolment must start within that period.",
            start=format_date(project.starts_on), end=format_date(project.ends_on)), "enrolled_on")
    twice = ProgrammeError(gettext("The case is already enrolled in %(code)s: end that enrolment before enrolling "
                                   "it again.", code=project.code), "project_id")
    earlier = list(db.session.scalars(select(Enrolment).where(Enrolment.case_id == case.id,
                                                              Enrolment.project_id == project.id)))
    if any(e.ended_on is None for e in earlier):
        raise twice
    if any(e.ended_on >= enrolled_on for e in earlier):
        raise ProgrammeError(gettext("An earlier enrolment in %(code)s covers that day: the new one must start after "
                                     "it ended.", code=project.code), "enrolled_on")
    enrolment = Enrolment(case_id=case.id, project_id=project.id, organisation_id=actor.organisation_id,
                          enrolled_on=enrolled_on, enrolled_by_id=actor.id, created_at=utcnow())
    enrolment.project = project
    # One open enrolment per case and project: two people enrolling at the same instant make one.
    insert_or_refuse(enrolment, "ix_project_enrolments_open", twice)
    record_event("enrolment.create", object_type="enrolment", object_id=enrolment.id, case_id=case.id, actor=actor,
                 details={"project_id": project.id, "enrolled_on": enrolled_on.isoformat()})
    return enrolment


def load_enrolment(actor, case: Case, enrolment_id: str) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id) if enrolment_id and len(enrolment_id) <= 36 else None
    if enrolment is None or enrolment.case_id != case.id:
        raise NotFound()
    authorize(actor, Action.ENROLMENT_MANAGE, enrolment)
    return enrolment


def open_requests(enrolment: Enrolment) -> int:
    return db.session.scalar(select(func.count()).select_from(FundRequest).where(
        FundRequest.case_id == enrolment.case_id, FundRequest.project_id == enrolment.project_id,
        FundRequest.organisation_id == enrolment.organisation_id, FundRequest.status.in_(OPEN))) or 0


def end_enrolment(actor, enrolment: Enrolment, ended_on) -> Enrolment:
    authorize(actor, Action.ENROLMENT_MANAGE, enrolment)
    if enrolment.ended_on is not None:
        raise ProgrammeError(gettext("This enrolment has already ended."), "ended_on")
    if not isinstance(ended_on, date):
        raise ProgrammeError(gettext("Give the day the enrolment ended."), "ended_on")
    if ended_on < enrolment.enrolled_on:
        raise ProgrammeError(gettext("The enrolment cannot end before it started (%(day)s).",
                                     day=format_date(enrolment.enrolled_on)), "ended_on")
    if ended_on > date.today():
        raise ProgrammeError(gettext("The enrolment cannot end in the future: end it on the day it ends."),
                             "ended_on")
    waiting = open_requests(enrolment)
    if waiting:
        raise ProgrammeError(gettext(
            "The case has %(n)d fund request(s) on this project waiting for approval or payment: decide or cancel "
            "them before ending the enrolment.", n=waiting), "ended_on")
    charged = list(db.session.scalars(select(ProjectAttribution).where(
        ProjectAttribution.case_id == enrolment.case_id, ProjectAttribution.project_id == enrolment.project_id,
        ProjectAttribution.organisation_id == enrolment.organisation_id)))
    later = sum(1 for day in attributable.days_of(charged).values() if enrolment.enrolled_on <= day and day > ended_on)
    if later:
        raise ProgrammeError(gettext(
            "%(n)d record(s) dated after that day are charged to this project: charge them elsewhere first, or end "
            "the enrolment later.", n=later), "ended_on")
    enrolment.ended_on = ended_on
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ProgrammeError(gettext("Someone else has just changed this enrolment: look at it again."),
                             "ended_on") from None
    record_event("enrolment.end", object_type="enrolment", object_id=enrolment.id, case_id=enrolment.case_id,
                 actor=actor, details={"project_id": enrolment.project_id, "ended_on": ended_on.isoformat()})
    return enrolment


# Attributions ------------------------------------------------------------------------------------------------------


def attribute(actor, case: Case, kind: str, record_id: str, project_id) -> ProjectAttribution | None:
    """Charge a record of the case to a project the case is enrolled in (by the actor's organisation) on the record's
    day; project_id None removes the charge. Returns the attribution (None when removed)."""
    authorize(actor, Action.ENROLMENT_MANAGE, case)
    found = attributable.record(actor, case, kind, record_id)
    if found is None:
        raise ProgrammeError(gettext("That record is not one of this case's that you may charge to a project."))
    current = db.session.get(ProjectAttribution, (kind, found.id))
    if current is not None and current.organisation_id != actor.organisation_id:
        raise ProgrammeError(gettext("Another organisation has charged this record to one of its projects."))
    if project_id is None:
        if current is None:
            return None
        old = current.project_id
        db.session.delete(current)
        db.session.flush()
        record_event("attribution.remove", object_type=kind, object_id=found.id, case_id=case.id, actor=actor,
                     details={"project_id": old})
        return None
    projects = {p.id: p for p in queries.enrolled_projects(case.id, actor.organisation_id, found.day)}
    if project_id not in projects:
        raise ProgrammeError(gettext(
            "On %(day)s the case was not enrolled in that project: charge it to a project the case was enrolled in "
            "that day, or enrol the case first.", day=format_date(found.day)))
    if current is not None and current.project_id == project_id:
        return current
    old = current.project_id if current is not None else None
    if current is None:
        current = ProjectAttribution(record_kind=kind, record_id=found.id, case_id=case.id,
                                     organisation_id=actor.organisation_id)
        db.session.add(current)
    current.project_id, current.attributed_by_id, current.attributed_at = project_id, actor.id, utcnow()
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ProgrammeError(gettext("Someone has just charged this record to a project: look at it again.")) from None
    record_event("attribution.change" if old else "attribution.create", object_type=kind, object_id=found.id,
                 case_id=case.id, actor=actor, details={"project_id": project_id, "before": old})
    return current
