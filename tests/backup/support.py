"""An installation for backup tests: a database of its own, an instance folder, its audit checkpoint file and erasure
journal outside the instance, one key ring and one backup key; and empty targets to restore into."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from sqlalchemy import select

from casemgmt.accounts.models import User
from casemgmt.backup.snapshot import target_state
from casemgmt.cases.models import Case
from casemgmt.documents import operations as documents
from casemgmt.documents.demo import tiny_png
from casemgmt.extensions import db
from tests import factories
from tests.cli.support import PrivateDatabase, make_world, new_root_key, request, ring, run_cli
from tests.conftest import postgres_database


def backup_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Site:
    def __init__(self, backend: str, tmp: Path, name: str, key: str | None = None, root_keys: str | None = None,
                 **overrides):
        self.backend, self.tmp, self.name = backend, tmp, name
        self.root_keys = root_keys or ring(v1=new_root_key())
        self.key = key or backup_key()
        self.checkpoints = tmp / f"{name}-checkpoints.log"
        self.journal = tmp / f"{name}-erasures.log"
        self.database = PrivateDatabase(backend, tmp, f"bk_{name}")
        settings = {"AUDIT_CHECKPOINT_FILE": str(self.checkpoints), "ERASURE_JOURNAL_FILE": str(self.journal),
                    "BACKUP_KEY": self.key, **overrides}
        self.app = self.database.app(self.root_keys, name, **settings)
        self.instance = tmp / f"instance-{name}"

    @property
    def url(self) -> str:
        return self.database.url

    def create_schema(self) -> None:
        self.database.create_schema(self.app)

    def cli(self, *args: str):
        return run_cli(self.app, list(args))

    def other_app(self, name: str, **overrides):
        """Another app on the same database, e.g. with another backup key."""
        settings = {"AUDIT_CHECKPOINT_FILE": str(self.checkpoints), "ERASURE_JOURNAL_FILE": str(self.journal),
                    "BACKUP_KEY": self.key, **overrides}
        return self.database.app(self.root_keys, name, **settings)

    def close(self) -> None:
        self.database.close()


def populate(site: Site, n_cases: int = 4, world=None) -> dict:
    """A world (unless given), cases and one document per case, through the real operations. Returns the ids and
    each document's bytes."""
    w = world or make_world(site.app)
    made: dict = {"world": w, "cases": [], "documents": {}}
    with request(site.app):
        caseworker = db.session.get(User, w.caseworker)
        for i in range(n_cases):
            case = factories.case(caseworker, given_name=f"Person {i}")
            data = tiny_png(rgb=(10 * i, 120, 200))
            document = documents.upload_document(caseworker, case, "identity_document", f"scan-{i}.png", data)
            db.session.commit()
            made["cases"].append(case.id)
            made["documents"][document.id] = (case.id, data)
    return made


def empty_target(backend: str, tmp: Path, name: str) -> str:
    if backend == "postgresql":
        return postgres_database(f"bk_{name}")
    return f"sqlite:///{tmp / f'{name}.db'}"


def untouched(url: str, instance: Path) -> bool:
    """Nothing was restored: no table in the target database, no document and no staging left in the instance."""
    state = target_state(url)
    leftovers = list(instance.glob(".restore-*")) if instance.exists() else []
    return not state.tables and not (instance / "documents").exists() and not leftovers


def case_ids(application) -> set[str]:
    with application.app_context():
        try:
            return set(db.session.scalars(select(Case.id)))
        finally:
            db.session.remove()


def archive_in(folder: Path) -> Path:
    found = sorted(folder.glob("*.backup"))
    assert len(found) == 1, found
    return found[0]
