"""`casemgmt demo`: a demo database with three organisations, eleven users and realistic synthetic cases.

The people are invented by Faker in the region's locales (Peru, Colombia, Haiti, Venezuela, Ecuador); they go
through the same operations, encryption and audit trail as real data.
"""

from __future__ import annotations

import importlib
import importlib.util
import random
import secrets
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import click
from faker import Faker
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import select

from casemgmt.accounts import operations as accounts
from casemgmt.accounts.models import Organisation, User
from casemgmt.audit.anchor import restart_on_new_database
from casemgmt.audit.events import SYSTEM
from casemgmt.cases import operations as cases
from casemgmt.cases import stages
from casemgmt.cases.age import years_between
from casemgmt.cases.models import StageChange
from casemgmt.core import zones
from casemgmt.core.journey import FEATURES
from casemgmt.core.time import utcnow
from casemgmt.extensions import db
from casemgmt.htcds import CONTROL_METHODS, EXPLOITATION_TYPES, RECRUITMENT_METHODS
from casemgmt.synth_people import phone_number

ORGANISATIONS = (
    ("Casa Esperanza Lima", "NGO", "PE", "+51 1 555 0100, coordinacion@casa-esperanza.example"),
    ("Fundación Camino Seguro", "NGO", "CO", "+57 1 555 0199, casos@caminoseguro.example"),
    ("IOM Mission Haiti", "Intergovernmental", "HT", "+509 2 555 0150, avrr@iom-haiti.example"),
)

# username, display name, organisation index, role
USERS = (
    # The installation administrator creates organisations and their administrators; `admin` manages Casa
    # Esperanza's accounts only. Neither reads a case.
    ("install", "Iris Instalación", 0, "installation_admin"),
    ("admin", "Ana Administradora", 0, "administrator"),
    ("hotline", "Hugo Línea", 0, "hotline_operator"),
    ("caseworker", "Carla Gestora", 0, "caseworker"),
    ("supervisor", "Sofía Supervisora", 0, "supervisor"),
    ("caseworker2", "Camilo Trabajador", 1, "caseworker"),
    ("mission", "Marie-Claire Mission", 2, "mission_staff"),
    # Supervisors of the other two organisations approve their own returns and closures.
    ("supervisor2", "Santiago Supervisor", 1, "supervisor"),
    ("missionlead", "Jean-Baptiste Lead", 2, "supervisor"),
    # Finance officers approve and pay the emergency fund's requests and keep exchange rates; they read no identity.
    ("finance", "Fernanda Finanzas", 0, "finance_officer"),
    ("finance3", "Fabienne Finances", 2, "finance_officer"),
)

LOCALES = {"PE": "es_MX", "CO": "es_CO", "VE": "es_MX", "EC": "es_MX", "HT": "fr_FR", "BO": "es_MX"}
CITIZENSHIPS = ("PE", "CO", "VE", "EC", "HT", "BO")
STAGE_PATHS = (
    ("intake",),
    ("intake", "shelter"),
    ("intake", "shelter", "counseling"),
    ("intake", "counseling", "return"),
    ("intake", "shelter", "return", "reintegration"),
    ("intake", "shelter", "counseling", "closed"),
)


def random_passphrase() -> str:
    words = ("river", "lantern", "copper", "meadow", "harbor", "violet", "tundra", "pepper", "saddle", "orbit")
    # Four different words: a repeated word ("copper-copper-...") is what the strength check rightly refuses.
    return "-".join(secrets.SystemRandom().sample(words, 4)) + f"-{secrets.randbelow(90) + 10}"


def _person(rng: random.Random, fakers: dict[str, Faker]) -> dict:
    citizenship = rng.choice(CITIZENSHIPS)
    fake = fakers[LOCALES[citizenship]]
    female = rng.random() < 0.7
    age = rng.choice([rng.randint(12, 17), rng.randint(18, 30), rng.randint(18, 30), rng.randint(31, 55)])
    dob = date.today() - timedelta(days=age * 365 + rng.randint(0, 364))
    exploitation = rng.sample(list(EXPLOITATION_TYPES), k=rng.choice([1, 1, 2]))
    return {
        "given_name": fake.first_name_female() if female else fake.first_name_male(),
        "family_name": fake.last_name(),
        "aliases": fake.first_name() if rng.random() < 0.2 else None,
        **_age(rng, dob),
        "age_band": None,
        # Not fake.phone_number(): some locales' formats carry an extension ("x62448") the case form refuses.
        "phone": phone_number(citizenship, lambda n: fake.numerify("#" * n)) if rng.random() < 0.7 else None,
        "address": fake.address().replace("\n", ", ") if rng.random() < 0.5 else None,
        "document_type": rng.choice(["Passport", "NationalId", None]),
        "document_number": f"{rng.choice('ABCDEFGH')}{rng.randint(1000000, 9999999)}" if rng.random() < 0.6 else None,
        "gender": "Feminine" if female else "Masculine",
        "citizenship": citizenship,
        "languages": ["fr", "ht"] if citizenship == "HT" else ["es"],
        "trafficking_status": rng.choice(["PossibleVictimOfTrafficking", "ActualVictimOfTrafficking"]),
        "status_decided_by": rng.choice(["NGO", "Police", None]),
        "exploitation": exploitation,
        "control": rng.sample(list(CONTROL_METHODS), k=rng.randint(1, 3)),
        "recruitment_method": rng.choice(list(RECRUITMENT_METHODS)),
        "relationship_to_trafficker": rng.choice(["Familial", "Acquainted", "Unacquainted"]),
        "recruitment_country": [citizenship],
        "exploitation_country": [rng.choice(["PE", "CO", "CL", "AR", "US", "DO"])],
        "unaccompanied_or_separated": age < 18 and rng.random() < 0.6,
        "pregnant": female and 18 <= age < 40 and rng.random() < 0.1,
        "elderly": age > 50,
        "ill": rng.random() < 0.1,
        "narrative": fake.paragraph(nb_sentences=4),
        "status": "Active",
    }


def _age(rng: random.Random, dob: date) -> dict:
    """Most people give their date of birth; of the others, some know the year, and for some the caseworker
    estimates the age (on a day in the last months: the estimate ages from then, cases.age)."""
    known = rng.random()
    if known < 0.75:
        return {"date_of_birth": dob}
    if known < 0.87:
        estimated_on = date.today() - timedelta(days=rng.randint(0, 300))
        return {"estimated_age": max(years_between(dob, estimated_on), 0), "age_estimated_on": estimated_on}
    if known < 0.95:
        return {"birth_year": dob.year}
    return {}


def _sixteen(values: dict) -> dict:
    """One 16-year-old known by her date of birth only, the box "unaccompanied or separated" not ticked: the child
    rules must follow from the date alone (the adults-only shelter refuses her, her return needs an escort)."""
    born = date.today() - timedelta(days=16 * 365 + 120)
    return {**values, "date_of_birth": born, "estimated_age": None, "age_estimated_on": None, "birth_year": None,
            "unaccompanied_or_separated": False, "gender": "Feminine", "pregnant": False, "elderly": False}


@contextmanager
def _guards_suspended():
    """The demo writes a case's stage history first and then, through each feature's populate(), the records the
    stage guards ask for (consent, an approved return plan, an approved closure). Real users go the other way round;
    the guards are restored as soon as the history is written."""
    saved = {stage: list(checks) for stage, checks in stages.GUARDS.items()}
    stages.GUARDS.clear()
    try:
        yield
    finally:
        stages.GUARDS.clear()
        stages.GUARDS.update(saved)


def _feature_populators() -> list[Callable]:
    """Each journey feature's demo.populate(case, people, rng), in the order of core.journey.FEATURES."""
    found = []
    for feature in FEATURES:
        name = f"casemgmt.{feature}.demo"
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name).populate)
    return found


def _feature_finishers() -> list[Callable]:
    return [module.finish for module in map(importlib.import_module, (
        f"casemgmt.{feature}.demo" for feature in FEATURES if importlib.util.find_spec(f"casemgmt.{feature}.demo")
    )) if hasattr(module, "finish")]


def _backdate(case, rng: random.Random) -> datetime:
    opened = utcnow() - timedelta(days=rng.randint(0, 540), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
    case.created_at = case.updated_at = opened
    for change in db.session.scalars(select(StageChange).where(StageChange.case_id == case.id)):
        change.changed_at = opened
    return opened


def build_demo(password: str | None, n_cases: int, seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    Faker.seed(seed)
    fakers = {loc: Faker(loc) for loc in set(LOCALES.values())}
    orgs = []
    for name, org_type, country, contact in ORGANISATIONS:
        orgs.append(accounts.create_organisation(SYSTEM, name, org_type, country, contact,
                                                 time_zone=zones.zone_for_country(country) or zones.UTC_NAME))
    credentials: dict[str, str] = {}
    users: dict[str, User] = {}
    for username, display, org_index, role in USERS:
        pw = password or random_passphrase()
        users[username] = accounts.create_user(SYSTEM, username, display, orgs[org_index].id, role, pw)
        credentials[username] = pw
    # The demo supervisor can try the identified export (after re-entering the passphrase).
    accounts.set_export_grant(SYSTEM, users["supervisor"], True)
    db.session.commit()
    writers = [
        (users["caseworker"], users["supervisor"]), (users["hotline"], users["supervisor"]),
        (users["caseworker2"], users["caseworker2"]), (users["mission"], users["mission"]),
    ]
    populators = _feature_populators()
    for i in range(n_cases):
        creator, mover = writers[i % len(writers)] if i % 5 else writers[0]
        values = _person(rng, fakers)
        if i == 1:
            values = _sixteen(values)
        elif i == 2:  # at least one age estimated by the caseworker, however the draws fall
            values = {**values, "date_of_birth": None, "birth_year": None, "estimated_age": 24,
                      "age_estimated_on": date.today() - timedelta(days=60), "elderly": False}
        if creator.role == "hotline_operator":
            values["assigned_to_id"] = users["caseworker"].id
        case = cases.create_case(creator, values)
        path = rng.choice(STAGE_PATHS)
        actor = users["caseworker"] if creator.role == "hotline_operator" else mover
        # Spread the cases over the last 18 months, each stage lasting days to weeks, so the dashboard's monthly
        # chart and time-in-stage figures have something to show.
        moment = _backdate(case, rng)
        with _guards_suspended():
            for stage in path[1:]:
                reason = "Assistance completed; follow-up not needed." if stage == "closed" else None
                if stage in stages.TRANSITIONS[case.stage]:
                    change = cases.change_stage(actor, case, stage, reason)
                    moment = min(moment + timedelta(days=rng.randint(3, 75), hours=rng.randint(0, 23)), utcnow())
                    change.changed_at = moment
                    if stage == "closed":
                        case.closed_at = moment
        for populate in populators:
            populate(case, users, rng)
        db.session.commit()
    # What a feature adds once every case is there (overdue-task notices, say): its demo's finish(people, rng).
    for finish in _feature_finishers():
        finish(users, rng)
        db.session.commit()
    # A second organisation registers a person the first holds: the first one's supervisor is told (issue 13).
    from casemgmt.matching import demo as matching_demo

    matching_demo.finish(users, rng)
    db.session.commit()
    return credentials


def prepare_empty_database(reset: bool) -> None:
    """Run the migrations on an empty database (emptied first with `reset`); refuse one that already has data, so a
    demo or synthetic load never mixes with real cases."""
    if reset:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade()
    if db.session.scalar(select(Organisation.id).limit(1)) is not None:
        raise click.ClickException("this database already has data; use --reset to start over")


@click.command("demo")
@click.option("--password", default=None, help="One passphrase for every demo account (else each gets its own).")
@click.option("--cases", "n_cases", default=50, show_default=True, help="How many synthetic cases to create.")
@click.option("--seed", default=2026, show_default=True, help="Random seed, for reproducible demo data.")
@click.option("--reset", is_flag=True, help="Drop every table first (loses all data in this database).")
def demo_command(password, n_cases, seed, reset):
    """Build a demo database (runs the migrations first)."""
    if current_app.config["SETTINGS"].is_production:
        raise click.ClickException("the demo never runs in production")
    if password:
        problems = __import__("casemgmt.auth.passwords", fromlist=["x"]).passphrase_problems(password)
        if problems:
            raise click.ClickException(" ".join(problems))
    prepare_empty_database(reset)
    with click.progressbar(length=1, label=f"creating {n_cases} demo cases") as bar:
        credentials = build_demo(password, n_cases, seed)
        bar.update(1)
    # A rebuilt database is a new chain: anchor it as a restart, or `audit verify` reports the old one as cut.
    restart_on_new_database(SYSTEM)
    click.echo("\nDemo accounts (organisation, role, username, passphrase):")
    for username, _display, org_index, role in USERS:
        click.echo(f"  {ORGANISATIONS[org_index][0]:<26} {role:<17} {username:<12} {credentials[username]}")
    click.echo("\nStart the application with `casemgmt run` and open http://127.0.0.1:5000")
