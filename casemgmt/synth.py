"""`casemgmt synth`: a database at scale, for benchmarks and load tests.

The organisations and users are the demo's (made through the real operations, so passphrases, roles and the audit
trail are real); then N cases spread over the last three years, each with a journey of about ten related records,
are written with bulk inserts (see synth_rows for what is kept identical to the operations, and synth_journey for
the journey). Data is deterministic for a seed and a "now": the same ids, people and dates every time; keys and
nonces are random, as encryption requires.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import click
from flask import current_app
from sqlalchemy import select, text

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import User
from casemgmt.audit.anchor import restart_on_new_database
from casemgmt.audit.events import HEAD_ID, SYSTEM
from casemgmt.audit.models import AuditHead
from casemgmt.auth.passwords import passphrase_problems
from casemgmt.core import zones
from casemgmt.core.time import utcnow
from casemgmt.demo import ORGANISATIONS, USERS, prepare_empty_database, random_passphrase
from casemgmt.extensions import db
from casemgmt.notifications import sweep as notice_sweep
from casemgmt.shelter import demo as shelter_demo
from casemgmt.shelter import operations as shelter
from casemgmt.synth_families import Chained, FamilyWriter
from casemgmt.synth_journey import CaseWriter, FacilitySlot, OrgProfile, World
from casemgmt.synth_people import make_pools
from casemgmt.synth_programmes import FINANCE_USERS, ProgrammeWorld
from casemgmt.synth_programmes import setup as setup_programmes
from casemgmt.synth_rows import Actor, Batch, index_generations

YEARS = 3
# Share of the cases per organisation (the demo's order: the Lima NGO, the Bogotá NGO, the IOM mission).
ORG_WEIGHTS = (45, 33, 22)
# Per organisation: who opens cases, who is assigned them, who takes hotline contacts (demo usernames, weights), and
# the languages its staff work in (other languages need an interpreter).
STAFFING = (
    {"creators": {"hotline": 35, "caseworker": 50, "supervisor": 15},
     "assignees": {"caseworker": 85, "supervisor": 10, None: 5},
     "takers": {"hotline": 75, "caseworker": 25}, "languages": ("es", "qu")},
    {"creators": {"caseworker2": 80, "supervisor2": 20}, "assignees": {"caseworker2": 90, "supervisor2": 8, None: 2},
     "takers": {"caseworker2": 1}, "languages": ("es",)},
    {"creators": {"mission": 85, "missionlead": 15}, "assignees": {"mission": 90, "missionlead": 10},
     "takers": {"mission": 1}, "languages": ("fr", "ht")},
)
# Beds per case of the organisation, enough for the stays that are open "now" (NGOs shelter many, the mission few).
BEDS_PER_CASE = (0.06, 0.06, 0.012)
DISTRICTS = {
    "PE": ("Lince", "Breña", "Surco", "Callao", "Comas", "Chorrillos", "San Juan de Lurigancho", "Ate"),
    "CO": ("Chapinero", "Kennedy", "Suba", "Usme", "Bosa", "Engativá"),
    "HT": ("Port-au-Prince", "Cap-Haïtien", "Gonaïves", "Les Cayes", "Jacmel"),
}


def _weights(spec: dict, users: dict[str, Actor]) -> tuple[tuple, tuple]:
    return tuple(users[name] if name else None for name in spec), tuple(spec.values())


def _facility_specs(rng: random.Random, index: int, country: str, n_cases: int) -> list[tuple]:
    """(name, type, beds, whom it takes (shelter.models.AGE_GROUPS), address): the demo's two shelters first for the
    first NGO."""
    wanted = math.ceil(n_cases * ORG_WEIGHTS[index] / sum(ORG_WEIGHTS) * BEDS_PER_CASE[index]) + 10
    specs: list[tuple] = list(shelter_demo.FACILITIES) if index == 0 else []
    mission = country == "HT"
    while sum(spec[2] for spec in specs) < wanted or len(specs) < 2:
        kind = "transit_centre" if mission else rng.choice(["shelter", "shelter", "safe_house"])
        prefix = {"transit_centre": "Centre de transit", "shelter": "Albergue", "safe_house": "Hogar"}[kind]
        name = f"{prefix} {rng.choice(DISTRICTS[country])} {len(specs) + 1}"
        address = None if kind == "safe_house" else f"{rng.randint(100, 2999)} {rng.choice(DISTRICTS[country])}"
        takes = rng.random()
        specs.append((name, kind, rng.randint(8, 40), "children" if takes < 0.1 else "both" if takes < 0.35
                       else "adults", address))
    return specs


def _setup(password: str | None, n_cases: int, rng: random.Random, seed: int,
           now: datetime) -> tuple[dict[str, str], list[OrgProfile], ProgrammeWorld]:
    orgs = [accounts.create_organisation(SYSTEM, name, kind, country, contact,
                                         time_zone=zones.zone_for_country(country) or zones.UTC_NAME)
            for name, kind, country, contact in ORGANISATIONS]
    credentials: dict[str, str] = {}
    users: dict[str, User] = {}
    for username, display, org_index, role in USERS + FINANCE_USERS:
        credentials[username] = password or random_passphrase()
        users[username] = accounts.create_user(SYSTEM, username, display, orgs[org_index].id, role,
                                               credentials[username])
    # As in the demo: the first NGO's supervisor may try the identified export.
    accounts.set_export_grant(SYSTEM, users["supervisor"], True)
    actors = {name: Actor.of(user) for name, user in users.items()}
    profiles = []
    for index, (org, staffing) in enumerate(zip(orgs, STAFFING, strict=True)):
        supervisor = next(u for u in users.values() if u.organisation_id == org.id and u.role == "supervisor")
        profile = OrgProfile(
            id=org.id, country=org.country, mission=org.org_type == "Intergovernmental",
            supervisor=actors[supervisor.username], creators=_weights(staffing["creators"], actors),
            assignees=_weights(staffing["assignees"], actors), takers=_weights(staffing["takers"], actors),
            working_languages=frozenset(staffing["languages"]),
        )
        for name, kind, beds, takes, address in _facility_specs(rng, index, org.country, n_cases):
            facility = shelter.create_facility(supervisor, {
                "name": name, "facility_type": kind, "bed_capacity": beds, "age_group": takes,
                "active": True, "address": address,
            })
            profile.facilities.append(FacilitySlot(facility.id, org.id, beds, takes))
        profiles.append(profile)
    programmes = setup_programmes(orgs, users, seed, now)
    db.session.commit()
    return credentials, profiles, programmes


def _opening_times(rng: random.Random, n_cases: int, now: datetime) -> list[datetime]:
    """When each case was opened, oldest first: spread over the last three years, busier in the last one."""
    span = YEARS * 365 * 86400
    offsets = [rng.random() * (span if rng.random() < 0.75 else span / YEARS) for _ in range(n_cases)]
    return [now - timedelta(seconds=offset) for offset in sorted(offsets, reverse=True)]


def _lock_head() -> AuditHead:
    # Locked until the batch commits (PostgreSQL), so no other writer can fork the chain under the batch.
    return db.session.execute(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()).scalar_one()


def build(n_cases: int, seed: int = 2026, password: str | None = None, progress: Callable[[int], None] | None = None,
          batch_size: int = 1000, now: datetime | None = None) -> dict:
    """Fill an empty database (inside an app context): demo organisations and users, then `n_cases` cases with
    their journeys. `progress` is called with the number of cases written since its last call. Returns the
    passphrases ("credentials"), rows written per table ("rows"), "audit_events", "waiting_for_a_bed" (open stays
    that found no free bed) and "seconds"."""
    started = time.perf_counter()
    now = now or utcnow()
    rng = random.Random(seed)  # noqa: S311 - synthetic data needs no cryptographic randomness
    credentials, orgs, programmes = _setup(password, n_cases, rng, seed, now)
    mission = next(o for o in orgs if o.mission)
    world = World(orgs=orgs, org_weights=list(ORG_WEIGHTS), mission=mission,
                  mission_actor=next(a for a in mission.assignees[0] if a and a.role == "mission_staff"),
                  pools=make_pools(seed), now=now, generations=index_generations(),
                  # The journey writer's one hook: the programme rows, then the family rows (synth_families).
                  programmes=Chained(programmes, FamilyWriter(now)))
    writer = CaseWriter(world)
    batch = Batch()
    opened = _opening_times(rng, n_cases, now)
    for first in range(0, n_cases, batch_size):
        head = _lock_head()
        batch.follow(head.last_seq, head.last_hash)
        chunk = opened[first:first + batch_size]
        for created in chunk:
            writer.write(batch, created, rng.getrandbits(64))
        batch.flush()
        db.session.commit()
        if progress is not None:
            progress(len(chunk))
    programmes.finish()  # the budgets, now that the requests they must cover are known
    # The batches write rows directly, past the session's notice rules; overdue tasks are what the sweep adds.
    notice_sweep.sweep_all()
    if db.session.get_bind().dialect.name == "postgresql":
        # Fresh planner statistics, as autovacuum would gather them a little later: benchmarks run right after.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    rows = dict(batch.written)
    return {
        "cases": n_cases, "credentials": credentials, "rows": rows, "audit_events": rows.get("audit_events", 0),
        "waiting_for_a_bed": writer.unplaced, "seconds": round(time.perf_counter() - started, 1),
    }


@click.command("synth")
@click.option("--cases", "n_cases", default=1000, show_default=True, type=click.IntRange(min=0),
              help="How many synthetic cases to create.")
@click.option("--seed", default=2026, show_default=True, help="Random seed: the same seed gives the same data.")
@click.option("--password", default=None, help="One passphrase for every account (else each gets its own).")
@click.option("--reset", is_flag=True, help="Drop every table first (loses all data in this database).")
@click.option("--batch", "batch_size", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Cases per transaction.")
def synth_command(n_cases, seed, password, reset, batch_size):
    """Build a large synthetic database for benchmarks (runs the migrations first)."""
    settings = current_app.config["SETTINGS"]
    if settings.is_production:
        raise click.ClickException("synthetic data never goes into production")
    if password and passphrase_problems(password):
        raise click.ClickException(" ".join(passphrase_problems(password)))
    prepare_empty_database(reset)
    if n_cases > settings.expected_cases:
        click.echo(f"note: blind indexes are sized for CASEMGMT_EXPECTED_CASES={settings.expected_cases}; "
                   f"set it to {n_cases} for realistic search figures (or run `casemgmt indexes rebuild` after "
                   "changing it)", err=True)
    with click.progressbar(length=n_cases, label=f"creating {n_cases} synthetic cases") as bar:
        result = build(n_cases, seed, password, progress=bar.update, batch_size=batch_size)
    restart_on_new_database(SYSTEM)  # a new chain, as in the demo
    click.echo(f"\n{n_cases} cases, {sum(result['rows'].values())} rows ({result['audit_events']} audit events) "
               f"in {result['seconds']} s")
    if result["waiting_for_a_bed"]:
        click.echo(f"{result['waiting_for_a_bed']} people in the shelter stage found no free bed")
    click.echo("Accounts (organisation, role, username, passphrase):")
    for username, _display, org_index, role in USERS + FINANCE_USERS:
        click.echo(f"  {ORGANISATIONS[org_index][0]:<26} {role:<17} {username:<12} {result['credentials'][username]}")
