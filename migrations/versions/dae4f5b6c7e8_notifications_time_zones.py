"""journey: notifications and organisation time zones

Revision ID: dae4f5b6c7e8
Revises: c9e3f4a5b6d7
Create Date: 2026-12-06 07:00:00.000000

Organisations get a time zone. Existing ones take their country's when the country has exactly one (Peru, Colombia,
Haiti), else UTC, which is how every time was shown until now; an administrator sets the others on the Organisations
page. Users get an e-mail address and an e-mail opt-in (off). Three new tables: the notices, the e-mail outbox and
the overdue sweep's marks (casemgmt/notifications).
"""
import logging
from zoneinfo import available_timezones

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'dae4f5b6c7e8'
down_revision = 'c9e3f4a5b6d7'
branch_labels = None
depends_on = None

# What downgrade() deletes ("table" or "table.column"): `casemgmt db downgrade` refuses to cross this revision
# while any of it holds data, unless given --allow-data-loss (casemgmt/migrating.py). Fill it in by hand.
downgrade_drops = [
    "notifications", "notification_mails", "notification_sweeps", "organisations.time_zone", "users.email",
    "users.notify_by_email",
]

log = logging.getLogger("alembic.runtime.migration")

OPEN = "read_at IS NULL AND done_at IS NULL"
WAITING = "status = 'waiting'"


def _zone_for_country(country):
    """A copy of casemgmt.core.zones.zone_for_country as it is today: a migration must not change with the code."""
    import pytz

    names = pytz.country_timezones.get((country or "").upper(), [])
    return names[0] if len(names) == 1 and names[0] in available_timezones() else None


def _derive_time_zones(conn) -> None:
    organisations = sa.table("organisations", sa.column("id"), sa.column("country"), sa.column("time_zone"))
    for org_id, country in conn.execute(sa.select(organisations.c.id, organisations.c.country)).all():
        zone = _zone_for_country(country)
        if zone is None:
            log.info("organisation %s keeps UTC: its country %s has several time zones; set one on the "
                     "Organisations page", org_id, country)
            continue
        conn.execute(organisations.update().where(organisations.c.id == org_id).values(time_zone=zone))


def upgrade():
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"))
    _derive_time_zones(op.get_bind())
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("notify_by_email", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_notifications_case_id_cases",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_notifications_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", "created_at"])
    op.create_index("ix_notifications_user_open", "notifications", ["user_id"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("ix_notifications_object_open", "notifications", ["object_type", "object_id"],
                    postgresql_where=sa.text("done_at IS NULL"), sqlite_where=sa.text("done_at IS NULL"))

    op.create_table(
        "notification_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("send_after", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_notification_mails_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_notification_mails"),
    )
    op.create_index("uq_notification_mails_user_waiting", "notification_mails", ["user_id"], unique=True,
                    postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING))
    op.create_index("ix_notification_mails_waiting", "notification_mails", ["send_after"],
                    postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING))
    op.create_index("ix_notification_mails_user_sent", "notification_mails", ["user_id", "sent_at"])

    op.create_table(
        "notification_sweeps",
        sa.Column("organisation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("swept_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name="fk_notification_sweeps_organisation_id_organisations", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_notification_sweeps"),
    )


def downgrade():
    op.drop_table("notification_sweeps")
    op.drop_index("ix_notification_mails_user_sent", table_name="notification_mails")
    op.drop_index("ix_notification_mails_waiting", table_name="notification_mails",
                  postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING))
    op.drop_index("uq_notification_mails_user_waiting", table_name="notification_mails",
                  postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING))
    op.drop_table("notification_mails")
    op.drop_index("ix_notifications_object_open", table_name="notifications",
                  postgresql_where=sa.text("done_at IS NULL"), sqlite_where=sa.text("done_at IS NULL"))
    op.drop_index("ix_notifications_user_open", table_name="notifications",
                  postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.drop_index("ix_notifications_user_created", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notify_by_email")
        batch.drop_column("email")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("time_zone")
