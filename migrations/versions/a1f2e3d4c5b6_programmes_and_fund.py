"""Projects, donors, budgets, enrolments, attributions, exchange rates and the emergency assistance fund (issue 14).

Revision ID: a1f2e3d4c5b6
Revises: fa1b2c3d4e5f
Create Date: 2026-12-06 12:45:20.037354

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1f2e3d4c5b6'
down_revision = 'fa1b2c3d4e5f'
branch_labels = None
depends_on = None

# What downgrade() deletes ("table" or "table.column"): `casemgmt db downgrade` refuses to cross this revision
# while any of it holds data, unless given --allow-data-loss (casemgmt/migrating.py).
downgrade_drops = ["fund_refunds", "fund_disbursements", "fund_approvals", "fund_requests", "project_attributions",
                   "project_enrolments", "budget_lines", "project_countries", "project_organisations", "projects",
                   "donors", "exchange_rates"]


def upgrade():
    op.create_table('donors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_donors_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donors'))
    )
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.create_index('ix_donors_org_name', ['organisation_id', 'name'], unique=True)

    op.create_table('exchange_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('quote_currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=20, scale=10), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('rate > 0', name=op.f('ck_exchange_rates_rate_positive')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_exchange_rates_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_exchange_rates_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rates'))
    )
    with op.batch_alter_table('exchange_rates', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_rates_pair_month', ['organisation_id', 'currency', 'quote_currency', 'month'], unique=True)

    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('eligibility', sa.Text(), nullable=True),
    sa.Column('single_approval_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_projects_project_period')),
    sa.CheckConstraint('single_approval_limit >= 0', name=op.f('ck_projects_approval_limit_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_projects_created_by_id_users')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_projects_donor_id_donors')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_projects_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index('ix_projects_org_code', ['organisation_id', 'code'], unique=True)

    op.create_table('budget_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_budget_lines_budget_line_not_negative')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_budget_lines_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_lines'))
    )
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.create_index('ix_budget_lines_project', ['project_id', 'position'], unique=False)
        batch_op.create_index('ix_budget_lines_project_category', ['project_id', 'category'], unique=True, postgresql_where=sa.text('category IS NOT NULL'), sqlite_where=sa.text('category IS NOT NULL'))

    op.create_table('project_attributions',
    sa.Column('record_kind', sa.String(length=24), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('attributed_by_id', sa.Integer(), nullable=True),
    sa.Column('attributed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attributed_by_id'], ['users.id'], name=op.f('fk_project_attributions_attributed_by_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_project_attributions_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_project_attributions_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_attributions_project_id_projects')),
    sa.PrimaryKeyConstraint('record_kind', 'record_id', name=op.f('pk_project_attributions'))
    )
    with op.batch_alter_table('project_attributions', schema=None) as batch_op:
        batch_op.create_index('ix_project_attributions_case', ['case_id'], unique=False)
        batch_op.create_index('ix_project_attributions_project', ['project_id', 'record_kind', 'record_id'], unique=False)

    op.create_table('project_countries',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_countries_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'country', name=op.f('pk_project_countries'))
    )
    op.create_table('project_enrolments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('enrolled_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('ended_on IS NULL OR ended_on >= enrolled_on', name=op.f('ck_project_enrolments_enrolment_period')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_project_enrolments_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrolled_by_id'], ['users.id'], name=op.f('fk_project_enrolments_enrolled_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_project_enrolments_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_enrolments_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_enrolments'))
    )
    with op.batch_alter_table('project_enrolments', schema=None) as batch_op:
        batch_op.create_index('ix_project_enrolments_case', ['case_id', 'enrolled_on'], unique=False)
        batch_op.create_index('ix_project_enrolments_open', ['case_id', 'project_id'], unique=True, postgresql_where=sa.text('ended_on IS NULL'), sqlite_where=sa.text('ended_on IS NULL'))
        batch_op.create_index('ix_project_enrolments_project_org', ['project_id', 'organisation_id', 'enrolled_on', 'case_id'], unique=False)

    op.create_table('project_organisations',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_project_organisations_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_organisations_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'organisation_id', name=op.f('pk_project_organisations'))
    )
    with op.batch_alter_table('project_organisations', schema=None) as batch_op:
        batch_op.create_index('ix_project_organisations_org', ['organisation_id', 'project_id'], unique=False)

    op.create_table('fund_requests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('budget_line_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('project_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('rate', sa.Numeric(precision=20, scale=10), nullable=True),
    sa.Column('rate_month', sa.Date(), nullable=True),
    sa.Column('payee_kind', sa.String(length=16), nullable=False),
    sa.Column('payee_name', sa.LargeBinary(), nullable=True),
    sa.Column('justification', sa.LargeBinary(), nullable=True),
    sa.Column('needed_by', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('approvals_needed', sa.Integer(), nullable=False),
    sa.Column('remaining_when_refused', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.LargeBinary(), nullable=True),
    sa.Column('refunded_amount', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False),
    sa.Column('refunded_project_amount', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_fund_requests_fund_amount_positive')),
    sa.CheckConstraint('approvals_needed IN (1, 2)', name=op.f('ck_fund_requests_fund_approvals_needed')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_fund_requests_fund_refund_within_amount')),
    sa.ForeignKeyConstraint(['budget_line_id'], ['budget_lines.id'], name=op.f('fk_fund_requests_budget_line_id_budget_lines')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_fund_requests_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_fund_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_fund_requests_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_fund_requests_project_id_projects')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_fund_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_requests'))
    )
    with op.batch_alter_table('fund_requests', schema=None) as batch_op:
        batch_op.create_index('ix_fund_requests_case', ['case_id', 'requested_at'], unique=False)
        batch_op.create_index('ix_fund_requests_line_status', ['budget_line_id', 'status', 'project_amount', 'refunded_project_amount'], unique=False)
        batch_op.create_index('ix_fund_requests_org_status', ['organisation_id', 'status', 'requested_at'], unique=False)
        batch_op.create_index('ix_fund_requests_org_requested', ['organisation_id', 'requested_at', 'id'], unique=False)
        batch_op.create_index('ix_fund_requests_project_org', ['project_id', 'organisation_id', 'requested_at'], unique=False)

    op.create_table('fund_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('approver_role', sa.String(length=32), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['users.id'], name=op.f('fk_fund_approvals_approver_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['fund_requests.id'], name=op.f('fk_fund_approvals_request_id_fund_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_approvals'))
    )
    with op.batch_alter_table('fund_approvals', schema=None) as batch_op:
        batch_op.create_index('ix_fund_approvals_request_approver', ['request_id', 'approver_id'], unique=True)

    op.create_table('fund_disbursements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.LargeBinary(), nullable=True),
    sa.Column('receipt_document_id', sa.String(length=36), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_fund_disbursements_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['receipt_document_id'], ['documents.id'], name=op.f('fk_fund_disbursements_receipt_document_id_documents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_fund_disbursements_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['fund_requests.id'], name=op.f('fk_fund_disbursements_request_id_fund_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_disbursements'))
    )
    with op.batch_alter_table('fund_disbursements', schema=None) as batch_op:
        batch_op.create_index('ix_fund_disbursements_paid_on', ['paid_on'], unique=False)
        batch_op.create_index('ix_fund_disbursements_request', ['request_id'], unique=True)

    op.create_table('fund_refunds',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('project_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('refunded_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.LargeBinary(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_fund_refunds_refund_amount_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_fund_refunds_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_fund_refunds_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['fund_requests.id'], name=op.f('fk_fund_refunds_request_id_fund_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_refunds'))
    )
    with op.batch_alter_table('fund_refunds', schema=None) as batch_op:
        batch_op.create_index('ix_fund_refunds_request', ['request_id'], unique=False)



def downgrade():
    with op.batch_alter_table('fund_refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_fund_refunds_request')

    op.drop_table('fund_refunds')
    with op.batch_alter_table('fund_disbursements', schema=None) as batch_op:
        batch_op.drop_index('ix_fund_disbursements_request')
        batch_op.drop_index('ix_fund_disbursements_paid_on')

    op.drop_table('fund_disbursements')
    with op.batch_alter_table('fund_approvals', schema=None) as batch_op:
        batch_op.drop_index('ix_fund_approvals_request_approver')

    op.drop_table('fund_approvals')
    with op.batch_alter_table('fund_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_fund_requests_project_org')
        batch_op.drop_index('ix_fund_requests_org_requested')
        batch_op.drop_index('ix_fund_requests_org_status')
        batch_op.drop_index('ix_fund_requests_line_status')
        batch_op.drop_index('ix_fund_requests_case')

    op.drop_table('fund_requests')
    with op.batch_alter_table('project_organisations', schema=None) as batch_op:
        batch_op.drop_index('ix_project_organisations_org')

    op.drop_table('project_organisations')
    with op.batch_alter_table('project_enrolments', schema=None) as batch_op:
        batch_op.drop_index('ix_project_enrolments_project_org')
        batch_op.drop_index('ix_project_enrolments_open', postgresql_where=sa.text('ended_on IS NULL'), sqlite_where=sa.text('ended_on IS NULL'))
        batch_op.drop_index('ix_project_enrolments_case')

    op.drop_table('project_enrolments')
    op.drop_table('project_countries')
    with op.batch_alter_table('project_attributions', schema=None) as batch_op:
        batch_op.drop_index('ix_project_attributions_project')
        batch_op.drop_index('ix_project_attributions_case')

    op.drop_table('project_attributions')
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_budget_lines_project_category', postgresql_where=sa.text('category IS NOT NULL'), sqlite_where=sa.text('category IS NOT NULL'))
        batch_op.drop_index('ix_budget_lines_project')

    op.drop_table('budget_lines')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index('ix_projects_org_code')

    op.drop_table('projects')
    with op.batch_alter_table('exchange_rates', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_rates_pair_month')

    op.drop_table('exchange_rates')
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.drop_index('ix_donors_org_name')

    op.drop_table('donors')
