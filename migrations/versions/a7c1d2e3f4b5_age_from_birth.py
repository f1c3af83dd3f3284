"""journey: age and childhood derived from the date of birth or an estimate

Revision ID: a7c1d2e3f4b5
Revises: f2b3c4d5e6a7
Create Date: 2026-12-06 07:00:00.000000

Childhood now comes from the age (casemgmt/cases/age.py), not from a ticked box:

- cases.unaccompanied_minor becomes cases.unaccompanied_or_separated, the recorded fact it always described. Every
  ticked box stays ticked.
- persons gets age_basis (a code) and the encrypted alternatives to a date of birth: an estimated age and the day it
  was estimated on, a year of birth. A person with a date of birth gets the basis "exact". A person whose box was
  ticked, with no date of birth and no child's age band (0-8, 9-17), would stop counting as a child: their basis
  becomes "child_unknown" (recorded as a child, age unknown), which counts as a child until someone records the age;
  the case page asks for it. The upgrade cannot decrypt anything and needs not: it reads which ciphertexts exist.
- facilities.accepts_minors becomes facilities.age_group: True -> "both" (adults and children), False -> "adults".
- return_plans and consent_records get a guardian's name and relationship (encrypted): a child travels with an
  escort or a parent or legal guardian, and a child's consent is given with a guardian's.

The columns are added and renamed in place (ALTER TABLE ... ADD/RENAME/DROP COLUMN on both backends, SQLite 3.35 or
newer): no table is rebuilt, so the cases table keeps its partial indexes as they are.

The downgrade cannot say "children only" (accepts_minors is a yes or no) nor "a child, age unknown" without the box:
it refuses while a facility takes only children or such a person exists, unless -x allow-data-loss is given; then a
children-only facility becomes one that accepts minors and such a person's box is ticked (the old schema's only way to
keep them a child).
"""
import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision = 'a7c1d2e3f4b5'
down_revision = 'f2b3c4d5e6a7'
branch_labels = None
depends_on = None

# What downgrade() deletes ("table" or "table.column"): `casemgmt db downgrade` refuses to cross this revision
# while any of it holds data, unless given --allow-data-loss (casemgmt/migrating.py). Fill it in by hand.
downgrade_drops = [
    "persons.estimated_age", "persons.age_estimated_on", "persons.birth_year",
    "return_plans.guardian_name", "return_plans.guardian_relationship",
    "consent_records.guardian_name", "consent_records.guardian_relationship",
]
# Computed again by upgrade(): the basis from which ciphertexts exist (an estimate's or a year's basis goes with the
# estimate, dropped above); the age group from accepts_minors ("children only" is refused by downgrade() itself).
downgrade_rederives = {"persons.age_basis": "persons.estimated_age", "facilities.age_group": "facilities"}

ALLOW_DATA_LOSS = "allow-data-loss"  # casemgmt.migrating.ALLOW_DATA_LOSS; a revision does not import the app


def upgrade():
    op.execute("ALTER TABLE cases RENAME COLUMN unaccompanied_minor TO unaccompanied_or_separated")

    op.add_column('persons', sa.Column('age_basis', sa.String(length=16), nullable=True))
    for name in ('estimated_age', 'age_estimated_on', 'birth_year'):
        op.add_column('persons', sa.Column(name, sa.LargeBinary(), nullable=True))
    op.execute("UPDATE persons SET age_basis = 'exact' WHERE date_of_birth IS NOT NULL")
    op.execute(
        "UPDATE persons SET age_basis = 'child_unknown' WHERE date_of_birth IS NULL "
        "AND (age_band IS NULL OR age_band NOT IN ('0-8', '9-17')) "
        "AND case_id IN (SELECT id FROM cases WHERE unaccompanied_or_separated = true)"
    )

    # A facility that was never asked takes adults only: the safe default for a child.
    op.add_column('facilities', sa.Column('age_group', sa.String(length=8), nullable=False,
                                          server_default='adults'))
    op.execute("UPDATE facilities SET age_group = CASE WHEN accepts_minors THEN 'both' ELSE 'adults' END")
    op.drop_column('facilities', 'accepts_minors')

    for table in ('return_plans', 'consent_records'):
        op.add_column(table, sa.Column('guardian_name', sa.LargeBinary(), nullable=True))
        op.add_column(table, sa.Column('guardian_relationship', sa.LargeBinary(), nullable=True))


def _refuse_what_the_old_schema_cannot_say(conn) -> None:
    if ALLOW_DATA_LOSS in context.get_x_argument(as_dictionary=True):
        return
    facilities = conn.execute(sa.text("SELECT id FROM facilities WHERE age_group = 'children' ORDER BY id")).scalars()
    children = conn.execute(sa.text(
        "SELECT p.case_id FROM persons p JOIN cases c ON c.id = p.case_id WHERE p.age_basis = 'child_unknown' "
        "AND c.unaccompanied_or_separated = false ORDER BY p.case_id")).scalars()
    problems = [f"facility {i} takes children only (the old schema would let it take adults)" for i in facilities]
    problems += [f"case {i} is recorded as a child, age unknown, without the box that would keep it a child"
                 for i in children]
    if problems:
        raise RuntimeError(
            "a7c1d2e3f4b5 (age from birth) cannot be downgraded without losing what the older schema cannot say. "
            "Nothing was changed. Restore the backup taken before the upgrade, or downgrade with --allow-data-loss "
            "(children-only facilities then accept minors and adults; these cases get the box ticked):\n- "
            + "\n- ".join(problems)
        )


def downgrade():
    conn = op.get_bind()
    _refuse_what_the_old_schema_cannot_say(conn)
    for table in ('return_plans', 'consent_records'):
        op.drop_column(table, 'guardian_relationship')
        op.drop_column(table, 'guardian_name')

    op.add_column('facilities', sa.Column('accepts_minors', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.execute("UPDATE facilities SET accepts_minors = (age_group IN ('children', 'both'))")
    op.drop_column('facilities', 'age_group')

    op.execute(
        "UPDATE cases SET unaccompanied_or_separated = true WHERE unaccompanied_or_separated = false "
        "AND id IN (SELECT case_id FROM persons WHERE age_basis = 'child_unknown')"
    )
    for name in ('birth_year', 'age_estimated_on', 'estimated_age', 'age_basis'):
        op.drop_column('persons', name)
    op.execute("ALTER TABLE cases RENAME COLUMN unaccompanied_or_separated TO unaccompanied_minor")
