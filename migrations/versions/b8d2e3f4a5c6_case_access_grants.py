"""journey: one mechanism for access to another organisation's case (grants)

Revision ID: b8d2e3f4a5c6
Revises: a7c1d2e3f4b5
Create Date: 2026-12-06 07:00:00.000000

Access to another organisation's case now comes from case_access_grants (casemgmt/access/grants.py), which the access
policies read instead of the referrals:

- Every accepted referral becomes a grant of level "referral": an organisation-wide row for the receiving
  organisation (its supervisors and mission staff) and, when a caseworker accepted it, a row for that caseworker,
  which is exactly who reached the case before. A referral made on the person's consent names the consent record it
  relied on: the newest consent to share (with the interview's) obtained by the day of the acceptance and not
  withdrawn by then. If that consent has been withdrawn since, the grant is created suspended from that moment, as
  withdrawing it now suspends a grant; the owning organisation resumes it under a newer consent from the referrals
  page. A referral on an override basis (a minor, imminent danger) relies on no consent record.
- referrals.kind tells a referral someone sent ("referral") from a return plan's hand-off ("return_handoff"); every
  existing row is a referral.
- A transfer now waits for the receiving organisation after the owning organisation approves it ("approved"), and is
  then "accepted" or "declined" (transfers.answered_by_id, answered_at, answer_note). An existing approved transfer has
  already moved the case: it becomes "accepted" (answered when it was approved). Only an approved transfer whose case
  is still with its sender, and which no later approved transfer of the case followed, is one waiting for the
  receiving organisation (the old schema never made one; a database downgraded and upgraded again has them), and
  gives its supervisors a grant of level "review".
- uq_transfers_open_per_case covers both waits ("requested", "approved"); ix_transfers_to_org_status serves the
  receiving organisation's inbox.

Downgrade: it drops what the upgrade added and changes no row it keeps (tests/migrations/test_roundtrip_data.py). The
transfers keep their statuses: the old application shows "accepted" and "declined" as they are and treats neither
as waiting; a transfer still waiting for the receiving organisation looks approved to it (its case has not moved,
and the old application moves a case only when it approves). Hand-offs become plain referrals, and the grants are
dropped: the old policies read accepted referrals.
"""
import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8d2e3f4a5c6'
down_revision = 'a7c1d2e3f4b5'
branch_labels = None
depends_on = None

# What downgrade() deletes ("table" or "table.column"): `casemgmt db downgrade` refuses to cross this revision
# while any of it holds data, unless given --allow-data-loss (casemgmt/migrating.py).
downgrade_drops = [
    "case_access_grants", "referrals.kind", "transfers.answered_by_id", "transfers.answered_at",
    "transfers.answer_note",
]

OPEN_BEFORE = "status = 'requested'"
OPEN_NOW = "status IN ('requested', 'approved')"
LIVE = "revoked_at IS NULL AND suspended_at IS NULL"


def _utcnow() -> datetime:
    # The application stores naive UTC (casemgmt.core.time.utcnow).
    return datetime.now(UTC).replace(tzinfo=None)


def _when(value) -> datetime | None:
    # SQLite hands DATETIME columns back as text through a plain text() query.
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _day(value) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def upgrade():
    op.create_table(
        'case_access_grants',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('reason_kind', sa.String(length=24), nullable=False),
        sa.Column('reason_id', sa.String(length=36), nullable=False),
        sa.Column('consent_id', sa.String(length=36), nullable=True),
        sa.Column('granted_at', sa.DateTime(), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('suspended_at', sa.DateTime(), nullable=True),
        sa.Column('suspended_why', sa.String(length=24), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_access_grants_case_id_cases'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['consent_id'], ['consent_records.id'],
                                name=op.f('fk_case_access_grants_consent_id_consent_records'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'],
                                name=op.f('fk_case_access_grants_granted_by_id_users')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_case_access_grants_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'],
                                name=op.f('fk_case_access_grants_revoked_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_access_grants_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_access_grants')),
    )
    op.create_index('ix_case_access_grants_case', 'case_access_grants', ['case_id'])
    op.create_index('ix_case_access_grants_org_live', 'case_access_grants', ['organisation_id', 'user_id', 'case_id'],
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    op.create_index('ix_case_access_grants_reason', 'case_access_grants', ['reason_kind', 'reason_id'])
    op.create_index('ix_case_access_grants_consent', 'case_access_grants', ['consent_id'])

    op.add_column('referrals', sa.Column('kind', sa.String(length=24), nullable=False, server_default='referral'))

    # SQLite cannot add a column with a foreign key in place: batch mode rebuilds the table. A rebuild would not
    # keep the partial index's condition, so it is dropped first and made again, with its new condition, after.
    op.drop_index('uq_transfers_open_per_case', table_name='transfers',
                  postgresql_where=sa.text(OPEN_BEFORE), sqlite_where=sa.text(OPEN_BEFORE))
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('answer_note', sa.LargeBinary(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_transfers_answered_by_id_users'), 'users', ['answered_by_id'], ['id'])
        batch_op.create_index('ix_transfers_to_org_status', ['to_organisation_id', 'status'], unique=False)
    _accept_moved_transfers(op.get_bind())
    op.create_index('uq_transfers_open_per_case', 'transfers', ['case_id'], unique=True,
                    postgresql_where=sa.text(OPEN_NOW), sqlite_where=sa.text(OPEN_NOW))

    _grants_from_referrals_and_transfers(op.get_bind())


def _accept_moved_transfers(conn) -> None:
    """An approved transfer of the old schema moved the case at once: the receiving organisation had it from then
    on, so it becomes "accepted". One whose case is still with its sender, and that no later approved or accepted
    transfer of the case followed, waits for the receiving organisation (see the docstring) and stays "approved"."""
    rows = conn.execute(sa.text(
        "SELECT t.id, t.case_id, t.from_organisation_id, t.decided_at, c.organisation_id FROM transfers t "
        "JOIN cases c ON c.id = t.case_id WHERE t.status IN ('approved', 'accepted') "
        "ORDER BY t.case_id, t.decided_at, t.id"
    )).all()
    latest: dict[str, str] = {}
    for transfer_id, case_id, *_rest in rows:
        latest[case_id] = transfer_id  # ordered by decision: the last one wins
    moved = [transfer_id for transfer_id, case_id, sender, _decided, owner in rows
             if owner != sender or latest[case_id] != transfer_id]
    if moved:
        conn.execute(
            sa.text("UPDATE transfers SET status = 'accepted', answered_at = decided_at "
                    "WHERE status = 'approved' AND id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": moved},
        )


def _consents(conn) -> dict[str, list[tuple]]:
    """Per case, its consents to share (with the interview's), newest first: (id, obtained_on, withdrawn_at)."""
    rows = conn.execute(sa.text(
        "SELECT id, case_id, obtained_on, withdrawn_at FROM consent_records "
        "WHERE consents_to_share = true AND point_interview = true "
        "ORDER BY case_id, obtained_on DESC, created_at DESC, id"
    )).all()
    found: dict[str, list[tuple]] = {}
    for consent_id, case_id, obtained_on, withdrawn_at in rows:
        found.setdefault(case_id, []).append((consent_id, _day(obtained_on), _when(withdrawn_at)))
    return found


def _relied_on(consents: list[tuple], at: datetime) -> tuple[str | None, datetime | None]:
    """The consent record the sharing relied on at `at`, and when it was withdrawn since (None if it stands)."""
    for consent_id, obtained_on, withdrawn_at in consents:
        if obtained_on is not None and obtained_on <= at.date() and (withdrawn_at is None or withdrawn_at > at):
            return consent_id, withdrawn_at
    return None, None


def _grants_from_referrals_and_transfers(conn) -> None:
    consents = _consents(conn)
    rows = []

    def add(case_id, organisation_id, user_id, level, reason_kind, reason_id, basis, at, by):
        consent_id, withdrawn_at = _relied_on(consents.get(case_id, []), at) if basis == "consent" else (None, None)
        rows.append({
            "id": str(uuid.uuid4()), "case_id": case_id, "organisation_id": organisation_id, "user_id": user_id,
            "level": level, "reason_kind": reason_kind, "reason_id": reason_id, "consent_id": consent_id,
            "granted_at": at, "granted_by_id": by, "expires_at": None, "suspended_at": withdrawn_at,
            "suspended_why": "consent_withdrawn" if withdrawn_at is not None else None,
            "revoked_at": None, "revoked_by_id": None,
        })

    referrals = conn.execute(sa.text(
        "SELECT r.id, r.case_id, r.to_organisation_id, r.kind, r.consent_basis, r.responded_by_id, r.responded_at, "
        "r.created_at, u.role, u.organisation_id FROM referrals r LEFT JOIN users u ON u.id = r.responded_by_id "
        "WHERE r.status = 'accepted' ORDER BY r.created_at, r.id"
    )).all()
    for rid, case_id, to_org, kind, basis, responder, responded_at, created_at, role, responder_org in referrals:
        at = _when(responded_at) or _when(created_at) or _utcnow()
        # The organisation-wide row reaches supervisors and mission staff, as the accepted referral did; a
        # caseworker reached the case only if they had accepted it themselves.
        add(case_id, to_org, None, "referral", kind, rid, basis, at, responder)
        if role == "caseworker" and responder_org == to_org:
            add(case_id, to_org, responder, "referral", kind, rid, basis, at, responder)

    waiting = conn.execute(sa.text(
        "SELECT id, case_id, to_organisation_id, consent_basis, decided_at, decided_by_id FROM transfers "
        "WHERE status = 'approved' ORDER BY decided_at, id"
    )).all()
    for tid, case_id, to_org, basis, decided_at, decided_by in waiting:
        add(case_id, to_org, None, "review", "transfer_pending", tid, basis, _when(decided_at) or _utcnow(),
            decided_by)

    if rows:
        grants = sa.table('case_access_grants', *(sa.column(name) for name in rows[0]))
        conn.execute(grants.insert(), rows)


def downgrade():
    op.drop_index('uq_transfers_open_per_case', table_name='transfers',
                  postgresql_where=sa.text(OPEN_NOW), sqlite_where=sa.text(OPEN_NOW))
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_transfers_to_org_status')
        batch_op.drop_constraint(op.f('fk_transfers_answered_by_id_users'), type_='foreignkey')
        batch_op.drop_column('answer_note')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('answered_by_id')
    op.create_index('uq_transfers_open_per_case', 'transfers', ['case_id'], unique=True,
                    postgresql_where=sa.text(OPEN_BEFORE), sqlite_where=sa.text(OPEN_BEFORE))

    op.drop_column('referrals', 'kind')

    op.drop_index('ix_case_access_grants_consent', table_name='case_access_grants')
    op.drop_index('ix_case_access_grants_reason', table_name='case_access_grants')
    op.drop_index('ix_case_access_grants_org_live', table_name='case_access_grants',
                  postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    op.drop_index('ix_case_access_grants_case', table_name='case_access_grants')
    op.drop_table('case_access_grants')
