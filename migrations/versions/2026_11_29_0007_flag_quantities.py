"""asset_flags carry the asset's length_m, capacity_tph and in-service state (for /stats)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("length_m", sa.Numeric(precision=18, scale=4)))
        batch_op.add_column(sa.Column("capacity_tph", sa.Numeric(precision=18, scale=4)))
        batch_op.add_column(
            sa.Column("in_service", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE asset_flags SET "
        "length_m = (SELECT a.length_m FROM assets a WHERE a.id = asset_flags.asset_id), "
        "capacity_tph = (SELECT a.capacity_tph FROM assets a WHERE a.id = asset_flags.asset_id), "
        "in_service = (SELECT a.status = 'in_service' FROM assets a "
        "WHERE a.id = asset_flags.asset_id)"
    )
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.alter_column("in_service", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.drop_column("in_service")
        batch_op.drop_column("capacity_tph")
        batch_op.drop_column("length_m")
