"""coverage ledger

Revision ID: 0003_coverage
Revises: 0002_demand_and_supply
"""
from alembic import op
import sqlalchemy as sa

import cogrow.core.types  # noqa: F401  (column types used by autogenerate)

revision = "0003_coverage"
down_revision = "0002_demand_and_supply"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('periodic_run',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('period_start', cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', cogrow.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('items', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('job', 'period_start', name=op.f('pk_periodic_run'))
    )
    op.create_table('coverage_ledger',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('relationship_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', cogrow.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('current_week', sa.Date(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('material_share', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('open_po', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('firm_forecast', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('firm_uncovered', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('fab_authorized', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('raw_authorized', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('cum_start_date', sa.Date(), nullable=True),
    sa.Column('cum_shipped', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('guaranteed', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('fg_on_hand', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('wip', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('produced_since_report', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('position_as_of', cogrow.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('supply', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('excess', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('material_forecast', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('material_cover', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('exposure_krw', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('projected_excess_qty', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('projected_excess_week', sa.Date(), nullable=True),
    sa.Column('shortage_qty', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('shortage_week', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_coverage_ledger_item_id_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['relationship_id'], ['supply_relationship.id'], name=op.f('fk_coverage_ledger_relationship_id_supply_relationship'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_coverage_ledger'))
    )
    with op.batch_alter_table('coverage_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_ledger_rel_exposure', ['relationship_id', 'exposure_krw'], unique=False)

    op.create_table('coverage_week',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('relationship_id', sa.Integer(), nullable=False),
    sa.Column('po_due', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('firm_forecast', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('material_forecast', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('planned_output', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('guaranteed_due', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('cum_planned', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('cum_due', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('projected', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('shortage', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('in_firm_fence', sa.Boolean(), nullable=False),
    sa.Column('in_lead_time', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_coverage_week_item_id_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['relationship_id'], ['supply_relationship.id'], name=op.f('fk_coverage_week_relationship_id_supply_relationship'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'week_start', name=op.f('pk_coverage_week'))
    )


def downgrade():
    op.drop_table('coverage_week')
    with op.batch_alter_table('coverage_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_ledger_rel_exposure')
    op.drop_table('coverage_ledger')
    op.drop_table('periodic_run')
