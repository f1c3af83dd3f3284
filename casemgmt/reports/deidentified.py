"""The de-identified export: CTDC-aligned records of the cohort, k-anonymous over their quasi-identifiers.

Every column is a quasi-identifier (CTDC's codebook: year of registration, gender, age band, citizenship, country of
exploitation, types of exploitation, means of control), and nothing else is read: no reference, id, name, exact date
or free text ever enters the computation, so none can reach the file. The database counts the cases per combination
of values in one query; disclosure.k_anonymise() then generalises along hierarchies.py and suppresses what is still
rarer than k. A record of the file is its class repeated, so a file of N lines says no more than the histogram.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, extract, func, select
from sqlalchemy.orm import aliased

from casemgmt.access import Action, authorize
from casemgmt.audit import record_event
from casemgmt.cases.models import Case, CaseCode, Person
from casemgmt.extensions import db
from casemgmt.reports import hierarchies as h
from casemgmt.reports.disclosure import KAnonymised, k_anonymise
from casemgmt.reports.filters import ReportFilters, conditions

HEADER = h.COLUMNS


def histogram(organisation_id: int, filters: ReportFilters) -> dict[tuple[str, ...], int]:
    """{(yearOfRegistration, gender, ageBroad, citizenship, CountryOfExploitation, exploitation, control): cases}."""
    counts: dict[tuple[str, ...], int] = {}
    per_case = _per_case(organisation_id, filters)
    for year_value, gender, age, citizenship, countries, country, exploitation, control, persons in (
        db.session.execute(select(*per_case.c, func.count()).group_by(*per_case.c))
    ):
        key = (
            str(int(year_value)),
            gender or h.UNKNOWN,
            age or h.UNKNOWN,
            citizenship or h.UNKNOWN,
            _exploitation_country(countries or 0, country),
            _sorted_codes(exploitation),
            _sorted_codes(control),
        )
        # The database concatenates codes in no particular order, so two orders of one set are one class.
        counts[key] = counts.get(key, 0) + persons
    return counts


def _per_case(organisation_id: int, filters: ReportFilters):
    """One row per cohort case: its quasi-identifiers, its codes joined into strings. The cohort's cases are joined
    to their person and codes, then grouped by case; grouping the codes of every case in the database first (all
    organisations) and joining the groups afterwards took twice as long on both databases at 100,000 cases."""
    # Aliases, because the cohort's conditions test Person and CaseCode in subqueries that must not correlate with
    # the rows joined here.
    person, code = aliased(Person), aliased(CaseCode)
    year = extract("year", Case.created_at)

    def codes_of(kind: str):
        return func.aggregate_strings(case((code.kind == kind, code.code)), h.SEPARATOR)

    is_country = code.kind == "exploitation_country"
    return (
        select(
            year.label("year"), person.gender, person.age_band, person.citizenship,
            func.count(case((is_country, 1))).label("countries"),
            func.min(case((is_country, code.code))).label("country"),
            codes_of("exploitation").label("exploitation"),
            codes_of("control").label("control"),
        )
        .select_from(Case)
        .outerjoin(person, person.case_id == Case.id)
        .outerjoin(code, and_(code.case_id == Case.id,
                              code.kind.in_(("exploitation", "control", "exploitation_country"))))
        .where(*conditions(organisation_id, filters))
        .group_by(Case.id, year, person.gender, person.age_band, person.citizenship)
        .subquery("per_case")
    )


def _exploitation_country(countries: int, country: str | None) -> str:
    if countries == 0 or country is None:
        return h.UNKNOWN
    return country if countries == 1 else h.MULTIPLE


def _sorted_codes(concatenated: str | None) -> str:
    return h.join_codes(code for code in (concatenated or "").split(h.SEPARATOR) if code)


def release(organisation_id: int, filters: ReportFilters, k: int, max_suppression: float) -> KAnonymised:
    """What the export of the cohort would release at this k: levels chosen, classes, released and suppressed."""
    return k_anonymise(histogram(organisation_id, filters), k, max_suppression=max_suppression)


def record_export(user, filters: ReportFilters, fmt: str, released: KAnonymised) -> None:
    """The audit event of a download: what was shared and how much was held back; the caller commits."""
    authorize(user, Action.EXPORT_DEIDENTIFIED)
    record_event("export.deidentified", object_type="organisation", object_id=user.organisation_id, actor=user,
                 details={"filters": filters.args(), "format": fmt, "k": released.k, "released": released.released,
                          "suppressed": released.suppressed, "levels": released.levels})


def rows(released: KAnonymised) -> Iterator[tuple[str, ...]]:
    """Each released class once per person it holds, in sorted order (the order says nothing about the cases)."""
    for key in sorted(released.histogram):
        yield from repeat(key, released.histogram[key])


# What each generalisation level of hierarchies.py means, for people choosing what to share.
_LEVEL_NAMES: dict[str, tuple] = {
    h.YEAR: (_l("Year"), _l("Five-year period")),
    h.GENDER: (_l("As recorded"),),
    h.AGE: (_l("Age band"), _l("Broad age band"), _l("Minor or adult")),
    h.CITIZENSHIP: (_l("Country"), _l("Sub-region"), _l("Region")),
    h.EXPLOITATION_COUNTRY: (_l("Country"), _l("Sub-region"), _l("Region")),
    h.EXPLOITATION: (_l("Types as recorded"), _l("Groups of types")),
    h.CONTROL: (_l("Means as recorded"), _l("Groups of means")),
}

COLUMN_LABELS = {
    h.YEAR: _l("Year of registration"),
    h.GENDER: _l("Gender"),
    h.AGE: _l("Age"),
    h.CITIZENSHIP: _l("Citizenship"),
    h.EXPLOITATION_COUNTRY: _l("Country of exploitation"),
    h.EXPLOITATION: _l("Types of exploitation"),
    h.CONTROL: _l("Means of control"),
}


def level_name(column: str, level: int) -> str:
    if level >= h.max_level(column):
        return _("Withheld")
    names = _LEVEL_NAMES[column]
    return str(names[level]) if level < len(names) else str(level)
