"""matching: blind indexes as rows, by generation (issue 13)

Revision ID: fa1b2c3d4e5f
Revises: dae4f5b6c7e8
Create Date: 2026-12-06 10:00:00.000000

The five blind-index columns of `persons` (exact name, name with year, date of birth, document, phone) give way to
`person_match_keys`: one row per key (a phonetic code per name part, with and without the year of birth, the date,
the phone in E.164, the document), per index generation (`match_index_generations`), so that search and the
duplicate check tolerate accents, spelling, order and format, and so that the indexes can be rebuilt under a new key
or size while the application runs. `match_cross_checks` queues the look into other organisations' cases
(casemgmt/matching/crossorg.py).

A migration cannot decrypt, so it cannot compute the new keys: `casemgmt db upgrade` runs `casemgmt indexes rebuild`
after the migrations (casemgmt/matching/rebuild.py), and until it has finished search finds only the people written
since. The old columns are dropped here; a downgrade adds them back empty, which is data loss only of what the old
version could search (listed in downgrade_drops).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'fa1b2c3d4e5f'
down_revision = 'dae4f5b6c7e8'
branch_labels = None
depends_on = None

# What downgrade() deletes ("table" or "table.column"): `casemgmt db downgrade` refuses to cross this revision
# while any of it holds data, unless given --allow-data-loss (casemgmt/migrating.py). Fill it in by hand.
downgrade_drops = ["person_match_keys", "match_index_generations", "match_cross_checks"]

OLD_COLUMNS = ("name_bidx", "name_year_bidx", "dob_bidx", "document_bidx", "phone_bidx")


def upgrade():
    op.create_table(
        "match_index_generations",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("bits", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.String(length=36), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_index_generations")),
    )
    op.create_table(
        "person_match_keys",
        sa.Column("generation", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_person_match_keys_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("generation", "kind", "value", "case_id", name=op.f("pk_person_match_keys")),
    )
    op.create_table(
        "match_cross_checks",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_match_cross_checks_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_match_cross_checks")),
    )
    op.create_index("ix_person_match_keys_case", "person_match_keys", ["case_id", "generation"], unique=False)
    with op.batch_alter_table("persons") as batch:
        for column in OLD_COLUMNS:
            batch.drop_index(f"ix_persons_{column}")
            batch.drop_column(column)


def downgrade():
    with op.batch_alter_table("persons") as batch:
        for column in OLD_COLUMNS:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch.create_index(f"ix_persons_{column}", [column], unique=False)
    op.drop_index("ix_person_match_keys_case", table_name="person_match_keys")
    op.drop_table("person_match_keys")
    op.drop_table("match_cross_checks")
    op.drop_table("match_index_generations")
