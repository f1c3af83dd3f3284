"""fa1b2c3d4e5f replaced the blind-index columns of `persons` with person_match_keys, which a migration cannot fill
(it cannot decrypt): `casemgmt db upgrade` runs the index rebuild after the migrations, so the people already there
are found as soon as the upgrade has finished."""

from __future__ import annotations

from flask import current_app
from flask_migrate import downgrade
from sqlalchemy import func, select

from casemgmt.cases.models import Case, Person
from casemgmt.extensions import db
from casemgmt.matching.models import ACTIVE, IndexGeneration, PersonMatchKey
from casemgmt.migrating import ALLOW_DATA_LOSS
from tests.cli.support import run_cli


def _indexed() -> int:
    return db.session.scalar(select(func.count(func.distinct(PersonMatchKey.case_id)))) or 0


def test_db_upgrade_past_the_index_columns_rebuilds_the_indexes(demo_app):
    downgrade(revision="dae4f5b6c7e8", x_arg=[ALLOW_DATA_LOSS])  # the schema before issue 13, with the demo people
    db.session.remove()

    result = run_cli(current_app, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert "rebuilding the matching indexes" in result.output
    people = db.session.scalar(select(func.count()).select_from(Person).join(Case).where(Case.erased_at.is_(None)))
    assert people > 0 and _indexed() == people
    assert [(g.id, g.state) for g in db.session.scalars(select(IndexGeneration))] == [(1, ACTIVE)]
    db.session.remove()

    again = run_cli(current_app, ["db", "upgrade"])  # nothing to migrate, nothing to rebuild
    assert again.exit_code == 0 and "rebuilding" not in again.output
