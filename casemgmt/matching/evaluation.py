"""Labelled data for measuring the matching engine, and the measurement (issue 13, "measured, not asserted").

`generate(n, seed)` draws n people as `casemgmt synth` draws them (synth_people.person, the same Faker pools), spread
over the three demo countries, and then, reproducibly for the seed:
- for a share of them a *second registration* of the same person, with the corruptions intake really produces
  (CORRUPTIONS: accents dropped, one or two typos, a name respelt as Spanish, French or Creole spell it, surnames
  swapped or one dropped, day and month of birth exchanged, the year of birth only, the phone in another format,
  the document with separators, a phone or document left out or changed);
- look-alike distinct people, stored next to the originals: the same common name born in another year, and twins
  (the same family names and date of birth, another given name, sometimes the family's one phone);
- new people who are look-alikes of a stored person, run as checks that must find nobody.

`evaluate(...)` then runs every second registration and every look-alike as a duplicate check, and a set of searches
(a full name typed without accents, a given name with the birth year, a phone in another format, a document with
separators), once with the OLD exact method of commit d595a2a^ (re-implemented in memory: equality of the
case-folded name with the year, of the document, of the phone's digits) and once with the NEW engine through the
real database path (people written encrypted with their person_match_keys rows, then matching.engine.best_matches
and matching.search.search scoped to the organisation). The figures are in docs/benchmarks.md; benchmarks/matching.py
builds the databases and prints them, tests/matching/test_evaluation.py keeps them from rotting at a small size.
"""

from __future__ import annotations

import math
import random
import statistics
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import phonenumbers
from sqlalchemy import insert

from casemgmt.matching import keys, normalise, score

COUNTRIES = {"PE": 45, "CO": 33, "HT": 22}  # the demo organisations' countries and shares (casemgmt.synth)
IDENTITY = ("given_name", "family_name", "aliases", "date_of_birth", "birth_year", "phone", "document_type",
            "document_number")
REGISTERED = datetime(2026, 1, 15, 10, 0)  # a fixed "now", so a seed gives the same people on any day

DUPLICATE_SHARE = 0.3   # people registered a second time
SAME_NAME_SHARE = 0.04  # stored look-alikes: the same name, another year of birth
TWIN_SHARE = 0.03       # stored look-alikes: twins
NEW_LOOKALIKES = 0.05   # checks of new people who look like a stored one (the right answer: nobody)

# Spelling variants of given names met at intake (both directions are used).
VARIANTS = (
    ("José", "Jose"), ("Jhon", "John"), ("Yesenia", "Jesenia"), ("Wilner", "Wilnè"), ("Marie", "Mari"),
    ("Jean", "Jan"), ("Pierre", "Pyè"), ("Joseph", "Jozef"), ("Jean-Baptiste", "Jan Batis"), ("Guerline", "Gèlin"),
    ("Stéphanie", "Estefani"), ("Dieudonne", "Dyedone"), ("Yamileth", "Jamileth"), ("Ximena", "Jimena"),
    ("Jhonatan", "Jonathan"), ("Yennifer", "Jennifer"), ("Lisbeth", "Lizbeth"), ("Quispe", "Kispe"),
    ("Castillo", "Castiyo"), ("Gonçalves", "Goncalves"), ("Jacques", "Jak"), ("Edouard", "Edwa"), ("Louis", "Lwi"),
)
_VARIANT = {a.casefold(): b for a, b in VARIANTS} | {b.casefold(): a for a, b in VARIANTS}
# Respellings for names the table does not hold: how the same sound is written in the four languages.
RESPELL = (
    ("v", "b"), ("b", "v"), ("z", "s"), ("s", "z"), ("ll", "y"), ("y", "ll"), ("qu", "k"), ("c", "k"), ("ph", "f"),
    ("th", "t"), ("ou", "w"), ("é", "e"), ("è", "e"), ("ette", "èt"), ("ine", "in"), ("eau", "o"), ("h", ""),
    ("gu", "g"), ("ç", "c"), ("ñ", "n"), ("i", "y"), ("ss", "s"),
)
CORRUPTIONS = {  # name: weight among the 1 to 3 applied to a second registration
    "accents": 30, "typo": 20, "two_typos": 6, "respell": 14, "variant": 10, "swap_names": 8, "drop_surname": 12,
    "dob_swapped": 6, "year_only": 8, "phone_format": 30, "phone_dropped": 10, "phone_changed": 5,
    "document_format": 20, "document_dropped": 10,
}


@dataclass
class Record:
    label: str
    country: str
    values: dict
    kind: str = "person"  # person, same_name (another year), twin


@dataclass
class Check:
    values: dict
    country: str
    truth: str | None  # the label of the stored record of the same person, None for a new person
    corruptions: tuple[str, ...] = ()


@dataclass
class Search:
    text: str
    country: str
    truth: str
    kind: str  # name, given_year, phone, document
    birth_year: int | None = None


@dataclass
class Dataset:
    seed: int
    records: list[Record]
    checks: list[Check]
    searches: list[Search]

    def by_label(self) -> dict[str, Record]:
        return {r.label: r for r in self.records}


# Generation ---

def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)  # the first letter is seldom mistyped
    op = rng.choice(("sub", "del", "ins", "swap"))
    letter = rng.choice("aeioulnrstmcd")
    if op == "sub":
        return word[:i] + letter + word[i + 1:]
    if op == "del":
        return word[:i] + word[i + 1:]
    if op == "ins":
        return word[:i] + letter + word[i:]
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]


def _words(text: str | None) -> list[str]:
    return (text or "").split()


def _on_a_word(rng: random.Random, values: dict, change) -> None:
    """Apply change(word) -> word to one word of the given or family name."""
    fields = [f for f in ("given_name", "family_name") if _words(values.get(f))]
    if not fields:
        return
    name = rng.choice(fields)
    words = _words(values[name])
    i = rng.randrange(len(words))
    words[i] = change(words[i]) or words[i]
    values[name] = " ".join(words)


def _respell(rng: random.Random, word: str) -> str:
    low = word.casefold()
    options = [(a, b) for a, b in RESPELL if a in low[1:]]
    if not options:
        return word
    a, b = rng.choice(options)
    i = low.index(a, 1)
    return word[:i] + b + word[i + len(a):]


def _variant(rng: random.Random, values: dict) -> bool:
    for name in ("given_name", "family_name"):
        words = _words(values.get(name))
        for i, word in enumerate(words):
            other = _VARIANT.get(word.casefold())
            if other:
                words[i] = other
                values[name] = " ".join(words)
                return True
    return False


def phone_formats(phone: str, org_country: str) -> list[str]:
    """The ways one number is written at intake: international with spaces, with 00, the country code in
    parentheses and dashes, and, for a number of the organisation's own country, the local forms."""
    number = phonenumbers.parse(phone, None)
    cc, national = number.country_code, phonenumbers.national_significant_number(number)
    grouped = " ".join(national[i:i + 3] for i in range(0, len(national), 3))
    forms = [f"+{cc} {grouped}", f"00{cc}{national}", f"({cc}) {grouped.replace(' ', '-')}", f"+{cc}{national}"]
    if phonenumbers.region_code_for_number(number) == org_country:
        forms += [grouped, national if len(national) != 8 else f"{national[:4]}-{national[4:]}"]
    return forms


def _document_format(rng: random.Random, document: str) -> str:
    plain = "".join(ch for ch in document if ch.isalnum())
    cut = max(1, len(plain) // 2)
    return rng.choice((f"{plain[:cut]}-{plain[cut:]}", f"{plain[:cut]} {plain[cut:]}".lower(), plain.lower(),
                       f"{plain[:2]}.{plain[2:5]}.{plain[5:]}"))


def corrupt(rng: random.Random, values: dict, country: str, fresh: dict) -> tuple[dict, tuple[str, ...]]:
    """A second registration of the same person: 1 to 3 corruptions, drawn by CORRUPTIONS' weights among those that
    apply. `fresh` is another drawn person, whose phone serves when the person's phone changed."""
    out = dict(values)
    applied: list[str] = []
    wanted = rng.choice((1, 1, 2, 2, 3))
    names, weights = list(CORRUPTIONS), list(CORRUPTIONS.values())
    for _ in range(20):
        if len(applied) >= wanted:
            break
        kind = rng.choices(names, weights=weights)[0]
        if kind in applied or not _apply(rng, kind, out, country, fresh):
            continue
        applied.append(kind)
    return out, tuple(applied)


def _apply(rng: random.Random, kind: str, out: dict, country: str, fresh: dict) -> bool:
    if kind == "accents":
        before = (out["given_name"], out["family_name"])
        out["given_name"], out["family_name"] = _strip_accents(before[0]), _strip_accents(before[1])
        return before != (out["given_name"], out["family_name"])
    if kind == "typo":
        _on_a_word(rng, out, lambda w: _typo(rng, w))
        return True
    if kind == "two_typos":
        _on_a_word(rng, out, lambda w: _typo(rng, w))
        _on_a_word(rng, out, lambda w: _typo(rng, w))
        return True
    if kind == "respell":
        _on_a_word(rng, out, lambda w: _respell(rng, w))
        return True
    if kind == "variant":
        return _variant(rng, out)
    if kind == "swap_names":
        out["given_name"], out["family_name"] = out["family_name"], out["given_name"]
        return True
    if kind == "drop_surname":
        words = _words(out["family_name"])
        if len(words) < 2:
            return False
        out["family_name"] = words[0] if rng.random() < 0.7 else " ".join(words[1:])
        return True
    if kind == "dob_swapped":
        dob = out.get("date_of_birth")
        if not dob or dob.day > 12 or dob.day == dob.month:
            return False
        out["date_of_birth"] = date(dob.year, dob.day, dob.month)
        return True
    if kind == "year_only":
        dob = out.get("date_of_birth")
        if not dob:
            return False
        out["date_of_birth"], out["birth_year"] = None, dob.year
        return True
    if kind == "phone_format":
        if not out.get("phone"):
            return False
        out["phone"] = rng.choice(phone_formats(out["phone"], country))
        return True
    if kind == "phone_dropped":
        had = bool(out.get("phone"))
        out["phone"] = None
        return had
    if kind == "phone_changed":
        if not out.get("phone") or not fresh.get("phone") or fresh["phone"] == out["phone"]:
            return False
        out["phone"] = fresh["phone"]  # victims change numbers: a new number is not a new person
        return True
    if kind == "document_format":
        if not out.get("document_number"):
            return False
        out["document_number"] = _document_format(rng, out["document_number"])
        return True
    if kind == "document_dropped":
        had = bool(out.get("document_number"))
        out["document_number"], out["document_type"] = None, None
        return had
    raise ValueError(kind)


def _identity(values: dict) -> dict:
    return {k: values.get(k) for k in IDENTITY}


def _same_name(rng: random.Random, values: dict, fresh: dict) -> dict | None:
    """The same name, born 2 to 12 years earlier or later, with a phone and document of their own."""
    dob, year = values.get("date_of_birth"), values.get("birth_year")
    if not dob and not year:
        return None
    shift = rng.choice((-1, 1)) * rng.randint(2, 12)
    out = {**_identity(fresh), "given_name": values["given_name"], "family_name": values["family_name"]}
    born = fresh["date_of_birth"]
    out["date_of_birth"] = born and date((dob or born).year + shift, born.month, min(born.day, 28))
    out["birth_year"] = None if out["date_of_birth"] else (dob.year if dob else year) + shift
    return out


def _twin(rng: random.Random, values: dict, fresh: dict) -> dict | None:
    """The same family names and date of birth, another given name; the family's one phone a third of the time."""
    if not values.get("date_of_birth"):
        return None
    out = {**_identity(fresh), "family_name": values["family_name"], "date_of_birth": values["date_of_birth"],
           "birth_year": None, "aliases": None}
    if fresh["given_name"].casefold() == values["given_name"].casefold():
        return None
    if values.get("phone") and rng.random() < 1 / 3:
        out["phone"] = values["phone"]
    return out


def generate(n: int, seed: int = 2026, max_checks: int | None = None, max_searches: int | None = None) -> Dataset:
    """n stored people (look-alikes included), with their second registrations and searches. `max_checks` and
    `max_searches` bound the queries (a sample of the people, drawn by the seed) for large n."""
    from casemgmt.synth_people import make_pools, person

    rng = random.Random(seed)  # noqa: S311 - synthetic data needs no cryptographic randomness
    pools = make_pools(seed)
    countries, weights = list(COUNTRIES), list(COUNTRIES.values())
    records: list[Record] = []
    checks: list[Check] = []

    def draw(country: str) -> dict:
        return person(rng, pools, country, REGISTERED, REGISTERED.date())

    while len(records) < n:
        country = rng.choices(countries, weights=weights)[0]
        values = _identity(draw(country))
        label = f"r{len(records)}"
        records.append(Record(label, country, values))
        roll = rng.random()
        if roll < SAME_NAME_SHARE + TWIN_SHARE and len(records) < n:
            make = _same_name if roll < SAME_NAME_SHARE else _twin
            other = make(rng, values, draw(country))
            if other is not None:
                records.append(Record(f"r{len(records)}", country, other,
                                      "same_name" if make is _same_name else "twin"))
    people = [r for r in records if r.kind == "person"]
    sample = rng.sample(people, min(len(people), max_checks or len(people)))
    for record in sample:
        roll = rng.random()
        if roll < DUPLICATE_SHARE:
            values, applied = corrupt(rng, record.values, record.country, draw(record.country))
            checks.append(Check(values, record.country, record.label, applied))
        elif roll < DUPLICATE_SHARE + NEW_LOOKALIKES:
            make = _twin if rng.random() < 0.5 else _same_name
            other = make(rng, record.values, draw(record.country))
            if other is not None:
                checks.append(Check(other, record.country, None, (make.__name__.strip("_"),)))
    searches = _searches(rng, rng.sample(people, min(len(people), max_searches or len(people) // 4)))
    return Dataset(seed, records, checks, searches)


def _searches(rng: random.Random, sample: list[Record]) -> list[Search]:
    out = []
    for record in sample:
        v = record.values
        year = v["date_of_birth"].year if v.get("date_of_birth") else v.get("birth_year")
        kind = rng.choice(("name", "given_year", "phone", "document"))
        if kind == "phone" and v.get("phone"):
            out.append(Search(rng.choice(phone_formats(v["phone"], record.country)), record.country, record.label,
                              kind))
        elif kind == "document" and v.get("document_number"):
            out.append(Search(_document_format(rng, v["document_number"]), record.country, record.label, kind))
        elif kind == "given_year" and year:
            out.append(Search(_strip_accents(v["given_name"]).lower(), record.country, record.label, kind, year))
        else:
            words = _strip_accents(f"{v['given_name']} {v['family_name']}").lower()
            out.append(Search(words, record.country, record.label, "name"))
    return out


# The old exact method (commit d595a2a^), in memory --------------------------------------------------------------------

def _old_text(value: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", value or "").casefold().split())


def _old_document(value: str | None) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", value or "").upper() if c.isdigit() or "A" <= c <= "Z")


def _old_phone(value: str | None) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", value or "") if c.isdigit())


def _old_year(values: dict) -> str | None:
    dob = values.get("date_of_birth")
    if dob:
        return str(dob.year)
    return str(values["birth_year"]) if values.get("birth_year") else None


class OldMethod:
    """intake/duplicates.py and cases/queries.search_cases before d595a2a: exact equality on normalised values, per
    organisation (the blind index only found candidates; the decision was this equality)."""

    def __init__(self, records: list[Record]):
        self.name_year: dict = defaultdict(set)
        self.name: dict = defaultdict(set)
        self.document: dict = defaultdict(set)
        self.phone: dict = defaultdict(set)
        for r in records:
            name = _old_text(f"{r.values.get('given_name') or ''} {r.values.get('family_name') or ''}")
            year = _old_year(r.values)
            if name and year:
                self.name_year[(r.country, name, year)].add(r.label)
            if name:
                self.name[(r.country, name)].add(r.label)
            if _old_document(r.values.get("document_number")):
                self.document[(r.country, _old_document(r.values.get("document_number")))].add(r.label)
            if _old_phone(r.values.get("phone")):
                self.phone[(r.country, _old_phone(r.values.get("phone")))].add(r.label)

    def check(self, values: dict, country: str) -> set[str]:
        found: set[str] = set()
        name = _old_text(f"{values.get('given_name') or ''} {values.get('family_name') or ''}")
        year = _old_year(values)
        if name and year:
            found |= self.name_year.get((country, name, year), set())
        if _old_document(values.get("document_number")):
            found |= self.document.get((country, _old_document(values["document_number"])), set())
        if _old_phone(values.get("phone")):
            found |= self.phone.get((country, _old_phone(values["phone"])), set())
        return found

    def search(self, query: Search) -> set[str]:
        # The old search had one box per kind: a full name, a document, a phone; a given name with a year was not a
        # search it could do.
        if query.kind == "name":
            return self.name.get((query.country, _old_text(query.text)), set())
        if query.kind == "document":
            return self.document.get((query.country, _old_document(query.text)), set())
        if query.kind == "phone":
            return self.phone.get((query.country, _old_phone(query.text)), set())
        return set()


# Metrics ---

@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    twin_fp: int = 0  # false matches to a twin or same-name look-alike (a subset of fp)
    by_corruption: Counter = field(default_factory=Counter)  # corruption -> misses

    def add(self, found: set[str], check: Check, kinds: dict[str, str]) -> None:
        wrong = found - {check.truth}
        self.fp += len(wrong)
        self.twin_fp += sum(1 for w in wrong if kinds.get(w) != "person") + (len(wrong) if check.truth is None else 0)
        if check.truth is not None:
            if check.truth in found:
                self.tp += 1
            else:
                self.fn += 1
                self.by_corruption.update(check.corruptions)

    def figures(self) -> dict:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "tp": self.tp,
                "fp": self.fp, "fn": self.fn, "lookalike_fp": self.twin_fp,
                "misses_by_corruption": dict(self.by_corruption.most_common())}


@dataclass
class SearchTally:
    """Search: the true record on the first page (recall), and of everything on the page, the share that answers
    the query exactly (the record itself, or another with all the searched name parts, the phone or the document):
    results found only by sound or similarity count against precision, which makes it a conservative figure."""

    hits: int = 0
    queries: int = 0
    relevant: int = 0
    returned: int = 0
    per_kind: Counter = field(default_factory=Counter)
    misses_per_kind: Counter = field(default_factory=Counter)

    def add(self, query: Search, found: list[str], exact: set[str]) -> None:
        self.queries += 1
        self.per_kind[query.kind] += 1
        if query.truth in found:
            self.hits += 1
        else:
            self.misses_per_kind[query.kind] += 1
        self.returned += len(found)
        self.relevant += sum(1 for f in found if f == query.truth or f in exact)

    def figures(self) -> dict:
        recall = self.hits / self.queries if self.queries else 1.0
        precision = self.relevant / self.returned if self.returned else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                "queries": self.queries, "results_per_query": round(self.returned / max(1, self.queries), 2),
                "misses_by_kind": dict(self.misses_per_kind)}


def _exact_answers(dataset: Dataset, query: Search) -> set[str]:
    """The stored records that answer a search exactly (the same folded name parts, phone or document)."""
    out = set()
    if query.kind in ("name", "given_year"):
        wanted = set(normalise.name_parts(query.text))
        for r in dataset.records:
            if r.country != query.country:
                continue
            parts = set(normalise.name_parts(r.values.get("given_name"), r.values.get("family_name"),
                                             *(r.values.get("aliases") or "").split(",")))
            year = r.values["date_of_birth"].year if r.values.get("date_of_birth") else r.values.get("birth_year")
            if wanted <= parts and (query.birth_year is None or year in (None, query.birth_year)):
                out.add(r.label)
    elif query.kind == "phone":
        e164 = normalise.phone_e164(query.text, query.country)
        out = {r.label for r in dataset.records if r.country == query.country and r.values.get("phone")
               and normalise.phone_e164(r.values["phone"], r.country) == e164}
    else:
        doc = normalise.document(query.text)
        out = {r.label for r in dataset.records if r.country == query.country
               and normalise.document(r.values.get("document_number")) == doc}
    return out


def evaluate_old(dataset: Dataset) -> dict:
    old = OldMethod(dataset.records)
    kinds = {r.label: r.kind for r in dataset.records}
    tally = Tally()
    for check in dataset.checks:
        tally.add(old.check(check.values, check.country), check, kinds)
    searches = SearchTally()
    index = _ExactIndex(dataset)
    for query in dataset.searches:
        searches.add(query, sorted(old.search(query))[:20], index.answers(query))
    return {"check": tally.figures(), "search": searches.figures()}


class _ExactIndex:
    """_exact_answers with the name case served from a dictionary, so that it scales to 100,000 records."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.by_part: dict = defaultdict(set)
        self.parts: dict[str, set[str]] = {}
        self.year: dict[str, int | None] = {}
        self.phone: dict = defaultdict(set)
        self.document: dict = defaultdict(set)
        for r in dataset.records:
            parts = set(normalise.name_parts(r.values.get("given_name"), r.values.get("family_name"),
                                             *(r.values.get("aliases") or "").split(",")))
            self.parts[r.label] = parts
            self.year[r.label] = (r.values["date_of_birth"].year if r.values.get("date_of_birth")
                                  else r.values.get("birth_year"))
            for p in parts:
                self.by_part[(r.country, p)].add(r.label)
            if r.values.get("phone"):
                self.phone[(r.country, normalise.phone_e164(r.values["phone"], r.country))].add(r.label)
            if normalise.document(r.values.get("document_number")):
                self.document[(r.country, normalise.document(r.values["document_number"]))].add(r.label)

    def answers(self, query: Search) -> set[str]:
        if query.kind in ("name", "given_year"):
            wanted = set(normalise.name_parts(query.text))
            if not wanted:
                return set()
            pools = [self.by_part.get((query.country, p), set()) for p in wanted]
            found = set.intersection(*pools)
            return {f for f in found if query.birth_year is None or self.year[f] in (None, query.birth_year)}
        if query.kind == "phone":
            return set(self.phone.get((query.country, normalise.phone_e164(query.text, query.country)), set()))
        return set(self.document.get((query.country, normalise.document(query.text)), set()))


# Tuning: m and u from the labelled data, as splink estimates them ----------------------------------------------------

def field_levels(query: keys.Identity, record: keys.Identity) -> dict[str, str | None]:
    return score.score(query, record).levels


def estimate_m_u(dataset: Dataset, non_pairs: int = 50_000, seed: int = 1) -> dict[str, dict[str, tuple[float, float]]]:
    """m per field level: its share among the true pairs (each second registration and its first); u: its share
    among random pairs of different stored people (splink's estimate_u_using_random_sampling). Add-one smoothing
    keeps a level never seen from a weight of plus or minus infinity."""
    by_label = dataset.by_label()
    identities = {r.label: keys.identity_of(r.values, r.country) for r in dataset.records}
    m_counts: dict[str, Counter] = defaultdict(Counter)
    u_counts: dict[str, Counter] = defaultdict(Counter)
    for check in dataset.checks:
        if check.truth is None:
            continue
        levels = field_levels(keys.identity_of(check.values, check.country), identities[by_label[check.truth].label])
        for f, level in levels.items():
            m_counts[f][level] += 1
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    labels = list(identities)
    for _ in range(non_pairs):
        a, b = rng.sample(labels, 2)
        for f, level in field_levels(identities[a], identities[b]).items():
            u_counts[f][level] += 1
    out = {}
    for f, levels in score.LEVELS.items():
        m_total = sum(m_counts[f].values()) + len(levels)
        u_total = sum(u_counts[f].values()) + len(levels)
        out[f] = {lv: ((m_counts[f][lv] + 1) / m_total, (u_counts[f][lv] + 1) / u_total) for lv in levels}
    return out


def weights_in_memory(dataset: Dataset) -> tuple[list[float], list[float]]:
    """Match weights of every true pair, and of every wrong pair a check could meet (records sharing a query key
    with it, in its organisation): for choosing the threshold on the whole score distribution."""
    identities = {r.label: keys.identity_of(r.values, r.country) for r in dataset.records}
    by_key: dict = defaultdict(set)
    for r in dataset.records:
        for k in keys.record_keys(identities[r.label]):
            by_key[(r.country, k)].add(r.label)
    true_w, false_w = [], []
    for check in dataset.checks:
        q = keys.identity_of(check.values, check.country)
        labels = set().union(*(by_key.get((check.country, k), set()) for k in keys.query_keys(q))) \
            if not q.empty else set()
        for label in labels | ({check.truth} if check.truth else set()):
            w = score.score(q, identities[label]).weight
            (true_w if label == check.truth else false_w).append(w)
    return true_w, false_w


# Through the database ---

def organisations() -> dict[str, int]:
    """One organisation per country (made through the real operation), their ids by country."""
    from casemgmt.accounts import operations as accounts
    from casemgmt.audit.events import SYSTEM
    from casemgmt.extensions import db

    out = {}
    for country in COUNTRIES:
        org = accounts.create_organisation(SYSTEM, f"Evaluation {country}", "NGO", country)
        out[country] = org.id
    db.session.commit()
    return out


def store(dataset: Dataset, org_ids: dict[str, int], batch_size: int = 2000, progress=None) -> dict[str, str]:
    """Write the records as cases, encrypted, with their person_match_keys rows (synth_rows, as `synth` writes them),
    in committed batches. Returns the case id of each label."""
    import uuid

    from casemgmt.cases.models import Case, Person
    from casemgmt.crypto.models import DataKey
    from casemgmt.extensions import db
    from casemgmt.matching.models import PersonMatchKey
    from casemgmt.synth_rows import Batch, CaseKey, identity_columns, index_generations, match_key_rows

    generations = index_generations()
    db.session.commit()  # the first generation, made on first use
    ids = case_ids(dataset)
    for first in range(0, len(dataset.records), batch_size):
        batch = Batch()
        chunk = dataset.records[first:first + batch_size]
        for n, record in enumerate(chunk, start=first):
            case_id = ids[record.label]
            person_id = str(uuid.uuid5(uuid.NAMESPACE_OID, case_id))
            key = CaseKey(case_id)
            batch.add(Case, id=case_id, reference=f"E-{n:08d}", organisation_id=org_ids[record.country],
                      created_at=REGISTERED, updated_at=REGISTERED)
            batch.add(Person, id=person_id, case_id=case_id, **identity_columns(key, person_id, record.values))
            key.data_key_row(batch, REGISTERED)
            for row in match_key_rows(case_id, record.values, record.country, generations):
                batch.add(PersonMatchKey, **row)
        # The rows only: no audit events (Batch.flush would also move the audit head, which this data has no part in).
        for model in (Case, Person, PersonMatchKey, DataKey):
            if batch.rows.get(model):
                db.session.execute(insert(model.__table__), batch.rows[model])
        db.session.commit()
        if progress is not None:
            progress(len(chunk))
    return ids


def case_ids(dataset: Dataset) -> dict[str, str]:
    """The case id of each record: drawn from the seed, so a database built earlier can be evaluated again."""
    import uuid

    rng = random.Random(dataset.seed)  # noqa: S311 - ids for synthetic rows
    return {r.label: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for r in dataset.records}


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def evaluate_new(dataset: Dataset, ids: dict[str, str], org_ids: dict[str, int]) -> dict:
    """The new engine through the database: each check as matching.engine.best_matches in the organisation's scope,
    each search as matching.search.search, timed; candidates decrypted per check counted as the engine takes them."""
    from casemgmt.cases.models import Case
    from casemgmt.extensions import db
    from casemgmt.matching import candidates, engine
    from casemgmt.matching import search as search_module

    label_of = {case_id: label for label, case_id in ids.items()}
    kinds = {r.label: r.kind for r in dataset.records}
    tally, check_ms, decrypted = Tally(), [], []
    for check in dataset.checks:
        scope = Case.organisation_id == org_ids[check.country]
        started = time.perf_counter()
        query = keys.identity_of(check.values, check.country)
        found = engine.best_matches(query, scope, check.country)
        check_ms.append((time.perf_counter() - started) * 1000)
        tally.add({label_of[f.case.id] for f in found}, check, kinds)
        decrypted.append(len(candidates.top(keys.query_keys(query), scope, engine.CHECK_CANDIDATES)))
        db.session.expunge_all()  # as each request starts with an empty session
    searches, search_ms = SearchTally(), []
    index = _ExactIndex(dataset)
    for query in dataset.searches:
        scope = Case.organisation_id == org_ids[query.country]
        started = time.perf_counter()
        parsed = search_module.parse_search(query.text, query.country, birth_year=query.birth_year)
        page = search_module.search(parsed, scope, query.country)
        search_ms.append((time.perf_counter() - started) * 1000)
        searches.add(query, [label_of[f.case.id] for f in page.results], index.answers(query))
        db.session.expunge_all()
    return {
        "check": tally.figures(), "search": searches.figures(),
        "check_ms": {"p50": round(statistics.median(check_ms), 1) if check_ms else 0,
                     "p95": round(_percentile(check_ms, 0.95), 1)},
        "search_ms": {"p50": round(statistics.median(search_ms), 1) if search_ms else 0,
                      "p95": round(_percentile(search_ms, 0.95), 1)},
        "decrypted_per_check": {"mean": round(statistics.mean(decrypted), 1) if decrypted else 0,
                                "max": max(decrypted, default=0)},
    }
