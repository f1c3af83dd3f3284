"""HTCDS 2.0 value sets (and the stages of DOMAIN.md), with translated labels.

Codes are what the database stores and exports carry, so they line up with the standard; labels are for people.
Countries (ISO 3166-1 alpha-2) and languages (ISO 639-1) take their names from Babel's CLDR data in the user's locale.
Which countries exist comes from pycountry (ISO 3166-1, as maintained by Debian's iso-codes), not from CLDR, whose
territory list also holds groupings (EU, "Eurozone", UN, "Outlying Oceania"), pseudo-locales ("Pseudo-Accents") and
numeric regions that nobody is a citizen of.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import cache

import pycountry
from babel import Locale
from babel.core import UnknownLocaleError
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l


class ValueSet:
    def __init__(self, name: str, items: dict[str, object]):
        self.name = name
        self._items = items

    def __contains__(self, code: object) -> bool:
        return code in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def label(self, code: str | None) -> str:
        if code is None:
            return ""
        return str(self._items.get(code, code))

    def choices(self, blank: bool = False) -> list[tuple[str, object]]:
        items = list(self._items.items())
        return ([("", _l("— choose —"))] if blank else []) + items


GENDER = ValueSet("Gender", {
    "Feminine": _l("Female"),
    "Masculine": _l("Male"),
    "TransgenderFeminine": _l("Transgender female"),
    "TransgenderMasculine": _l("Transgender male"),
    "NonConforming": _l("Gender non-conforming"),
    "NonSpecifiedUnknown": _l("Not specified or unknown"),
})

TRAFFICKING_STATUS = ValueSet("TraffickingStatus", {
    "PossibleVictimOfTrafficking": _l("Possible victim of trafficking"),
    "ActualVictimOfTrafficking": _l("Victim of trafficking"),
    "NotAVictimOfTrafficking": _l("Not a victim of trafficking"),
})

STATUS_DECIDED_BY = ValueSet("TraffickingStatusDecidedBy", {
    "Police": _l("Police"),
    "NGO": _l("NGO"),
    "CourtOrProsecution": _l("Court or prosecution"),
    "NonPoliceGovernmentalOrganization": _l("Non-police government organisation"),
    "Other": _l("Other"),
})

EXPLOITATION_TYPES = ValueSet("TypeOfExploitation", {
    "ForcedLabour": _l("Forced labour"),
    "SexualExploitation": _l("Sexual exploitation"),
    "ChildLabour": _l("Child labour"),
    "ForcedMarriage": _l("Forced marriage"),
    "Servitude": _l("Servitude"),
    "ForcedMilitaryByNonStateActors": _l("Forced military service by non-state actors"),
    "OrganRemoval": _l("Organ removal"),
    "ForcedBegging": _l("Forced begging"),
    "ForcedAdoption": _l("Forced adoption"),
    "Surrogacy": _l("Surrogacy"),
    "Other": _l("Other"),
})

CONTROL_METHODS = ValueSet("MethodsOfControl", {
    "PhysicalThreats": _l("Physical threats"),
    "ThreatsLawEnforcement": _l("Threats of law enforcement action"),
    "ThreatensChildrenFamily": _l("Threats against children or family"),
    "DebtBondage": _l("Debt bondage"),
    "FalsePromises": _l("False promises"),
    "PhysicalAbuse": _l("Physical abuse"),
    "SexualAbuse": _l("Sexual abuse"),
    "TakesEarnings": _l("Takes earnings"),
    "RestrictsFinancialAccess": _l("Restricts access to money"),
    "RestrictsMedicalCare": _l("Restricts medical care"),
    "WithholdsNecessities": _l("Withholds necessities"),
    "PsychologicalAbuse": _l("Psychological abuse"),
    "PsychoactiveSubstance": _l("Psychoactive substances"),
    "ExcessiveWorkingHours": _l("Excessive working hours"),
    "WithholdsDocuments": _l("Withholds documents"),
    "Other": _l("Other"),
})

RECRUITMENT_METHODS = ValueSet("MethodOfRecruitment", {
    "AtAPlaceOfBusiness": _l("At a place of business"),
    "AtAnEducationalInstitution": _l("At an educational institution"),
    "AtWork": _l("At work"),
    "ThroughOnlineSocialNetworks": _l("Through online social networks"),
    "ThroughAnOnlineAdvertisement": _l("Through an online advertisement"),
    "ThroughATelevisionAdvert": _l("Through a television advert"),
    "ThroughANewspaperAdvert": _l("Through a newspaper advert"),
    "ThroughFamilyOrFamilyEvents": _l("Through family or family events"),
    "ThroughFriendsOrSocialEvents": _l("Through friends or social events"),
    "Other": _l("Other"),
})

RELATIONSHIP_TO_TRAFFICKER = ValueSet("RelationshipToTrafficker", {
    "Familial": _l("Family member"),
    "Acquainted": _l("Acquaintance"),
    "Unacquainted": _l("Stranger"),
})

CASE_STATUS = ValueSet("CaseStatus", {
    "Active": _l("Active"),
    "FollowUp": _l("Follow-up"),
    "Closed": _l("Closed"),
    "ClosedReferred": _l("Closed (referred)"),
})

STAGES = ValueSet("Stage", {
    "intake": _l("Intake"),
    "shelter": _l("Shelter"),
    "counseling": _l("Counseling"),
    # The person stays in the destination country (protection status, family reunification): issue 15.
    "stay": _l("Staying in destination country"),
    "return": _l("Return"),
    "reintegration": _l("Reintegration"),
    "closed": _l("Closed"),
})

# CTDC age bands, so de-identified exports line up with the published global dataset.
AGE_BANDS = ValueSet("AgeBand", {
    "0-8": "0-8", "9-17": "9-17", "18-20": "18-20", "21-23": "21-23", "24-26": "24-26",
    "27-29": "27-29", "30-38": "30-38", "39-47": "39-47", "48+": "48+", "unknown": _l("Unknown"),
})

DOCUMENT_TYPES = ValueSet("IdentityDocumentType", {
    "Passport": _l("Passport"),
    "NationalId": _l("National identity card"),
    "BirthCertificate": _l("Birth certificate"),
    "ResidencePermit": _l("Residence permit"),
    "TravelDocument": _l("Travel document"),
    "Other": _l("Other"),
})

ORGANISATION_TYPES = ValueSet("OrganisationType", {
    "NGO": _l("NGO"),
    "LawEnforcement": _l("Law enforcement"),
    "HealthServiceOrganisation": _l("Health service"),
    "CentralGovernmentOrganisation": _l("Central government"),
    "LocalGovernmentOrganisation": _l("Local government"),
    "ImmigrationService": _l("Immigration service"),
    "LegalService": _l("Legal service"),
    "CorporateBusiness": _l("Business"),
    "SchoolOrCollege": _l("School or college"),
    "Intergovernmental": _l("Intergovernmental organisation (e.g. IOM mission)"),
})

VULNERABILITIES = ValueSet("SpecialVulnerability", {
    "unaccompanied_or_separated": _l("Unaccompanied or separated"),
    "pregnant": _l("Pregnant"),
    "elderly": _l("Elderly"),
    "ill": _l("Ill or disabled"),
})


def age_band(age_years: int | None) -> str:
    if age_years is None or age_years < 0:
        return "unknown"
    for upper, band in ((8, "0-8"), (17, "9-17"), (20, "18-20"), (23, "21-23"), (26, "24-26"),
                        (29, "27-29"), (38, "30-38"), (47, "39-47")):
        if age_years <= upper:
            return band
    return "48+"


def _locale() -> Locale:
    try:
        return Locale.parse(str(get_locale() or "en"))
    except Exception:
        return Locale("en")


# Kosovo has no ISO 3166-1 code yet, but people trafficked in the Balkans are its citizens; XK is the user-assigned
# code CLDR and the European Commission give it.
_NOT_YET_IN_ISO = ("XK",)

COUNTRY_CODES: tuple[str, ...] = tuple(sorted({c.alpha_2 for c in pycountry.countries} | set(_NOT_YET_IN_ISO)))

# Languages whose CLDR data names few or no countries (Haitian Creole names none), read with the language their
# speakers also read; English fills whatever is still missing.
_NAME_FALLBACKS = {"ht": "fr"}


def country_codes() -> tuple[str, ...]:
    """Every country and territory a person can be a citizen of, be recruited or exploited in, or return to."""
    return COUNTRY_CODES


_COUNTRY_SET = frozenset(COUNTRY_CODES)


def is_country(code: object) -> bool:
    return isinstance(code, str) and code in _COUNTRY_SET


@cache
def _territory_names(tag: str) -> dict[str, str]:
    chain = [tag]
    language = tag.split("_")[0]
    if language in _NAME_FALLBACKS:
        chain.append(_NAME_FALLBACKS[language])
    chain.append("en")
    names: dict[str, str] = {}
    for candidate in reversed(chain):
        try:
            names.update(Locale.parse(candidate).territories)
        except (UnknownLocaleError, ValueError):
            continue
    return names


def collation_key(text: str) -> tuple[str, str]:
    """Alphabetical order as people expect it without ICU: accents and case do not move a name away from its letter
    ("Égypte" sits with the E in French, "Åland" with the A), and the exact text breaks ties."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return folded.casefold(), text


def country_name(code: str | None) -> str:
    """The name in the user's language; also names CLDR's numeric regions ("005", South America) for reports."""
    if not code:
        return ""
    return _territory_names(str(_locale())).get(code, code)


@cache
def _sorted_country_choices(tag: str) -> tuple[tuple[str, str], ...]:
    names = _territory_names(tag)
    items = ((code, names.get(code, code)) for code in COUNTRY_CODES)
    return tuple(sorted(items, key=lambda item: collation_key(item[1])))


def country_choices(blank: bool = False) -> list[tuple[str, str]]:
    items = list(_sorted_country_choices(str(_locale())))
    return ([("", str(_l("— choose —")))] if blank else []) + items


def language_codes() -> list[str]:
    return sorted(code for code in Locale("en").languages if len(code) == 2)


def language_name(code: str) -> str:
    return _locale().languages.get(code, code)


def language_choices() -> list[tuple[str, str]]:
    names = _locale().languages
    return sorted(((c, names.get(c, c)) for c in language_codes()), key=lambda item: item[1])
