"""Benchmark databases: one per backend, size, seed and generator, built once and reused by later runs.

Each database has its own instance folder (its key ring and secret key live there, generated on first use as in
development), so a database built yesterday is still readable today. A marker file written after a successful build
is what "built" means: an interrupted build is rebuilt, never measured.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from casemgmt import create_app

# Every benchmark account gets this passphrase; the databases hold synthetic people only.
PASSWORD = "copper-meadow-lantern-orbit-47"  # noqa: S105 - a known passphrase for synthetic accounts
POSTGRES_ADMIN_URL = os.environ.get(
    "CASEMGMT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")
MARKER = "built.json"


def generator() -> str:
    """The fast bulk generator when this checkout has it, else the ORM demo (slow: fine up to about 1,000 cases)."""
    return "synth" if importlib.util.find_spec("casemgmt.synth") is not None else "demo"


@dataclass(frozen=True)
class BenchDatabase:
    backend: str
    cases: int
    seed: int
    workdir: Path
    generator: str

    @property
    def name(self) -> str:
        return f"{self.backend}-{self.cases}-s{self.seed}-{self.generator}"

    @property
    def instance_path(self) -> Path:
        return self.workdir / self.name

    @property
    def postgres_name(self) -> str:
        # Two work folders (a developer's and the test suite's) on one server must not share a database.
        space = hashlib.sha256(str(self.workdir.resolve()).encode()).hexdigest()[:8]
        return f"casemgmt_bench_{space}_{self.cases}_s{self.seed}_{self.generator}"

    @property
    def url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.instance_path / 'casemgmt.db'}"
        return make_url(POSTGRES_ADMIN_URL).set(database=self.postgres_name).render_as_string(hide_password=False)

    def settings(self) -> dict[str, object]:
        """Overrides for create_app(): production-strength password hashing, blind indexes sized for the data."""
        return {
            "ENV": "development",
            "INSTANCE_PATH": str(self.instance_path),
            "DATABASE_URL": self.url,
            "REQUIRE_2FA": "false",
            # An organisation sizes its blind indexes for its caseload (settings.expected_cases); so do we.
            "EXPECTED_CASES": max(512, self.cases),
            # The benchmark measures what a page costs, repeating each page far more often than a person may (the
            # per-client limits of casemgmt/ratelimits.py would answer 429); the limits have tests of their own.
            "RATELIMIT_ENABLED": "false",
        }

    def environ(self) -> dict[str, str]:
        """The same settings as environment variables, for gunicorn."""
        return {f"CASEMGMT_{key}": str(value) for key, value in self.settings().items()}

    def app(self) -> Flask:
        self.instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return create_app(overrides=self.settings())

    def marker(self) -> dict | None:
        """The finished build's facts, or None when it must be built (again): never built, interrupted, dropped, or
        built by another version of the migrations or of the generator."""
        path = self.instance_path / MARKER
        if not path.exists():
            return None
        if self.backend == "postgresql" and not _postgres_exists(self.postgres_name):
            return None
        facts = json.loads(path.read_text())
        return facts if facts.get("fingerprint") == fingerprint(self.generator) else None

    def write_marker(self, facts: dict) -> None:
        facts = {**facts, "fingerprint": fingerprint(self.generator)}
        (self.instance_path / MARKER).write_text(json.dumps(facts, indent=2) + "\n")

    def reset(self) -> None:
        """Start from nothing: a new instance folder (new keys) and an empty database."""
        self.drop()
        self.instance_path.mkdir(parents=True, mode=0o700)
        if self.backend == "postgresql":
            _postgres_admin(f'CREATE DATABASE "{self.postgres_name}"')

    def drop(self) -> None:
        if self.backend == "postgresql":
            _postgres_admin(f'DROP DATABASE IF EXISTS "{self.postgres_name}" WITH (FORCE)')
        shutil.rmtree(self.instance_path, ignore_errors=True)

    def size_bytes(self) -> int:
        if self.backend == "sqlite":
            files = self.instance_path.glob("casemgmt.db*")
            return sum(f.stat().st_size for f in files)
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
        finally:
            engine.dispose()


def fingerprint(generator_name: str) -> str:
    """A digest of what a build depends on: the migrations and the generator's source."""
    root = Path(__file__).resolve().parent.parent
    sources = sorted((root / "migrations" / "versions").glob("*.py"))
    package = root / "casemgmt"
    sources += sorted(package.glob("synth*.py")) if generator_name == "synth" else [package / "demo.py"]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def _postgres_admin(statement: str) -> None:
    engine = create_engine(make_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _postgres_exists(name: str) -> bool:
    engine = create_engine(make_url(POSTGRES_ADMIN_URL))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    finally:
        engine.dispose()
