"""A person's age on any day, and whether they are a child on it.

Childhood comes from the age alone: a person under 18 on the date of an action (an admission, a departure, a consent,
a referral) is a child for that action, whatever else the record says. "Unaccompanied or separated" is a recorded
fact that adds rules for a child; it does not make anyone a child. The age is known from one of (BASES):

- the date of birth ("exact");
- an estimated age on the day it was estimated ("estimated"): it ages with time, a birthday every year on the day
  of the estimate, so "about 16" estimated two years ago is "about 18" today;
- a year of birth ("birth_year"): the age is a range of two years until the birthday, which is unknown;
- "child_unknown": recorded as a child before ages were derived (migration a7c1d2e3f4b5), age not known yet.

When none is recorded, an age band of a child (0-8, 9-17) still counts as a child: a band carries no date to age it
from. The values identify the person, so they are encrypted like the date of birth; only the basis (a code) and the
band (a report category) are plaintext. Reading them decrypts the one case's person, once per request (memoised in
`g`); nothing here reads more than one person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import g
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from casemgmt.crypto import unseal
from casemgmt.htcds import ValueSet, age_band

ADULT_AGE = 18
MAX_AGE = 120
MINOR_AGE_BANDS = ("0-8", "9-17")

BASES = ValueSet("AgeBasis", {
    "exact": _l("Date of birth"),
    "estimated": _l("Estimated age"),
    "birth_year": _l("Year of birth"),
    "child_unknown": _l("Recorded as a child, age unknown"),
})

# Who may consent for a child (consent), or travel with a child instead of an escort (return: the first two only).
GUARDIAN_RELATIONSHIPS = ValueSet("GuardianRelationship", {
    "parent": _l("Parent"),
    "legal_guardian": _l("Legal guardian"),
    "representative": _l("Representative appointed for the child"),
})
TRAVELLING_GUARDIANS = ("parent", "legal_guardian")

AGE_FIELDS = ("date_of_birth", "estimated_age", "age_estimated_on", "birth_year")


@dataclass(frozen=True)
class AgeFacts:
    """What the record holds about the age, decrypted."""

    basis: str | None = None
    date_of_birth: date | None = None
    estimated_age: int | None = None
    estimated_on: date | None = None
    birth_year: int | None = None
    age_band: str | None = None


@dataclass(frozen=True)
class Age:
    """The age on one day. `years` is the youngest the person can be that day (None when unknown); for a year of
    birth `oldest` is the other end of the range."""

    basis: str | None          # a BASES code, "age_band" (only a band is recorded) or None (nothing is)
    years: int | None = None
    approximate: bool = False
    oldest: int | None = None
    birth_year: int | None = None
    band: str | None = None

    @property
    def known(self) -> bool:
        return self.years is not None

    def label(self) -> str:
        """"16", "about 16", "born 2010": how the case header shows the age."""
        if self.basis == "exact":
            return str(self.years)
        if self.basis == "estimated":
            return gettext("about %(years)d", years=self.years)
        if self.basis == "birth_year":
            return gettext("born %(year)d", year=self.birth_year)
        if self.basis == "child_unknown":
            return gettext("not known (recorded as a child)")
        if self.basis == "age_band":
            return gettext("%(band)s (age band)", band=self.band)
        return gettext("not known")


# Reckoning ---------------------------------------------------------------------------------------------------------

def years_between(born: date, day: date) -> int:
    """Whole years from `born` to `day` (an age in years; negative before `born`)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def age_from(facts: AgeFacts, day: date) -> Age:
    """The age on `day` from what the record holds (no database, no decryption: the rules in one place)."""
    if facts.basis == "exact" and facts.date_of_birth is not None:
        return Age("exact", years_between(facts.date_of_birth, day))
    if facts.basis == "birth_year" and facts.birth_year is not None:
        # Born on 31 December at the latest and on 1 January at the earliest.
        youngest = years_between(date(facts.birth_year, 12, 31), day)
        oldest = years_between(date(facts.birth_year, 1, 1), day)
        return Age("birth_year", youngest, approximate=True, oldest=oldest, birth_year=facts.birth_year)
    if facts.basis == "estimated" and facts.estimated_age is not None and facts.estimated_on is not None:
        # The estimate ages with time: the person is taken to have been born on the day of the estimate, that many
        # years before. Of the year the estimate spans, this is the youngest end: a child stays a child until it
        # is sure they are not.
        born = _years_before(facts.estimated_on, facts.estimated_age)
        return Age("estimated", years_between(born, day), approximate=True)
    if facts.basis == "child_unknown":
        return Age("child_unknown", approximate=True)
    if facts.age_band and facts.age_band != "unknown":
        return Age("age_band", approximate=True, band=facts.age_band)
    return Age(None)


def child_from(facts: AgeFacts, day: date) -> bool:
    """Whether the person counts as a child on `day`. For safety a person who MAY still be under 18 that day is a
    child: a year of birth counts until the last possible birthday (31 December) has passed, an estimate until its
    anniversary, and a record that says "child" without an age (or only a child's age band) stays a child until
    someone records the date of birth or an estimate."""
    age = age_from(facts, day)
    if age.basis == "child_unknown":
        return True
    if age.basis == "age_band":
        return age.band in MINOR_AGE_BANDS
    return age.years is not None and age.years < ADULT_AGE


# Reading the record ------------------------------------------------------------------------------------------------

def _fingerprint(person) -> tuple:
    return (person.age_basis, person.age_band, *(getattr(person, f) for f in
            ("date_of_birth", "estimated_age", "age_estimated_on", "birth_year")))


def _int(text: str | None) -> int | None:
    return int(text) if text not in (None, "") else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def facts_of(case) -> AgeFacts:
    """The case's age facts, decrypted once per request. The memo is checked against the stored ciphertexts, so a
    change made in the same request (an edit, then the page) is read again."""
    person = case.person
    if person is None:
        return AgeFacts()
    if case.erased_at is not None:
        # Erased: the keys are gone, only the plaintext categories remain.
        return AgeFacts(basis=person.age_basis if person.age_basis == "child_unknown" else None,
                        age_band=person.age_band)
    memo = g.setdefault("_casemgmt_age_facts", {})
    key = _fingerprint(person)
    cached = memo.get(person.id)
    if cached is not None and cached[0] == key:
        return cached[1]
    facts = AgeFacts(
        basis=person.age_basis,
        date_of_birth=_date(unseal(person, "date_of_birth")) if person.date_of_birth is not None else None,
        estimated_age=_int(unseal(person, "estimated_age")) if person.estimated_age is not None else None,
        estimated_on=_date(unseal(person, "age_estimated_on")) if person.age_estimated_on is not None else None,
        birth_year=_int(unseal(person, "birth_year")) if person.birth_year is not None else None,
        age_band=person.age_band,
    )
    memo[person.id] = (key, facts)
    return facts


def age_on(case, day: date | None = None) -> Age:
    """The person's age on `day` (today if not given)."""
    return age_from(facts_of(case), day or date.today())


def is_child(case, day: date | None = None) -> bool:
    """Under 18 on `day` (today if not given), counting whoever may still be (see child_from)."""
    return child_from(facts_of(case), day or date.today())


# Writing the record ------------------------------------------------------------------------------------------------

def basis_for(values: dict, previous: str | None = None) -> str | None:
    """The basis of what a form gives: the date of birth first, then a year of birth, then an estimate. With none
    given, a person recorded as a child stays one (child_unknown is never dropped by saving an empty age)."""
    if isinstance(values.get("date_of_birth"), date):
        return "exact"
    if values.get("birth_year") not in (None, ""):
        return "birth_year"
    if values.get("estimated_age") not in (None, ""):
        return "estimated"
    return "child_unknown" if previous == "child_unknown" else None


def facts_from_values(values: dict, basis: str | None) -> AgeFacts:
    return AgeFacts(
        basis=basis, date_of_birth=values.get("date_of_birth") if isinstance(values.get("date_of_birth"), date)
        else None, estimated_age=_as_int(values.get("estimated_age")),
        estimated_on=values.get("age_estimated_on") if isinstance(values.get("age_estimated_on"), date) else None,
        birth_year=_as_int(values.get("birth_year")), age_band=values.get("age_band") or None,
    )


def _as_int(value) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


def problems(values: dict, today: date | None = None) -> dict[str, str]:
    """What is wrong with the age values of a form, by field, each a translated sentence (empty: nothing). The case
    form shows them beside the fields; the operations refuse with them, so every caller gets the same rules."""
    today = today or date.today()
    found: dict[str, str] = {}
    dob = values.get("date_of_birth")
    dob = dob if isinstance(dob, date) else None
    try:
        estimate = _as_int(values.get("estimated_age"))
    except (TypeError, ValueError):
        found["estimated_age"] = gettext("Give the estimated age as a whole number of years.")
        estimate = None
    try:
        year = _as_int(values.get("birth_year"))
    except (TypeError, ValueError):
        found["birth_year"] = gettext("Give the year of birth as a four-digit year.")
        year = None
    estimated_on = values.get("age_estimated_on")
    estimated_on = estimated_on if isinstance(estimated_on, date) else None
    if dob is not None:
        if dob > today:
            found["date_of_birth"] = gettext("The date of birth cannot be in the future.")
        elif years_between(dob, today) > MAX_AGE:
            found["date_of_birth"] = gettext("The date of birth is more than %(n)d years ago; check it.", n=MAX_AGE)
    if estimate is not None and not 0 <= estimate <= MAX_AGE:
        found["estimated_age"] = gettext("An estimated age is between 0 and %(n)d years.", n=MAX_AGE)
    if estimated_on is not None:
        if estimated_on > today:
            found["age_estimated_on"] = gettext("The day of the estimate cannot be in the future.")
        elif estimate is None and "estimated_age" not in found:
            found["age_estimated_on"] = gettext("Give the estimated age, or leave the day of the estimate empty.")
        elif estimated_on.year < 1900:
            found["age_estimated_on"] = gettext("This date is too far in the past.")
    if year is not None and not today.year - MAX_AGE <= year <= today.year:
        found["birth_year"] = gettext("Give a year of birth between %(first)d and %(last)d.",
                                      first=today.year - MAX_AGE, last=today.year)
    if found:
        return found
    on = estimated_on or today
    if dob is not None and year is not None and dob.year != year:
        found["birth_year"] = gettext("The year of birth does not match the date of birth.")
    if dob is not None and estimate is not None and years_between(dob, on) != estimate:
        found["estimated_age"] = gettext(
            "The estimated age does not match the date of birth, which gives %(years)d on that day. Leave the "
            "estimate empty when the date of birth is known.", years=years_between(dob, on))
    if year is not None and estimate is not None and "estimated_age" not in found:
        youngest, oldest = years_between(date(year, 12, 31), on), years_between(date(year, 1, 1), on)
        if not youngest <= estimate <= oldest:
            found["estimated_age"] = gettext(
                "The estimated age does not match the year of birth, which gives %(youngest)d or %(oldest)d on that "
                "day.", youngest=max(youngest, 0), oldest=oldest)
    return found


def band_for(values: dict, basis: str | None, today: date | None = None) -> str | None:
    """The report's age band from the age given, on the day of saving (the youngest end for a year of birth, as
    for childhood); None when no age is given (the band chosen on the form stands)."""
    if basis in (None, "child_unknown"):
        return None
    age = age_from(facts_from_values(values, basis), today or date.today())
    return age_band(max(age.years, 0)) if age.years is not None else None
