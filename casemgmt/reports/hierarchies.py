"""Generalisation hierarchies for the quasi-identifiers of the de-identified (CTDC-aligned) export.

Each column has levels 0..max_level(column): level 0 is the value as recorded, the top level is "*" (the value
suppressed), and each level in between is coarser than the one below. Every level is a function of the level below
(two values that agree at level n agree at level n+1), so raising a level only ever merges equivalence classes; the
k-anonymity search in disclosure.py relies on that.

A value outside the column's known domain becomes "*" at every level above 0: guessing where it belongs could put a
person in a class that is smaller than it looks.

Codes stay codes (they are what files carry); label() gives the translated text for people.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casemgmt import htcds
from casemgmt.reports import m49

SUPPRESSED = "*"
UNKNOWN = "unknown"
MULTIPLE = "multiple"
SEPARATOR = ";"

YEAR = "yearOfRegistration"
GENDER = "gender"
AGE = "ageBroad"
CITIZENSHIP = "citizenship"
EXPLOITATION_COUNTRY = "CountryOfExploitation"
EXPLOITATION = "typeOfExploitConcatenated"
CONTROL = "meansOfControlConcatenated"

COLUMNS: tuple[str, ...] = (YEAR, GENDER, AGE, CITIZENSHIP, EXPLOITATION_COUNTRY, EXPLOITATION, CONTROL)

# --- year ------------------------------------------------------------------------------------------------------------


def _five_years(value: str) -> str:
    if value == UNKNOWN:
        return UNKNOWN
    if not (len(value) == 4 and value.isdigit()):
        return SUPPRESSED
    start = int(value) // 5 * 5
    return f"{start}-{start + 4}"


# --- gender ----------------------------------------------------------------------------------------------------------

_GENDERS = frozenset(htcds.GENDER) | {UNKNOWN}

# --- age -------------------------------------------------------------------------------------------------------------

# CTDC band -> broad band. No broad band straddles 18, so minors stay apart from adults until the very top level
# (their assistance differs: guardianship, an escort on return). "unknown" stays apart because lumping it with a band
# would make that band look bigger than it is.
_BROAD_AGE = {
    "0-8": "0-17", "9-17": "0-17",
    "18-20": "18-29", "21-23": "18-29", "24-26": "18-29", "27-29": "18-29",
    "30-38": "30-47", "39-47": "30-47",
    "48+": "48+",
    UNKNOWN: UNKNOWN,
}
MINOR, ADULT = "minor", "adult"
_MINOR_ADULT = {"0-17": MINOR, "18-29": ADULT, "30-47": ADULT, "48+": ADULT, UNKNOWN: UNKNOWN}


def _broad_age(value: str) -> str:
    return _BROAD_AGE.get(value, SUPPRESSED)


def _minor_or_adult(value: str) -> str:
    return _MINOR_ADULT.get(_broad_age(value), SUPPRESSED)


# --- countries -------------------------------------------------------------------------------------------------------


def _country_step(index: int) -> Callable[[str], str]:
    def step(value: str) -> str:
        if value in (UNKNOWN, MULTIPLE):
            return value
        regions = m49.COUNTRY_REGIONS.get(value)
        return regions[index] if regions else SUPPRESSED

    return step


# --- multi-valued code lists -----------------------------------------------------------------------------------------

# HTCDS exploitation types in three groups, the split of CTDC's published figures and of ILO's forced labour
# estimates: forced begging, servitude and child labour are forms of labour exploitation; forced marriage, organ
# removal, forced adoption, surrogacy and forced military service are counted apart from labour by ILO and CTDC.
LABOUR, SEXUAL, OTHER = "labour", "sexual", "other"
EXPLOITATION_GROUPS: dict[str, str] = {
    "SexualExploitation": SEXUAL,
    "ForcedLabour": LABOUR,
    "ChildLabour": LABOUR,
    "Servitude": LABOUR,
    "ForcedBegging": LABOUR,
    "ForcedMarriage": OTHER,
    "ForcedMilitaryByNonStateActors": OTHER,
    "OrganRemoval": OTHER,
    "ForcedAdoption": OTHER,
    "Surrogacy": OTHER,
    "Other": OTHER,
}

# HTCDS means of control by how they hold a person: threats, violence, money, deprivation of what one needs to leave.
# Sixteen codes give 65,536 combinations, five groups 32: the intermediate level keeps the column useful.
THREATS, VIOLENCE, ECONOMIC, DEPRIVATION = "threats", "violence", "economic", "deprivation"
CONTROL_GROUPS: dict[str, str] = {
    "PhysicalThreats": THREATS,
    "ThreatsLawEnforcement": THREATS,
    "ThreatensChildrenFamily": THREATS,
    "PhysicalAbuse": VIOLENCE,
    "SexualAbuse": VIOLENCE,
    "PsychologicalAbuse": VIOLENCE,
    "PsychoactiveSubstance": VIOLENCE,
    "DebtBondage": ECONOMIC,
    "FalsePromises": ECONOMIC,
    "TakesEarnings": ECONOMIC,
    "RestrictsFinancialAccess": ECONOMIC,
    "ExcessiveWorkingHours": ECONOMIC,
    "RestrictsMedicalCare": DEPRIVATION,
    "WithholdsNecessities": DEPRIVATION,
    "WithholdsDocuments": DEPRIVATION,
    "Other": OTHER,
}


def _codes(value: str) -> list[str]:
    return [code for code in value.split(SEPARATOR) if code]


def join_codes(codes) -> str:
    """The export's form of a code list: distinct, sorted, ";"-joined, "" when empty."""
    return SEPARATOR.join(sorted(set(codes)))


def _grouped(groups: dict[str, str]) -> Callable[[str], str]:
    def step(value: str) -> str:
        codes = _codes(value)
        if any(code not in groups for code in codes):
            return SUPPRESSED
        return join_codes(groups[code] for code in codes)

    return step


# --- the hierarchies -------------------------------------------------------------------------------------------------

# Levels 1..max-1 as functions of the recorded value; level 0 is the value and max_level is "*".
_STEPS: dict[str, tuple[Callable[[str], str], ...]] = {
    YEAR: (_five_years,),
    GENDER: (),
    AGE: (_broad_age, _minor_or_adult),
    CITIZENSHIP: (_country_step(0), _country_step(1)),
    EXPLOITATION_COUNTRY: (_country_step(0), _country_step(1)),
    EXPLOITATION: (_grouped(EXPLOITATION_GROUPS),),
    CONTROL: (_grouped(CONTROL_GROUPS),),
}


def max_level(column: str) -> int:
    return len(_steps(column)) + 1


def generalise(column: str, value: str, level: int) -> str:
    steps = _steps(column)
    if level < 0:
        raise ValueError(f"negative generalisation level {level} for {column}")
    if level == 0:
        return value
    if level > len(steps):
        return SUPPRESSED
    return steps[level - 1](value)


def _steps(column: str) -> tuple[Callable[[str], str], ...]:
    try:
        return _STEPS[column]
    except KeyError:
        raise ValueError(f"no generalisation hierarchy for column {column!r}") from None


# --- labels ----------------------------------------------------------------------------------------------------------

_WORDS = {
    UNKNOWN: _l("Unknown"),
    MULTIPLE: _l("Multiple countries"),
    MINOR: _l("Minor (under 18)"),
    ADULT: _l("Adult (18 or over)"),
}

_GROUP_LABELS = {
    EXPLOITATION: {
        SEXUAL: _l("Sexual exploitation"),
        LABOUR: _l("Labour exploitation"),
        OTHER: _l("Other exploitation"),
    },
    CONTROL: {
        THREATS: _l("Threats"),
        VIOLENCE: _l("Violence and abuse"),
        ECONOMIC: _l("Economic control and deception"),
        DEPRIVATION: _l("Deprivation of documents, care or necessities"),
        OTHER: _l("Other"),
    },
}

_CODE_LABELS = {EXPLOITATION: htcds.EXPLOITATION_TYPES, CONTROL: htcds.CONTROL_METHODS}


def label(column: str, value: str) -> str:
    """Text for people, in the user's language; a file keeps the code."""
    _steps(column)  # an unknown column is a programming error, as in generalise()
    if value == SUPPRESSED:
        return _("Suppressed")
    if value in _WORDS:
        return str(_WORDS[value])
    if column == GENDER:
        return htcds.GENDER.label(value)
    if column == AGE:
        return htcds.AGE_BANDS.label(value)
    if column in (CITIZENSHIP, EXPLOITATION_COUNTRY):
        return m49.name(value) if m49.is_m49(value) else htcds.country_name(value)
    if column in _CODE_LABELS:
        codes = _codes(value)
        if not codes:
            return _("None recorded")
        groups, values = _GROUP_LABELS[column], _CODE_LABELS[column]
        return ", ".join(str(groups[code]) if code in groups else values.label(code) for code in codes)
    return value
