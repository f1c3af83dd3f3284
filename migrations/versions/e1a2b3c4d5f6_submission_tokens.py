"""reliability: single-use submission tokens for creating forms

Revision ID: e1a2b3c4d5f6
Revises: d5e8a1b2c3f4
Create Date: 2026-12-06 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1a2b3c4d5f6'
down_revision = 'd5e8a1b2c3f4'
branch_labels = None
depends_on = None

# What downgrade() deletes (casemgmt/migrating.py): the used tokens, whose loss only lets a replay of a form sent in
# the last two days create its record a second time.
downgrade_drops = ["submission_tokens"]


def upgrade():
    op.create_table('submission_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.Column('result_url', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_submission_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_submission_tokens_token_hash'))
    )
    with op.batch_alter_table('submission_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_tokens_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('submission_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_tokens_user_id'))
    op.drop_table('submission_tokens')
