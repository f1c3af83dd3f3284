"""In-process measurements of one benchmark database: every page through the real application (Flask's test
client, real sessions, CSRF, encryption and audit), its SQL query count, its floor, and the side-by-side comparisons.
"""

from __future__ import annotations

import math
import os
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import click
from flask import Flask
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased

from benchmarks.browser import BenchError, Browser
from benchmarks.comparisons import DecryptionMemo, decrypt_and_scan, replay_reads
from benchmarks.databases import PASSWORD, BenchDatabase
from benchmarks.memory import peak_rss_mb, rss_mb
from benchmarks.timing import SqlProbe, Statement, summary_ms, timed
from casemgmt.access.policies import case_scope_filter
from casemgmt.accounts.models import User
from casemgmt.bestinterests.models import BestInterestsDetermination, CareArrangement, Guardian
from casemgmt.cases import identity
from casemgmt.cases.models import Case, Person, StageChange
from casemgmt.cases.queries import search_cases
from casemgmt.extensions import db
from casemgmt.families.models import (
    FamilyAssessmentVisit,
    FamilyMember,
    FamilyMemberKey,
    TracingAction,
    TracingRequest,
)
from casemgmt.fund.models import FundRequest
from casemgmt.matching.models import PersonMatchKey
from casemgmt.programmes.models import ProjectOrganisation
from casemgmt.residence.models import ProtectionStatus, Reunification

READER, WRITER = "supervisor", "caseworker"
WARMUP = 2
MIN_SAMPLES = 3

# Pages that exist only once the reports are built; without them their lines say "not available".
OPTIONAL_ENDPOINTS = {
    "dashboard": "reports.dashboard",
    "donor_report": "reports.donor",
    "export_deidentified": "reports.export_deidentified",
    # Issue 13: the supervisor's page of other organisations' matches and colleagues' checks (counts over the audit
    # trail of the last 24 hours, which grows with the caseload's activity).
    "matching_page": "matching.index",
    # Issue 14: the project page (budget per line, burn rate, cases), the fund's list (all, and one project's spent
    # requests, the drill-down behind a figure) and the project's financial workbook, each for the largest project
    # of the reader's organisation.
    "project_page": "programmes.project",
    "fund_list": "fund.index",
    "fund_list_spent": "fund.index",
    "project_export": "programmes.financial_export",
    # Issue 15, each on cases of the reader's organisation that have such records (Run.family_samples): the family
    # page, a tracing request (with its matching among the organisation's other cases: families.tracing_match), the
    # best-interests page of a child with a determination, and the stay page of a case with a protection status.
    "family_page": "families.case_index",
    "tracing_page": "families.tracing_request",
    "best_interests_page": "bestinterests.case_index",
    "stay_page": "residence.case_index",
}
# Issue 15's pages, each with the URL of one sampled record and what its sample is.
FAMILY_PAGES = {
    "family_page": ("/cases/{}/family", "a case with family members"),
    "tracing_page": ("/tracing/{}", "a tracing request for an identifiable family member"),
    "best_interests_page": ("/cases/{}/best-interests", "a case with a best-interests determination"),
    "stay_page": ("/cases/{}/stay", "a case with a protection status or a reunification"),
}


@dataclass
class Sample:
    """Cases in the reader's scope, picked at random (seeded), with the names a user would search for."""

    scope_size: int
    middle_page: int
    view_ids: list[str]
    search_terms: list[tuple[str, str]]  # (full name, the case reference the results must show)
    reader_id: int
    disclosure_k: int
    project_id: int | None = None  # the reader's organisation's project with the most fund requests
    # Issue 15: per page of FAMILY_PAGES, the sampled ids (cases, or tracing requests) of the reader's organisation.
    family: dict[str, list[str]] = field(default_factory=dict)
    family_population: dict[str, int] = field(default_factory=dict)  # how many there were to pick from


class Run:
    def __init__(self, target: BenchDatabase, repeat: int, seed: int, budget: float):
        self.target = target
        self.repeat = repeat
        self.budget = budget
        self.rng = random.Random(seed)  # noqa: S311 - sampling cases, not making secrets
        self.app: Flask = target.app()
        with self.app.app_context():
            self.engine = db.engine
        self.metrics: dict[str, dict] = {}
        self.floors: dict[str, list[Statement]] = {}

    # -- the pages -------------------------------------------------------------------------------------------

    def page(self, name: str, calls: list[Callable[[], object]], floor: bool = True,
             warmup: list[Callable[[], object]] | None = None) -> list[object]:
        """Time each call (after untimed warm-up calls) with its SQL; keep the last call's reads for the floor.
        A page slower than the time budget allows gets fewer samples (at least MIN_SAMPLES): a page that takes
        20 s must not hold the run for an hour to say what three samples already say."""
        started = time.perf_counter()
        for call in calls[:WARMUP] if warmup is None else warmup:
            call()
            if time.perf_counter() - started > self.budget / 4:
                break
        seconds, counts, results = [], [], []
        started = time.perf_counter()
        for call in calls:
            if len(seconds) >= MIN_SAMPLES and time.perf_counter() - started > self.budget:
                break
            with SqlProbe(self.engine) as probe:
                elapsed, result = timed(call)
            seconds.append(elapsed)
            counts.append(probe.count)
            results.append(result)
        self.metrics[name] = {**summary_ms(seconds), "queries": max(counts), "queries_min": min(counts),
                              "queries_max": max(counts)}
        _say(f"{name}: p50 {self.metrics[name]['p50_ms']} ms, p95 {self.metrics[name]['p95_ms']} ms")
        if floor:
            self.floors[name] = probe.statements
        return results

    def add_floors(self) -> None:
        for name, statements in self.floors.items():
            floor = summary_ms(replay_reads(self.engine, statements, self.repeat, self.budget))
            self.metrics[name].update(
                floor_p50_ms=floor["p50_ms"], floor_p95_ms=floor["p95_ms"],
                floor_queries=sum(1 for s in statements if s.is_read),
            )

    def login(self) -> None:
        # Each login needs a browser that is not logged in yet, its form fetched beforehand (untimed).
        browsers = [Browser(self.app) for _ in range(WARMUP + self.repeat)]
        prepared = [(b, b.login_form(READER, PASSWORD)) for b in browsers]
        calls = [lambda b=b, f=f: b.submit_login(f) for b, f in prepared]
        self.page("login", calls[WARMUP:], floor=False, warmup=calls[:WARMUP])

    def reads(self, reader: Browser, sample: Sample) -> None:
        self.page("case_list", [lambda: reader.get("/cases/")] * self.repeat)
        self.page("case_list_middle", [lambda: reader.get(f"/cases/?page={sample.middle_page}")] * self.repeat)
        self.page("case_view", [lambda i=i: reader.get(f"/cases/{i}") for i in sample.view_ids])
        responses = self.page("search", [
            lambda t=t: reader.post("/cases/search", {"term": t}, expected=200)
            for t, _ref in sample.search_terms
        ])
        # zip stops at the responses: a slow page may have had fewer samples than terms (see page()).
        missing = [ref for (_t, ref), r in zip(sample.search_terms, responses, strict=False) if ref not in r.text]
        if missing:
            raise BenchError(f"search did not find {len(missing)} of {len(responses)} people it should find")
        # Issue 10: the supervisor's trail merges their own users' events with the events about their organisation.
        self.page("audit_trail", [lambda: reader.get("/audit/")] * self.repeat)
        # Issue 16: the trail filtered by what happened (its sentences, one kind), and the home page's work lists
        # with the person's name beside each case (decrypting only the rows shown).
        self.page("audit_trail_filtered", [lambda: reader.get("/audit/?action=case.view")] * self.repeat)
        self.page("home", [lambda: reader.get("/")] * self.repeat)

    def fixed_query_counts(self, reader: Browser, case_id: str, sample: Sample) -> None:
        """Each read page's query count on inputs of the same shape at every size: the first and middle list pages,
        the view of and a search for the case the writer opened and moved (the same journey at every size), and
        the reports. A random case's count varies with its own records (its stage, placements, an assignee), which
        says nothing about the table's size; these must not vary at all."""
        with self.app.app_context():
            case = db.session.get(Case, case_id)
            term = identity.display_name(identity.read_identity(case.person))
            db.session.rollback()
        pages = {
            "case_list": lambda: reader.get("/cases/"),
            "case_list_middle": lambda: reader.get(f"/cases/?page={sample.middle_page}"),
            "case_view": lambda: reader.get(f"/cases/{case_id}"),
            "search": lambda: reader.post("/cases/search", {"term": term}, expected=200),
            "dashboard": lambda: reader.get("/reports/"),
            "donor_report": lambda: reader.get("/reports/donor"),
            "audit_trail": lambda: reader.get("/audit/"),
            "audit_trail_filtered": lambda: reader.get("/audit/?action=case.view"),
            "home": lambda: reader.get("/"),
            "matching_page": lambda: reader.get("/matching/"),
            # The financial workbook lists every request of the project: its count is the timed runs' own.
            **{name: call for name, call in self._project_pages(reader, sample).items() if name != "project_export"},
            **{name: _opener(reader, FAMILY_PAGES[name][0].format(i)) for name, i in self.family_shapes().items()},
        }
        for name, call in pages.items():
            if "skipped" in self.metrics.get(name, {"skipped": True}):
                continue
            # The fewer of two calls: the session's last-seen time is written once a minute (auth/sessions.py),
            # on whichever page falls on that minute, and that write says nothing about the page.
            counts = []
            for _ in range(2):
                with SqlProbe(self.engine) as probe:
                    call()
                counts.append(probe.count)
            self.metrics[name]["queries"] = min(counts)

    def family_shapes(self) -> dict[str, str]:
        """Per issue 15 page, the first record (by id) of one fixed shape in the reader's organisation, for
        fixed_query_counts. Each of these pages runs one more query for a section that is there or not (the case
        header's look at the contacts when no age is recorded; the organisations of the visits; the family members a
        care arrangement names; the members tracing requests look for; a reunification's members; the candidates of
        a matching that found some), and never one per row: the same shape at every size holds the count still,
        whatever the number of members, actions, determinations or matches. A shape the data lacks leaves the page
        with the timed runs' highest count."""
        with self.app.test_request_context():
            reader = db.session.scalar(select(User).where(User.username == READER))
            aged = exists().where(Person.case_id == Case.id, Person.age_basis.in_(("exact", "estimated",
                                                                                   "birth_year")))
            own = [Case.organisation_id == reader.organisation_id, Case.erased_at.is_(None), aged]
            member = exists().where(FamilyMember.case_id == Case.id, FamilyMember.deleted_at.is_(None))
            visited = exists().where(FamilyAssessmentVisit.case_id == Case.id)
            acted = exists().where(TracingAction.tracing_request_id == TracingRequest.id)
            kin_care = exists().where(CareArrangement.case_id == Case.id, CareArrangement.family_member_id.is_not(None))
            kin_guardian = exists().where(Guardian.case_id == Case.id, Guardian.family_member_id.is_not(None))
            queries = {
                "family_page": select(Case.id).where(*own, member, ~visited,
                                                     exists().where(TracingRequest.case_id == Case.id)),
                # With candidates on both sides of the matching (the page loads, and decrypts, the top of each
                # ranking only when there is one): a request with none runs three queries fewer.
                "tracing_page": select(TracingRequest.id).join(Case, Case.id == TracingRequest.case_id)
                .join(FamilyMember, FamilyMember.id == TracingRequest.family_member_id)
                .where(*own, FamilyMember.deleted_at.is_(None), acted, ~visited,
                       _shares_a_key(FamilyMemberKey, reader.organisation_id),
                       _shares_a_key(PersonMatchKey, reader.organisation_id)),
                "best_interests_page": select(Case.id).where(
                    *own, exists().where(BestInterestsDetermination.case_id == Case.id), ~kin_care, ~kin_guardian),
                "stay_page": select(Case.id).where(*own, exists().where(ProtectionStatus.case_id == Case.id),
                                                   ~exists().where(Reunification.case_id == Case.id)),
            }
            found = {name: db.session.scalar(query.order_by(query.selected_columns[0]).limit(1))
                     for name, query in queries.items()}
            db.session.rollback()
        return {name: i for name, i in found.items() if i is not None}

    def writes(self, writer: Browser) -> str:
        created = self.page("case_create", [lambda: self._create(writer) for _ in range(self.repeat)], floor=False)
        self.metrics["case_create"]["duplicate_checks_with_hits"] = sum(1 for _id, confirmed in created if confirmed)
        case_id = created[0][0]
        # Intake -> shelter, then back and forth between shelter and counseling: moves no guard refuses.
        moves = ["shelter"] + ["counseling", "shelter"] * (WARMUP + self.repeat)
        done: list[str] = []

        def move() -> None:
            writer.post(f"/cases/{case_id}/stage", {"to_stage": moves[len(done)], "reason": ""})
            done.append(moves[len(done)])

        self.page("stage_change", [move] * self.repeat, floor=False)
        with self.app.app_context():
            recorded = db.session.scalar(select(func.count()).where(StageChange.case_id == case_id))
            stage = db.session.get(Case, case_id).stage
        if recorded != 1 + len(done) or stage != done[-1]:
            raise BenchError(f"stage changes: {recorded - 1} saved of {len(done)} acknowledged")
        return case_id

    def _create(self, writer: Browser) -> tuple[str, bool]:
        """One new case as a caseworker makes it: the form, the duplicate check, and, when the check shows possible
        matches (blind indexes collide by design), the confirmation. Returns (case id, confirmation needed)."""
        form = {
            "given_name": "Bench", "family_name": f"Persona {secrets.token_hex(4)}",
            "date_of_birth": (date(1990, 1, 1) + timedelta(days=self.rng.randint(0, 9000))).isoformat(),
            "gender": "Feminine", "citizenship": "PE", "status": "Active", "trafficking_status": "",
            "submission_token": writer.submission_token("/cases/new"),  # the form page, as a caseworker opens it
        }
        response = writer.post("/cases/new", form, expected=(302, 409))
        confirmed = response.status_code == 409
        if confirmed:
            response = writer.post("/cases/new", {**form, "create_anyway": "yes"})
        return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1], confirmed

    def reports(self, reader: Browser, sample: Sample) -> None:
        available = {name: endpoint in self.app.view_functions for name, endpoint in OPTIONAL_ENDPOINTS.items()}
        for name, ok in available.items():
            if not ok:
                self.metrics[name] = {"skipped": f"not available: endpoint {OPTIONAL_ENDPOINTS[name]} does not exist"}
        if available["dashboard"]:
            self.page("dashboard", [lambda: reader.get("/reports/")] * self.repeat)
        if available["donor_report"]:
            self.page("donor_report", [lambda: reader.get("/reports/donor")] * self.repeat)
        if available["matching_page"]:
            self.page("matching_page", [lambda: reader.get("/matching/")] * self.repeat)
        self.project_reports(reader, sample, available)
        self.family_reports(reader, sample, available)
        if available["export_deidentified"]:
            # A whole-caseload export takes seconds at 100,000 cases; a few runs give a steady rate.
            runs = max(3, min(self.repeat, 10))
            form = {"deidentified-format": "csv", "deidentified-k": str(sample.disclosure_k)}
            responses = self.page("export_deidentified", [
                lambda: reader.post("/reports/exports/deidentified", form, expected=200,
                                    csrf_field="deidentified-csrf_token")
            ] * runs, floor=False)
            rows = responses[-1].get_data().count(b"\n") - 1
            metric = self.metrics["export_deidentified"]
            metric.update(rows=rows, rows_per_s=round(rows / (metric["p50_ms"] / 1000)) if rows > 0 else 0)

    def _project_pages(self, reader: Browser, sample: Sample) -> dict[str, Callable[[], object]]:
        project = sample.project_id
        if project is None:
            return {}
        return {
            "project_page": lambda: reader.get(f"/projects/{project}"),
            "fund_list": lambda: reader.get("/fund/"),
            "fund_list_spent": lambda: reader.get(f"/fund/?project={project}&figure=spent"),
            "project_export": lambda: reader.get(f"/projects/{project}/financial.xlsx"),
        }

    def project_reports(self, reader: Browser, sample: Sample, available: dict[str, bool]) -> None:
        pages = self._project_pages(reader, sample)
        for name in ("project_page", "fund_list", "fund_list_spent", "project_export"):
            if not available[name]:
                continue
            if name not in pages:
                self.metrics[name] = {"skipped": f"not available: the {READER}'s organisation has no project"}
                continue
            # A workbook of every request of the project takes longer than a page; a few runs give a steady figure.
            runs = max(3, min(self.repeat, 10)) if name == "project_export" else self.repeat
            responses = self.page(name, [pages[name]] * runs)
            if name == "project_export":
                self.metrics[name]["bytes"] = len(responses[-1].get_data())

    def family_reports(self, reader: Browser, sample: Sample, available: dict[str, bool]) -> None:
        """Issue 15's pages, each on its own sampled records (per-case pages, like the case view)."""
        for name, (url, what) in FAMILY_PAGES.items():
            if not available[name]:
                continue
            ids = sample.family.get(name) or []
            if not ids:
                self.metrics[name] = {"skipped": f"not available: the {READER} sees no {what}"}
                continue
            self.page(name, [_opener(reader, url.format(i)) for i in ids])
            self.metrics[name]["sampled_from"] = sample.family_population[name]

    # -- the comparisons -------------------------------------------------------------------------------------

    def search_vs_scan(self, sample: Sample) -> dict:
        """Blind-index search and decrypt-and-scan, both called directly (no HTTP), each in a fresh request."""
        runs = min(self.repeat, max(3, 20_000 // max(self.target.cases, 1)))
        indexed, scanned, scanned_people, agree = [], [], 0, True
        for term, _ref in sample.search_terms:
            with self.app.test_request_context():
                actor = db.session.get(User, sample.reader_id)
                elapsed, found = timed(lambda a=actor, t=term: search_cases(a, t))
                indexed.append(elapsed)
                expected = {hit.case.id for hit in found.hits}
                db.session.rollback()  # the search's audit event: not what is being compared
            if len(scanned) < runs:
                with self.app.test_request_context():
                    actor = db.session.get(User, sample.reader_id)
                    elapsed, (ids, scanned_people) = timed(lambda a=actor, t=term: decrypt_and_scan(a, t))
                    scanned.append(elapsed)
                    # The search is fuzzy (spellings, order, a part of the name): it finds every exact match the scan
                    # finds, and may find more.
                    agree = agree and set(ids) <= expected
                    db.session.rollback()
        index, scan = summary_ms(indexed), summary_ms(scanned)
        return {
            "blind_index_p50_ms": index["p50_ms"], "blind_index_p95_ms": index["p95_ms"],
            "scan_p50_ms": scan["p50_ms"], "scan_p95_ms": scan["p95_ms"], "scan_runs": scan["n"],
            "people_decrypted_per_scan": scanned_people, "same_results": agree,
            "speedup_p50": round(scan["p50_ms"] / max(index["p50_ms"], 0.001), 1),
        }

    def view_encrypted_vs_plain(self, reader: Browser, sample: Sample) -> dict:
        """The same case views with decryption real and with it switched off (see DecryptionMemo), alternating
        which goes first so both see the same cache state."""
        memo = DecryptionMemo()
        with memo.recording():
            for case_id in sample.view_ids:
                reader.get(f"/cases/{case_id}")
        decryptions = memo.calls / len(sample.view_ids)
        encrypted, plain = [], []
        for i, case_id in enumerate(sample.view_ids):
            def real(c=case_id):
                encrypted.append(timed(lambda: reader.get(f"/cases/{c}"))[0])

            def switched_off(c=case_id):
                with memo.replaying():
                    plain.append(timed(lambda: reader.get(f"/cases/{c}"))[0])

            for step in (real, switched_off) if i % 2 else (switched_off, real):
                step()
        enc, off = summary_ms(encrypted), summary_ms(plain)
        return {
            "encrypted_p50_ms": enc["p50_ms"], "encrypted_p95_ms": enc["p95_ms"],
            "plain_p50_ms": off["p50_ms"], "plain_p95_ms": off["p95_ms"],
            "overhead_p50_ms": round(enc["p50_ms"] - off["p50_ms"], 2),
            "decryptions_per_view": round(decryptions, 1), "lookups_missed": memo.misses,
        }

    # -- putting it together ---------------------------------------------------------------------------------

    def sample(self) -> Sample:
        with self.app.test_request_context():
            reader = db.session.scalar(select(User).where(User.username == READER))
            scoped = select(Case.id).where(case_scope_filter(reader)).order_by(Case.id)
            ids = list(db.session.scalars(scoped))
            if len(ids) < 2:
                raise BenchError(f"the {READER} sees {len(ids)} cases: nothing to measure")
            settings = self.app.config["SETTINGS"]
            picked = [ids[self.rng.randrange(len(ids))] for _ in range(self.repeat)]
            searched = [ids[self.rng.randrange(len(ids))] for _ in range(self.repeat)]
            terms = []
            for case_id in searched:
                case = db.session.get(Case, case_id)
                terms.append((identity.display_name(identity.read_identity(case.person)), case.reference))
            sample = Sample(
                scope_size=len(ids), middle_page=max(1, math.ceil(len(ids) / settings.page_size) // 2),
                view_ids=picked, search_terms=terms, reader_id=reader.id, disclosure_k=settings.disclosure_k,
                project_id=_largest_project(reader.organisation_id),
            )
            sample.family, sample.family_population = self.family_samples(reader)
            db.session.rollback()
        return sample

    def family_samples(self, reader: User) -> tuple[dict[str, list[str]], dict[str, int]]:
        """Per issue 15 page, `repeat` records picked at random (seeded) among those of the reader's organisation's
        cases: every case (or request) with such records is as likely to be picked, whatever its size. Cases other
        organisations share with the reader are left out: a referral's level may not include these pages."""
        in_scope = [case_scope_filter(reader), Case.organisation_id == reader.organisation_id,
                    Case.erased_at.is_(None)]
        live_member = exists().where(FamilyMember.case_id == Case.id, FamilyMember.deleted_at.is_(None))
        queries = {
            "family_page": select(Case.id).where(*in_scope, live_member),
            # Whom the request looks for is a live family member: the page then runs its matching.
            "tracing_page": select(TracingRequest.id).join(Case, Case.id == TracingRequest.case_id)
            .join(FamilyMember, FamilyMember.id == TracingRequest.family_member_id)
            .where(*in_scope, FamilyMember.deleted_at.is_(None)),
            "best_interests_page": select(Case.id).where(
                *in_scope, exists().where(BestInterestsDetermination.case_id == Case.id)),
            "stay_page": select(Case.id).where(*in_scope, or_(exists().where(ProtectionStatus.case_id == Case.id),
                                                              exists().where(Reunification.case_id == Case.id))),
        }
        picked, population = {}, {}
        for name, query in queries.items():
            ids = list(db.session.scalars(query.order_by(query.selected_columns[0])))
            picked[name] = [ids[self.rng.randrange(len(ids))] for _ in range(self.repeat)] if ids else []
            population[name] = len(ids)
        return picked, population

    def run(self) -> dict:
        # The machine may be shared: the load average before and after says how much the figures can be trusted.
        load_before = os.getloadavg()[0]
        sample = self.sample()
        self.login()
        reader = Browser(self.app).login(READER, PASSWORD)
        writer = Browser(self.app).login(WRITER, PASSWORD)
        self.reads(reader, sample)
        self.reports(reader, sample)
        moved = self.writes(writer)
        self.fixed_query_counts(reader, moved, sample)
        self.add_floors()
        memory_pages = peak_rss_mb()
        comparisons = {"search_vs_scan": self.search_vs_scan(sample)}
        _say(f"search vs decrypt-and-scan: {comparisons['search_vs_scan']['speedup_p50']}x")
        comparisons["view_encrypted_vs_plain"] = self.view_encrypted_vs_plain(reader, sample)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        return {
            "backend": self.target.backend, "cases": self.target.cases, "seed": self.target.seed,
            "generator": self.target.generator, "repeat": self.repeat, "reader_scope": sample.scope_size,
            "metrics": self.metrics, "comparisons": comparisons,
            "memory": {"peak_rss_mb_after_pages": memory_pages, "peak_rss_mb": peak_rss_mb(), "rss_mb": rss_mb()},
            "database_mb": round(self.target.size_bytes() / 2**20, 1),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }


def _largest_project(organisation_id: int) -> int | None:
    """The project of the organisation (leading or implementing it) with the most fund requests of the
    organisation: the heaviest project page and drill-down a supervisor of it opens."""
    requests = (
        select(FundRequest.project_id, func.count().label("n"))
        .where(FundRequest.organisation_id == organisation_id)
        .group_by(FundRequest.project_id)
        .subquery()
    )
    return db.session.scalar(
        select(ProjectOrganisation.project_id)
        .outerjoin(requests, requests.c.project_id == ProjectOrganisation.project_id)
        .where(ProjectOrganisation.organisation_id == organisation_id)
        .order_by(func.coalesce(requests.c.n, 0).desc(), ProjectOrganisation.project_id)
        .limit(1)
    )


def _shares_a_key(keys, organisation_id: int):
    """The tracing request's sought member shares a stored blind index with a family member (keys: FamilyMemberKey)
    or a person (PersonMatchKey) of another live case of the organisation: the page's matching has candidates there
    (the keys it looks up include every key stored for the member: matching.keys.query_keys)."""
    sought, other = aliased(FamilyMemberKey), aliased(Case)
    shared = [keys.generation == sought.generation, keys.kind == sought.kind, keys.value == sought.value]
    if keys is FamilyMemberKey:
        shared.append(exists().where(FamilyMember.id == keys.family_member_id, FamilyMember.deleted_at.is_(None)))
    return exists().where(sought.family_member_id == TracingRequest.family_member_id, *shared,
                          keys.case_id != TracingRequest.case_id, other.id == keys.case_id,
                          other.organisation_id == organisation_id, other.erased_at.is_(None))


def _opener(browser: Browser, url: str) -> Callable[[], object]:
    return lambda: browser.get(url)


def _say(line: str) -> None:
    click.echo(f"  {line}", err=True)


def measure(target: BenchDatabase, repeat: int, seed: int, budget: float = 60) -> dict:
    return Run(target, repeat, seed, budget).run()
