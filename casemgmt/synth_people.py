"""Invented people for `casemgmt synth`: identities from Faker pools, and HTCDS categories with skewed, realistic
frequencies (many combinations, some values missing), so reports and searches meet data that looks like a caseload.

Faker is slow per call (tens of microseconds, more for addresses), so each locale's names and addresses are drawn
once into pools and combined with the seeded random generator; the pools are large enough that most full names are
unique while some repeat, as real names do.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from faker import Faker

from casemgmt import htcds

# Where assisted people come from, per organisation country (the NGOs in Lima and Bogotá, the mission in Haiti).
CITIZENSHIP_WEIGHTS = {
    "PE": {"PE": 34, "VE": 30, "CO": 9, "EC": 8, "BO": 10, "HT": 3, "DO": 2, "PY": 4},
    "CO": {"CO": 40, "VE": 42, "EC": 7, "PE": 4, "HT": 3, "DO": 2, "BO": 2},
    "HT": {"HT": 88, "DO": 6, "VE": 3, "CO": 3},
}
LOCALES = {"PE": "es_MX", "CO": "es_CO", "VE": "es_MX", "EC": "es_MX", "BO": "es_MX", "PY": "es_MX",
           "DO": "es_MX", "HT": "fr_FR"}
LANGUAGES = {"HT": ["fr", "ht"], "PE": ["es"], "BO": ["es"], "PY": ["es"]}
DIAL = {"PE": ("+51 9", 8), "CO": ("+57 3", 9), "VE": ("+58 4", 9), "EC": ("+593 9", 8), "BO": ("+591 7", 7),
        "PY": ("+595 9", 8), "DO": ("+1 809 ", 7), "HT": ("+509 3", 7)}
EXPLOITATION_COUNTRIES = {"PE": 30, "CO": 22, "CL": 12, "AR": 8, "US": 6, "DO": 6, "BR": 5, "EC": 4, "ES": 3,
                          "MX": 3, "HT": 1}

GENDERS = {"Feminine": 66, "Masculine": 29, "TransgenderFeminine": 1.5, "TransgenderMasculine": 0.3,
           "NonConforming": 0.5, "NonSpecifiedUnknown": 2.7}
# Exploitation types differ by gender (women: mostly sexual exploitation; men: mostly forced labour).
EXPLOITATION_WEIGHTS = {
    "female": {"SexualExploitation": 52, "ForcedLabour": 28, "Servitude": 7, "ForcedMarriage": 4, "ForcedBegging": 3,
               "Surrogacy": 0.5, "OrganRemoval": 0.2, "ForcedAdoption": 0.3, "Other": 2},
    "male": {"ForcedLabour": 72, "SexualExploitation": 8, "ForcedBegging": 6, "Servitude": 4,
             "ForcedMilitaryByNonStateActors": 2, "OrganRemoval": 0.5, "Other": 3},
}
# Each means of control is recorded independently with this probability.
CONTROL_RATES = {"FalsePromises": 0.5, "DebtBondage": 0.38, "WithholdsDocuments": 0.33, "PsychologicalAbuse": 0.3,
                 "PhysicalThreats": 0.27, "TakesEarnings": 0.27, "ExcessiveWorkingHours": 0.25,
                 "PhysicalAbuse": 0.16, "RestrictsFinancialAccess": 0.13, "ThreatensChildrenFamily": 0.13,
                 "ThreatsLawEnforcement": 0.12, "SexualAbuse": 0.1, "WithholdsNecessities": 0.08,
                 "PsychoactiveSubstance": 0.04, "RestrictsMedicalCare": 0.04, "Other": 0.02}
RECRUITMENT_WEIGHTS = {"ThroughFriendsOrSocialEvents": 24, "ThroughOnlineSocialNetworks": 22,
                       "ThroughFamilyOrFamilyEvents": 14, "AtWork": 9, "ThroughAnOnlineAdvertisement": 9,
                       "AtAPlaceOfBusiness": 6, "ThroughANewspaperAdvert": 4, "AtAnEducationalInstitution": 3,
                       "ThroughATelevisionAdvert": 1, "Other": 4}
STATUS_WEIGHTS = {"PossibleVictimOfTrafficking": 46, "ActualVictimOfTrafficking": 44, "NotAVictimOfTrafficking": 5}
DECIDED_WEIGHTS = {"NGO": 52, "Police": 21, "CourtOrProsecution": 5, "NonPoliceGovernmentalOrganization": 4,
                   "Other": 2}
RELATION_WEIGHTS = {"Acquainted": 46, "Unacquainted": 34, "Familial": 15}
DOCUMENT_WEIGHTS = {"Passport": 34, "NationalId": 40, "BirthCertificate": 6, "ResidencePermit": 5, "Other": 2}


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass(frozen=True)
class Pools:
    female: dict[str, tuple[str, ...]]
    male: dict[str, tuple[str, ...]]
    family: dict[str, tuple[str, ...]]
    addresses: dict[str, tuple[str, ...]]
    narratives: tuple[str, ...]


def _unique(draw, count: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for _ in range(count):
        seen.setdefault(draw(), None)
    return tuple(seen)


def make_pools(seed: int, size: int = 400) -> Pools:
    female, male, family, addresses = {}, {}, {}, {}
    for locale in sorted(set(LOCALES.values())):
        fake = Faker(locale)
        fake.seed_instance(seed)
        female[locale] = _unique(fake.first_name_female, size)
        male[locale] = _unique(fake.first_name_male, size)
        family[locale] = _unique(fake.last_name, size * 2)
        addresses[locale] = _unique(lambda f=fake: f"{f.street_address()}, {f.city()}", size // 2)
    fake = Faker("es_MX")
    fake.seed_instance(seed)
    narratives = _unique(lambda: fake.paragraph(nb_sentences=4), 200)
    return Pools(female, male, family, addresses, narratives)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def phone_number(country: str, digits: Callable[[int], str]) -> str:
    """A mobile number of the country in international format ("+51 912345678"), as the forms' phone check accepts
    it; `digits(n)` draws the n subscriber digits. Faker's own phone formats may carry an extension ("x62448") that
    the check rightly refuses."""
    prefix, length = DIAL[country]
    return prefix + digits(length)


def _document_number(rng: random.Random, kind: str, citizenship: str) -> str:
    if kind == "Passport":
        return f"{rng.choice('ABCDEFGHJKLMNPRSTUVXYZ')}{rng.choice('ABCDEFGHJKLMNPRSTUVXYZ')}{_digits(rng, 7)}"
    if kind == "NationalId":
        return _digits(rng, 8 if citizenship in ("PE", "BO", "PY") else 10)
    return f"{citizenship}-{_digits(rng, 6)}-{rng.choice('ABCDEFGH')}"


def _age(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.02:
        return rng.randint(4, 8)
    if roll < 0.19:
        return rng.randint(9, 17)
    if roll < 0.65:
        return rng.randint(18, 29)
    if roll < 0.93:
        return rng.randint(30, 47)
    return rng.randint(48, 68)


def _codes(rng: random.Random, weights: dict[str, float], extra_share: float) -> list[str]:
    first = pick(rng, weights)
    if rng.random() < extra_share:
        second = pick(rng, weights)
        return sorted({first, second})
    return [first]


def _decided_by(rng: random.Random, status: str | None) -> str | None:
    # Drawn even when unused, so that a seed gives the same other values as before. Who decided a status that was
    # never recorded is not known: the case form refuses the one without the other.
    decided = pick(rng, DECIDED_WEIGHTS) if rng.random() < 0.75 else None
    return decided if status else None


def person(rng: random.Random, pools: Pools, org_country: str, registered: datetime, today: date) -> dict:
    """The values of one case as the case form would give them (identity in plaintext; the writer encrypts it)."""
    citizenship = pick(rng, CITIZENSHIP_WEIGHTS[org_country])
    locale = LOCALES[citizenship]
    gender = pick(rng, GENDERS)
    female = gender in ("Feminine", "TransgenderFeminine") or (gender != "Masculine" and rng.random() < 0.5)
    given = rng.choice(pools.female[locale] if female else pools.male[locale])
    if locale != "fr_FR" and rng.random() < 0.15:
        given = f"{given} {rng.choice(pools.female[locale] if female else pools.male[locale])}"
    family = rng.choice(pools.family[locale])
    if locale != "fr_FR" and rng.random() < 0.6:
        family = f"{family} {rng.choice(pools.family[locale])}"
    age = _age(rng)
    dob = registered.date() - timedelta(days=age * 365 + rng.randint(0, 364))
    known_dob = rng.random() < 0.82
    minor = age < 18
    document_type = pick(rng, DOCUMENT_WEIGHTS) if rng.random() < 0.7 else None
    phone = None
    if rng.random() < 0.68:
        country = citizenship if rng.random() < 0.6 else "CO" if org_country == "CO" else "PE"
        phone = phone_number(country, lambda n: _digits(rng, n))
    age_band = None
    known_age: dict = {}
    if not known_dob:
        # Without a date of birth: the year is known, or the caseworker estimates the age (cases.age), or at least
        # the age band.
        known = rng.random()
        if known < 0.25:
            known_age = {"birth_year": dob.year}
        elif known < 0.45:
            known_age = {"estimated_age": age, "age_estimated_on": registered.date()}
        elif known < 0.55:
            age_band = htcds.age_band(age + (today - registered.date()).days // 365)
    exploitation = [] if rng.random() < 0.06 else _codes(
        rng, EXPLOITATION_WEIGHTS["female" if female else "male"], 0.18)
    if minor and rng.random() < 0.3:
        exploitation = sorted(set(exploitation) | {"ChildLabour"})
    control = sorted(code for code, rate in CONTROL_RATES.items() if rng.random() < rate)
    languages = list(LANGUAGES.get(citizenship, ["es"]))
    if citizenship in ("PE", "BO") and rng.random() < 0.12:
        languages = sorted([*languages, rng.choice(["qu", "ay"])])
    exploitation_country = [] if rng.random() < 0.08 else [
        org_country if rng.random() < 0.55 else pick(rng, EXPLOITATION_COUNTRIES)]
    if exploitation_country and rng.random() < 0.05:
        exploitation_country = sorted(set(exploitation_country) | {pick(rng, EXPLOITATION_COUNTRIES)})
    return {
        "given_name": given,
        "family_name": family,
        "aliases": rng.choice(pools.female[locale] if female else pools.male[locale]) if rng.random() < 0.12 else None,
        "date_of_birth": dob if known_dob else None,
        "birth_year": known_age.get("birth_year"),
        "estimated_age": known_age.get("estimated_age"),
        "age_estimated_on": known_age.get("age_estimated_on"),
        "age_band": age_band,
        "phone": phone,
        "address": rng.choice(pools.addresses[locale]) if rng.random() < 0.45 else None,
        "document_type": document_type,
        "document_number": _document_number(rng, document_type, citizenship) if document_type else None,
        "gender": gender if rng.random() < 0.97 else None,
        "citizenship": citizenship if rng.random() < 0.96 else None,
        "languages": languages,
        "trafficking_status": (status := pick(rng, STATUS_WEIGHTS) if rng.random() < 0.95 else None),
        "status_decided_by": _decided_by(rng, status),
        "exploitation": exploitation,
        "control": control,
        "recruitment_method": pick(rng, RECRUITMENT_WEIGHTS) if rng.random() < 0.88 else None,
        "relationship_to_trafficker": pick(rng, RELATION_WEIGHTS) if rng.random() < 0.93 else None,
        "recruitment_country": [citizenship] if rng.random() < 0.88 else [],
        "exploitation_country": exploitation_country,
        "unaccompanied_or_separated": minor and rng.random() < 0.6,
        "pregnant": female and 18 <= age < 40 and rng.random() < 0.08,
        "elderly": age >= 60,
        "ill": rng.random() < 0.1,
        "narrative": rng.choice(pools.narratives) if rng.random() < 0.7 else None,
        "age": age,
    }
