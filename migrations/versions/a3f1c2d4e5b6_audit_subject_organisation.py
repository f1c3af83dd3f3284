"""audit events: the organisation an event is about (denials on its cases, changes to its accounts)

Revision ID: a3f1c2d4e5b6
Revises: 9360dd4436d1
Create Date: 2026-12-06 01:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3f1c2d4e5b6'
down_revision = '9360dd4436d1'
branch_labels = None
depends_on = None

# What downgrade() deletes (casemgmt/migrating.py).
downgrade_drops = ['audit_events.subject_organisation_id']


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_organisation_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_audit_events_subject_org_seq', ['subject_organisation_id', 'seq'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject_org_seq')
        batch_op.drop_column('subject_organisation_id')
