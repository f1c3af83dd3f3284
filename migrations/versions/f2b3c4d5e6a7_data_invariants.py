"""reliability: the database enforces the data's invariants (partial unique indexes, constraints)

Revision ID: f2b3c4d5e6a7
Revises: e1a2b3c4d5f6
Create Date: 2026-12-06 04:00:00.000000

Four partial unique indexes (docs/invariants.md). An installation may already hold rows that break them: two
requests that raced before this revision both got through. Before creating each index the upgrade looks for them:

- enrolment links: only the newest open link of an account was ever meant to work (each new link supersedes the
  older ones), so the older open links are marked superseded. That only makes unused links stop working; the ids
  are logged, and the person asks for a new link if they held an older one.
- return plans, closure requests, account requests: which of two is the real one is a person's decision, not the
  database's. The upgrade refuses, changes nothing, and names the rows, so an operator settles them in the
  application (cancel a plan, decide a request) and runs the upgrade again.
"""
import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f2b3c4d5e6a7'
down_revision = 'e1a2b3c4d5f6'
branch_labels = None
depends_on = None

# Read by the downgrade guard: this revision's downgrade drops indexes only, never a table or a column with data.
downgrade_drops = []

log = logging.getLogger("alembic.runtime.migration")

# name, table, key column, the rows the index covers, the id and order columns, and what the operator should do.
REFUSED = [
    ("uq_return_plans_case_active", "return_plans", "case_id", "status <> 'cancelled'", "id", "created_at",
     "case {key} has {n} return plans that are not cancelled ({ids}): cancel all but one on the case's return page"),
    ("uq_closure_requests_case_pending", "closure_requests", "case_id", "status = 'requested'", "id",
     "requested_at",
     "case {key} has {n} closure requests waiting for a supervisor ({ids}): decide all but one"),
    ("uq_account_requests_user_pending", "account_requests", "user_id", "status = 'requested'", "id", "id",
     "user {key} has {n} account requests waiting for a supervisor ({ids}): approve or refuse all but one"),
]
LINKS = ("uq_enrolment_links_user_open", "enrolment_links", "user_id", "used_at IS NULL AND superseded_at IS NULL")


def _duplicates(conn, table: str, key: str, where: str, id_column: str, order: str) -> dict:
    """{key: [ids, oldest first]} for the keys with more than one row that the partial index covers."""
    # Every name here is one of this module's constants, never input.
    rows = conn.execute(sa.text(
        f"SELECT {key}, {id_column} FROM {table} WHERE {where} AND {key} IN "  # noqa: S608
        f"(SELECT {key} FROM {table} WHERE {where} GROUP BY {key} HAVING count(*) > 1) "
        f"ORDER BY {key}, {order}, {id_column}"
    )).all()
    found: dict = {}
    for key_value, row_id in rows:
        found.setdefault(key_value, []).append(row_id)
    return found


def _refuse_violations(conn) -> None:
    problems = []
    for _name, table, key, where, id_column, order, advice in REFUSED:
        for key_value, ids in _duplicates(conn, table, key, where, id_column, order).items():
            problems.append(advice.format(key=key_value, n=len(ids), ids=", ".join(map(str, ids))))
    if problems:
        raise RuntimeError(
            "f2b3c4d5e6a7 (data invariants) cannot be applied: rows made by requests that raced each other break "
            "the rules the new unique indexes enforce. Nothing was changed. Settle these, then run the upgrade "
            "again:\n- " + "\n- ".join(problems)
        )


def _supersede_older_links(conn) -> None:
    _name, table, key, where = LINKS
    for user_id, ids in _duplicates(conn, table, key, where, "id", "id").items():
        older = ids[:-1]
        conn.execute(
            sa.text("UPDATE enrolment_links SET superseded_at = :now WHERE id IN :ids")
            .bindparams(sa.bindparam("ids", expanding=True)),
            {"now": _utcnow(), "ids": older},
        )
        log.warning("user %s had %d open enrolment links; superseded the older ones (ids %s), kept id %s",
                    user_id, len(ids), ", ".join(map(str, older)), ids[-1])


def _utcnow() -> datetime:
    # The application stores naive UTC (casemgmt.core.time.utcnow).
    return datetime.now(UTC).replace(tzinfo=None)


def _create(name: str, table: str, key: str, where: str) -> None:
    op.create_index(name, table, [key], unique=True,
                    postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade():
    conn = op.get_bind()
    _refuse_violations(conn)
    _supersede_older_links(conn)
    for name, table, key, where, *_rest in REFUSED:
        _create(name, table, key, where)
    _create(*LINKS)


def downgrade():
    for name, table, _key, where, *_rest in [*REFUSED, LINKS]:
        op.drop_index(name, table_name=table, postgresql_where=sa.text(where), sqlite_where=sa.text(where))
