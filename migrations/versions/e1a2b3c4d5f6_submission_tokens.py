"""reliability: single-use submission tokens for creating forms

Revision ID: e1a2b3c4d5f6
Revises: d5e8a1b2c3f4
Create Date: 2026-12-06 04:00:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'e1a2b3c4d5f6'
down_revision = 'd5e8a1b2c3f4'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
